import copy

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from closeloop.core.forms import TypedMoneyInput
from closeloop.core.hooks import UserField
from closeloop.core.models import Channel, User

from .models import (
    ACTION_STATUSES,
    CONFIGURABLE_FIELDS,
    Campaign,
    DisqualifyReason,
    DuplicateAction,
    Lead,
    LeadSource,
    LeadStatus,
)

LEAD_FORM_FIELDS = [
    "company_name", "contact_name", "title", "mobile", "landline", "email", "wechat", "region", "city",
    "industry", "company_size", "need", "budget", "timeline", "product_interest", "credit_code",
]

# Input types, keyboards and autofill hints for a phone: a tel keypad for numbers, an email keyboard,
# the browser's saved contact details. Types only choose the keyboard: forms are `novalidate`, the
# intake service decides what is valid.
NO_AUTOCORRECT = {"autocapitalize": "off", "autocorrect": "off", "spellcheck": "false"}
LEAD_WIDGETS = {
    "company_name": forms.TextInput(attrs={"autocomplete": "organization"}),
    "contact_name": forms.TextInput(attrs={"autocomplete": "name"}),
    "title": forms.TextInput(attrs={"autocomplete": "organization-title"}),
    "mobile": forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    "landline": forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    "email": forms.TextInput(attrs={"type": "email", "inputmode": "email", "autocomplete": "email", **NO_AUTOCORRECT}),
    "wechat": forms.TextInput(attrs={"autocomplete": "off", **NO_AUTOCORRECT}),
    "region": forms.TextInput(attrs={"autocomplete": "address-level1"}),
    "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
    "need": forms.Textarea(attrs={"rows": 3}),
    "budget": forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    "credit_code": forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false",
                                          "maxlength": 18}),
}


class LeadForm(forms.ModelForm):
    """Parses what a person typed; the intake service validates and normalizes it."""

    # Not required here: the intake service checks the source with every other field, in one round.
    source = forms.ModelChoiceField(label=_("source"), queryset=LeadSource.objects.filter(active=True), required=False)
    budget = forms.CharField(label=_("budget (CNY)"), required=False, widget=TypedMoneyInput())
    # Plain text here so the intake service reports every bad field at once, in its own words.
    email = forms.CharField(label=_("email"), required=False, max_length=200, widget=LEAD_WIDGETS["email"])

    class Meta:
        model = Lead
        fields = LEAD_FORM_FIELDS + ["source"]
        widgets = LEAD_WIDGETS

    def __init__(self, *args, required_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Mark what the channel policy requires, so a person sees it before submitting. Marked only:
        # the intake service checks it, together with every other field, and says what to fix.
        for name in ["source", *required_fields]:
            if name in self.fields:
                self.fields[name].marked_required = True
                self.fields[name].widget.attrs["required"] = True
        self.fields[next(iter(self.fields))].widget.attrs["autofocus"] = True

    def _post_clean(self):
        # Validation belongs to the service, not to the model form: skip model validation here.
        pass


class LeadEditForm(LeadForm):
    # The working statuses; converted, disqualified and merged come from their actions (the lead's own
    # status stays offered so that an unchanged form saves). Parsed as text: the service says what to use.
    status = forms.CharField(label=_("status"), widget=forms.Select())

    class Meta(LeadForm.Meta):
        fields = LEAD_FORM_FIELDS + ["source", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.status
        self.fields["status"].widget.choices = [c for c in LeadStatus.choices
                                                if c[0] not in ACTION_STATUSES or c[0] == current]
        self.fields["status"].help_text = _("Converted and disqualified are set by “Convert to deal” and "
                                            "“Disqualify” on the lead's page.")


class DisqualifyForm(forms.Form):
    reason = forms.ChoiceField(label=_("reason"), choices=[("", _("— choose why the lead is not worth pursuing —")),
                                                        *DisqualifyReason.choices], required=False)
    note = forms.CharField(label=_("note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class BulkAssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("assign to"), queryset=User.objects.none())
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)
    leads = forms.ModelMultipleChoiceField(queryset=Lead.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from closeloop.core.visibility import team_owner_ids

        owners = User.objects.filter(is_active=True, role__in=["sales_rep", "sales_manager"])
        if not user.is_admin:
            owners = owners.filter(pk__in=team_owner_ids(user))
        self.fields["owner"].queryset = owners
        self.fields["leads"].queryset = Lead.objects.visible_to(user)


class PublicLeadForm(forms.Form):
    """The public web form: the fields a campaign shows, all parsed as text for the intake service."""

    def __init__(self, *args, field_names: list[str], required: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        for name in field_names:
            model_field = Lead._meta.get_field(name)
            widget = copy.deepcopy(LEAD_WIDGETS.get(name, forms.TextInput()))
            if model_field.max_length:
                widget.attrs["maxlength"] = model_field.max_length
            if name in required:
                widget.attrs["required"] = True
            field = forms.CharField(label=capfirst(model_field.verbose_name), required=False, widget=widget)
            field.marked_required = name in required
            self.fields[name] = field
        if self.fields:
            self.fields[field_names[0]].widget.attrs["autofocus"] = True


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    source = forms.ModelChoiceField(label=_("source"), queryset=LeadSource.objects.none())
    active = forms.BooleanField(label=_("active: its form accepts leads"), required=False, initial=True)
    thank_you_message = forms.CharField(
        label=_("thank-you message"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown after a visitor submits the form. Leave empty for a standard thank-you."),
    )

    def __init__(self, *args, user, campaign: Campaign | None = None, **kwargs):
        if campaign is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": campaign.name, "source": campaign.source, "active": campaign.active,
                                 "thank_you_message": campaign.thank_you_message}
        super().__init__(*args, **kwargs)
        sources = LeadSource.objects.filter(active=True)
        if not user.is_admin:
            sources = sources.filter(pk__in=user.source_channels.values("pk"))
        if campaign is not None:
            # Keep the current source selectable even if it was deactivated since.
            sources = sources | LeadSource.objects.filter(pk=campaign.source_id)
        self.fields["source"].queryset = sources.distinct()
        self.fields["name"].widget.attrs["autofocus"] = True


class LeadSourceForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=50)
    active = forms.BooleanField(label=_("active: offered in pick lists"), required=False, initial=True)


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Excel or CSV file"),
        help_text=_("An .xlsx workbook (first sheet) or a CSV file in UTF-8 or GBK; the first row names the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,text/csv"}),
    )


class ImportMappingForm(forms.Form):
    """One select per column of the file (a lead field or "ignore"), a default source, the merge option."""

    default_source = forms.ModelChoiceField(
        label=_("source for rows without one"), queryset=LeadSource.objects.filter(active=True), required=False,
    )
    merge_duplicates = forms.BooleanField(
        label=_("merge rows of this file that are the same contact (same mobile, email or credit code)"),
        required=False,
    )
    assign_to_me = forms.BooleanField(
        label=_("keep the new leads myself (otherwise the assignment rules decide, and leads no rule takes go to "
                "the public pool)"),
        required=False,
    )

    def __init__(self, *args, job, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        from .assignment import can_own
        from .imports import LEADS

        if job.kind != LEADS:
            # Source, merging and keeping are the lead import's options; other kinds map columns only.
            for name in ("default_source", "merge_duplicates", "assign_to_me"):
                del self.fields[name]
        elif can_own(user):
            # Sales staff importing a list are usually importing their own contacts.
            self.fields["assign_to_me"].initial = True
        else:
            del self.fields["assign_to_me"]
        labels = job.import_kind.fields()
        choices = [("", _("— ignore this column —"))] + list(labels.items())
        self.columns = []
        for index, header in enumerate(job.headers):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(label=header or _("(no header)"), choices=choices, required=False,
                                                  initial=job.mapping[index] if index < len(job.mapping) else "")
            self.columns.append(name)
        if "default_source" in self.fields:
            self.fields["default_source"].initial = job.default_source_id

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(name) or "" for name in self.columns]

    def column_fields(self):
        return [self[name] for name in self.columns]


class ChannelPolicyForm(forms.Form):
    required_fields = forms.MultipleChoiceField(
        label=_("required fields"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(name, Lead._meta.get_field(name).verbose_name) for name in CONFIGURABLE_FIELDS],
    )
    require_contact_method = forms.BooleanField(label=_("require a mobile, landline, email or WeChat"), required=False)
    duplicate_action = forms.ChoiceField(
        label=_("when a submission names a contact already on record"), choices=DuplicateAction.choices,
        initial=DuplicateAction.ATTACH, required=False,
    )

    def clean_duplicate_action(self):
        # Left out of a submission (an older form), the safe default: route the duplicate to its owner.
        return self.cleaned_data["duplicate_action"] or DuplicateAction.ATTACH

    def __init__(self, *args, channel: str, **kwargs):
        self.channel = channel
        kwargs.setdefault("prefix", channel)
        super().__init__(*args, **kwargs)
        self.label = Channel(channel).label


def marketer_field() -> UserField:
    """The source channels a marketer runs, on core's user form (they see those channels' leads)."""
    return UserField(
        name="source_channels",
        formfield=lambda: forms.ModelMultipleChoiceField(
            label=_("source channels (marketing)"), queryset=LeadSource.objects.all(), required=False,
            widget=forms.CheckboxSelectMultiple,
        ),
        initial=lambda user: list(user.source_channels.all()),
        save=lambda user, sources: user.source_channels.set(sources),
    )
