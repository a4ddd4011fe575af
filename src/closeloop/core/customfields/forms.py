"""Form fields for custom fields: the settings page's definition form, and a record form's custom fields.

A record form's custom fields are named `custom.<key>` (the key their errors come back under) and parse text
only: the record's service cleans them with `registry.clean_custom`, with every other field, in one round.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import Channel, CustomField, Role, User
from ..models import CustomFieldType as T
from . import registry, types

NUMBER_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}
WIDGETS = {
    T.LONG_TEXT: lambda: forms.Textarea(attrs={"rows": 3}),
    T.INTEGER: lambda: forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    T.DECIMAL: lambda: forms.TextInput(attrs=NUMBER_ATTRS),
    T.MONEY: lambda: forms.TextInput(attrs=NUMBER_ATTRS),
    T.DATE: lambda: forms.DateInput(attrs={"type": "date"}),
    T.DATETIME: lambda: forms.DateTimeInput(attrs={"type": "datetime-local"}),
    T.PHONE: lambda: forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    T.EMAIL: lambda: forms.TextInput(attrs={"type": "email", "inputmode": "email", "autocapitalize": "off"}),
    T.URL: lambda: forms.TextInput(attrs={"type": "url", "inputmode": "url", "autocapitalize": "off"}),
}


def record_formfield(field: CustomField) -> forms.Field:
    """The form field a person fills for `field`: text parsed by the service, or a choice among its options."""
    label = field.label
    if field.type == T.MULTI_CHOICE:
        formfield = forms.MultipleChoiceField(label=label, required=False, choices=[(o, o) for o in field.options],
                                              widget=forms.CheckboxSelectMultiple)
    elif field.type == T.CHOICE:
        formfield = forms.CharField(label=label, required=False, widget=forms.Select(
            choices=[("", "—"), *[(o, o) for o in field.options]]))
    elif field.type == T.BOOLEAN:
        formfield = forms.CharField(label=label, required=False, widget=forms.Select(
            choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))]))
    elif field.type == T.USER:
        people = User.objects.filter(is_active=True).order_by("username")
        formfield = forms.CharField(label=label, required=False, widget=forms.Select(
            choices=[("", "—"), *[(str(person.pk), str(person)) for person in people]]))
    else:
        widget = WIDGETS.get(field.type, forms.TextInput)()
        if field.type == T.TEXT:
            widget.attrs["maxlength"] = types.TEXT_LIMIT
        formfield = forms.CharField(label=label, required=False, widget=widget)
    formfield.help_text = field.help_text
    formfield.custom_field = field
    return formfield


def add_record_fields(form, fields: list[CustomField], *, values: dict | None = None, creating: bool = False,
                      required_channel: str | None = None) -> list[str]:
    """Add `fields` to a record's form, after its own, with the record's stored `values` (a new record: the
    fields' defaults) as initial; those required on `required_channel` are marked (the service checks them).
    Returns the names added."""
    values = values or {}
    names = []
    for field in fields:
        name = registry.error_key(field)
        formfield = record_formfield(field)
        if not form.is_bound and field.key in values:
            form.initial[name] = types.form_initial(field, values[field.key])
        elif not form.is_bound and creating and field.default is not None:
            form.initial[name] = types.form_initial(field, field.default)
        if required_channel and required_channel in field.required_channels:
            formfield.marked_required = True
            formfield.widget.attrs["required"] = True
        form.fields[name] = formfield
        names.append(name)
    return names


def submitted(data, fields: list[CustomField]) -> dict:
    """The values a form posted for `fields`, by key, as text (a list for multiple choice)."""
    result = {}
    for field in fields:
        name = registry.error_key(field)
        if field.type == T.MULTI_CHOICE:
            result[field.key] = data.getlist(name)
        elif name in data:
            result[field.key] = data.get(name, "")
    return result


def sections(form, names: list[str]) -> list[tuple[str, list]]:
    """The bound custom fields of a form by section, for the template."""
    grouped: dict[str, list] = {}
    for name in names:
        grouped.setdefault(form.fields[name].custom_field.section, []).append(form[name])
    return list(grouped.items())


class CustomFieldForm(forms.Form):
    """A field's definition as an administrator edits it; the services check and save it."""

    target = forms.ChoiceField(label=_("record type"))
    key = forms.CharField(label=_("key"), max_length=40, help_text=CustomField._meta.get_field("key").help_text,
                          widget=forms.TextInput(attrs={"autocapitalize": "off", "spellcheck": "false",
                                                        "pattern": "[a-z][a-z0-9_]*"}))
    label_zh = forms.CharField(label=_("label (Chinese)"), max_length=60)
    label_en = forms.CharField(label=_("label (English)"), max_length=60, required=False)
    type = forms.ChoiceField(label=_("type"), choices=T.choices, help_text=_(
        "Changing the type converts the stored values; if one cannot be converted nothing changes and you are told "
        "which."))
    options = forms.CharField(label=_("options"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("For single and multiple choice: one option per line, in order."))
    default = forms.CharField(label=_("default"), max_length=200, required=False,
                              help_text=_("Given to a new record that has no value (for yes/no: yes or no)."))
    help_text = forms.CharField(label=_("help text"), max_length=200, required=False)
    section = forms.CharField(label=_("section"), max_length=60, required=False,
                              help_text=CustomField._meta.get_field("section").help_text)
    position = forms.IntegerField(label=_("order"), min_value=0, max_value=32767, initial=0, required=False)
    required_channels = forms.MultipleChoiceField(label=_("required on"), required=False,
                                                  widget=forms.CheckboxSelectMultiple)
    view_roles = forms.MultipleChoiceField(label=_("roles that see it"), required=False, choices=Role.choices,
                                           widget=forms.CheckboxSelectMultiple,
                                           help_text=_("None ticked: everyone who sees the record."))
    edit_roles = forms.MultipleChoiceField(label=_("roles that edit it"), required=False, choices=Role.choices,
                                           widget=forms.CheckboxSelectMultiple,
                                           help_text=_("None ticked: everyone who sees the field and edits the record."))
    list_column = forms.BooleanField(label=_("shown in the list"), required=False,
                                     help_text=_("A column of the records' list, and a filter there when indexed."))
    searchable = forms.BooleanField(
        label=_("searchable"), required=False,
        help_text=_("For text, long text, phone, email and URL fields: the list's search box also finds records by "
                    "this field's value (for those who may see the field)."))
    public = forms.BooleanField(label=_("on the public web form"), required=False)

    def __init__(self, *args, instance: CustomField | None = None, target: str | None = None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "target": instance.target, "key": instance.key, "label_zh": instance.label_zh,
                "label_en": instance.label_en, "type": instance.type, "options": "\n".join(instance.options),
                "default": "" if instance.default is None else types.as_input(instance, instance.default),
                "help_text": instance.help_text, "section": instance.section, "position": instance.position,
                "required_channels": instance.required_channels, "view_roles": instance.view_roles,
                "edit_roles": instance.edit_roles, "public": instance.public, "list_column": instance.list_column,
                "searchable": instance.searchable,
            }
        elif target and "initial" not in kwargs:
            kwargs["initial"] = {"target": target}
        super().__init__(*args, **kwargs)
        all_targets = registry.targets()
        self.fields["target"].choices = [(model, t.label) for model, t in all_targets.items()]
        chosen = all_targets.get(instance.target if instance else (self.data.get("target") or target or ""))
        channels = chosen.channels if chosen else Channel.values
        self.fields["required_channels"].choices = [(c, label) for c, label in Channel.choices if c in channels]
        if instance is not None:
            # A field's record type and key never change: the API, exports and imports name it by them.
            for name in ("target", "key"):
                self.fields[name].disabled = True
                self.fields[name].required = False
        if chosen is not None and not chosen.public_form:
            del self.fields["public"]
        if chosen is not None and not chosen.searched:
            del self.fields["searchable"]

    def definition_data(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("target", "key", "type"):
            data.pop(name, None)
        if data.get("position") is None:
            data["position"] = 0
        if "public" not in self.fields:
            data.pop("public", None)
        return data


def with_custom_fields(form, target: str, user, record=None, *, required_channel: str = Channel.WEB):
    """A record's form with the custom fields `user` may edit: the record's values, or a new record's defaults."""
    add_record_fields(form, registry.editable_fields(target, user), values=record.custom if record is not None else None,
                      creating=record is None, required_channel=required_channel)
    return form


def custom_data(form) -> dict | None:
    """What a form with custom fields posted for them, by key (for the service's `data["custom"]`); None when the
    form has none (the record's values stay as they are)."""
    fields = [formfield.custom_field for formfield in form.fields.values() if hasattr(formfield, "custom_field")]
    return submitted(form.data, fields) if fields else None


def own_data(cleaned: dict) -> dict:
    """A form's cleaned values without its custom fields (`custom.<key>`), which go as `custom`."""
    return {name: value for name, value in cleaned.items() if not name.startswith(registry.ERROR_PREFIX)}
