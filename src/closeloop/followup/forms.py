"""Forms parse what a person typed; the follow-up services decide and validate the rules."""

import json

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from closeloop.core.forms import TypedDateTimeField
from closeloop.core.models import User

from .activity_templates import field_lines, skeleton, template_errors, templates_by_kind
from .models import FOLLOW_UP_KINDS, TEMPLATE_KINDS, ActivityKind, ParticipantRole, TagColor


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label=_("type"), choices=[(k.value, k.label) for k in FOLLOW_UP_KINDS],
                             initial=ActivityKind.CALL)
    content = forms.CharField(label=_("what happened"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    feedback = forms.CharField(label=_("customer feedback"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                               max_length=5000)
    next_plan = forms.CharField(label=_("next plan"), required=False, max_length=1000)
    next_follow_up_at = TypedDateTimeField(label=_("next follow-up"), required=False)

    def __init__(self, *args, record=None, **kwargs):
        super().__init__(*args, **kwargs)
        from .services import next_follow_up_default

        default = next_follow_up_default(record) if record is not None else None
        if default is not None:
            # An open record always has a next step: proposed here, changed or kept, never silently emptied.
            field = self.fields["next_follow_up_at"]
            field.initial = timezone.localtime(default).replace(tzinfo=None)
            field.required = True
            field.error_messages["required"] = _("Choose when to follow up next: an open record always has a next step.")
            field.help_text = _("Proposed from the follow-up interval; change it if you agreed on another time.")
        self._offer_templates()

    def _offer_templates(self):
        """The kinds' templates: the content starts from the chosen kind's skeleton (app.js swaps it when the kind
        changes while the text is untouched), and its help names what each kind must record."""
        self.templates = templates_by_kind()
        if not self.templates:
            return
        content = self.fields["content"]
        skeletons = {kind: skeleton(template) for kind, template in self.templates.items()}
        content.widget.attrs.update({"rows": 5, "data-templates": json.dumps(skeletons, ensure_ascii=False)})
        if not self.is_bound:
            content.initial = skeletons.get(self.fields["kind"].initial, "")
        listed = pgettext("list separator", "; ").join(f"{template.get_kind_display()} — {'、'.join(field_lines(template).splitlines())}"
                           for template in self.templates.values() if template.fields)
        content.help_text = _("Templates: %(templates)s (* required).") % {"templates": listed}

    def clean(self):
        # The template's fields are checked with the form's own, so one round names every problem.
        cleaned = super().clean()
        kind = self.data.get("kind", "")
        if self.templates and kind in TEMPLATE_KINDS:
            for message in template_errors(kind, self.data.get("content", ""), self.templates):
                self.add_error("content", message)
        return cleaned


def _active_people():
    return User.objects.filter(is_active=True).order_by("username")


class PersonChoiceField(forms.ModelChoiceField):
    """A colleague named with their role ("孙工 · 售前"): a rep handing a deal to pre-sales picks from the whole
    company by display name, and a name alone does not say who does pre-sales."""

    def label_from_instance(self, obj):
        return f"{obj} · {obj.get_role_display()}"


class ParticipantForm(forms.Form):
    user = PersonChoiceField(label=_("person"), queryset=_active_people())
    role = forms.ChoiceField(label=_("role"), choices=ParticipantRole.choices, initial=ParticipantRole.PRESALES)


class HandoffForm(forms.Form):
    assignee = PersonChoiceField(label=_("hand to"), queryset=_active_people())
    title = forms.CharField(label=_("task"), max_length=200, initial=_("Technical assessment"))
    role = forms.ChoiceField(label=_("their role"), choices=ParticipantRole.choices, initial=ParticipantRole.PRESALES)
    due_at = TypedDateTimeField(label=_("due"))
    details = forms.CharField(label=_("details"), required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 2}))


class ActivityTemplateForm(forms.Form):
    """One kind's template on the settings page (prefixed by the kind)."""

    fields = forms.CharField(
        label=_("fields"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One a line, in the order the form lists them; end a line with * to require it. "
                    "Leave both boxes empty for no template."))
    text = forms.CharField(label=_("opening text"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Optional: a line the skeleton starts with."))


class TagForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=20)
    color = forms.ChoiceField(label=_("color"), choices=TagColor.choices, initial=TagColor.BLUE)


def form_data(form) -> dict:
    """The raw typed values of the fields the person filled; the services parse them."""
    return {name: form.data.get(name, "") for name in form.fields if name in form.data}
