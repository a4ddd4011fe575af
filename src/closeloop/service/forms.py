"""Forms parse what a person typed; the services decide (who may, states, files)."""

from django import forms
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.contracts.models import Contract, ContractStatus
from closeloop.core.forms import TypedDateField
from closeloop.core.models import Role, User
from closeloop.deals.models import Contact

from . import access
from .access import SERVICE_TEAM_ROLES
from .models import CustomerTier, DeliveryStatus, TicketCategory, TicketPriority

MILESTONE_ROWS = 5


def _people():
    return User.objects.filter(is_active=True).order_by("display_name", "username")


def owner_choices(users) -> list:
    """A delivery's (or milestone's) possible owners: every active colleague (the services' rule,
    `access.may_own_delivery`), after-sales service first (they work every delivery, `access.is_service`), then
    everyone else, each sorted by name, so the people who run deliveries are not lost among the whole company."""
    service, others = [], []
    for user in sorted(users, key=lambda u: str(u)):
        if access.may_own_delivery(user):
            (service if access.is_service(user) else others).append((user.pk, str(user)))
    return [(Role.SERVICE.label, service), (_("Everyone else"), others)] if service else others


def default_delivery_owner(actor):
    """Who runs a new delivery unless someone else is chosen, always one of `owner_choices`: the person starting
    it when they are in after-sales service, else the service colleague with the fewest deliveries in progress
    (ties by name, as listed), else the person starting it."""
    if access.is_service(actor):
        return actor
    service = (User.objects.filter(is_active=True, role=Role.SERVICE)
               .annotate(running=Count("owned_deliveries",
                                       filter=Q(owned_deliveries__status=DeliveryStatus.IN_PROGRESS))))
    least = min(service, key=lambda user: (user.running, str(user)), default=None)
    return least or actor


class DeliveryForm(forms.Form):
    title = forms.CharField(label=_("delivery"), max_length=200, required=False,
                            help_text=_("The contract's title unless you name it."))
    owner = forms.ModelChoiceField(label=_("delivery owner"), queryset=User.objects.none())
    notes = forms.CharField(label=_("notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people = _people()
        self.fields["owner"].choices = [("", _("- Select an option -")), *owner_choices(people)]


class MilestoneForm(forms.Form):
    name = forms.CharField(label=_("milestone"), max_length=200, required=False)
    planned_date = TypedDateField(label=_("planned date"), required=False)
    owner = forms.ModelChoiceField(label=_("owner"), queryset=User.objects.none(), required=False,
                                   empty_label=_("— the delivery owner —"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people = _people()
        self.fields["owner"].choices = [("", self.fields["owner"].empty_label), *owner_choices(people)]


def milestone_forms(data=None) -> list[MilestoneForm]:
    return [MilestoneForm(data, prefix=f"m{n}") for n in range(MILESTONE_ROWS)]


class AcceptanceUploadForm(forms.Form):
    file = forms.FileField(label=_("signed acceptance form (PDF, JPG or PNG)"), required=False)
    accepted_on = TypedDateField(label=_("accepted on"), required=False)
    acceptor_name = forms.CharField(label=_("signed by"), max_length=100, required=False)


class PublicAcceptanceForm(forms.Form):
    name = forms.CharField(label=_("your name"), max_length=100)
    phone = forms.CharField(label=_("phone"), max_length=40)
    comment = forms.CharField(label=_("comment (optional)"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    signature = forms.FileField(label=_("signature image (optional, PNG or JPEG)"), required=False,
                                widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}))


class ScoreSelect(forms.RadioSelect):
    """A row of score buttons (1–5, 0–10) that wraps on a phone."""

    template_name = "service/public/_scores.html"


class PublicSurveyForm(forms.Form):
    csat = forms.TypedChoiceField(label=_("How satisfied are you with our service?"), coerce=int, widget=ScoreSelect,
                                  choices=[(n, str(n)) for n in range(1, 6)])
    nps = forms.TypedChoiceField(label=_("How likely are you to recommend us to a friend or colleague?"), coerce=int,
                                 widget=ScoreSelect, choices=[(n, str(n)) for n in range(11)])
    comment = forms.CharField(label=_("What should we keep or change? (optional)"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Up to three files in one input; the service checks their bytes and sizes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True, "accept": ".pdf,.png,.jpg,.jpeg,.tif,.tiff,.webp"}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [super(AttachmentsField, self).clean(file, initial) for file in files if file]


class PublicTicketForm(forms.Form):
    requester_name = forms.CharField(label=_("your name"), max_length=100)
    requester_phone = forms.CharField(label=_("phone"), max_length=40, required=False)
    requester_email = forms.EmailField(label=_("email"), max_length=200, required=False)
    category = forms.ChoiceField(label=_("category"), choices=TicketCategory.choices)
    title = forms.CharField(label=_("subject"), max_length=200)
    description = forms.CharField(label=pgettext_lazy("ticket", "what happened"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 5, "maxlength": 5000}))
    attachments = AttachmentsField(label=_("screenshots or documents (optional: up to 3 PDF, JPG or PNG files, 10 MB each)"),
                                   required=False)


class TicketForm(forms.Form):
    title = forms.CharField(label=_("subject"), max_length=200)
    description = forms.CharField(label=_("description"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    category = forms.ChoiceField(label=_("category"), choices=TicketCategory.choices)
    priority = forms.ChoiceField(label=_("priority"), choices=TicketPriority.choices, initial=TicketPriority.P3)
    contact = forms.ModelChoiceField(label=_("contact"), queryset=Contact.objects.none(), required=False)
    contract = forms.ModelChoiceField(label=_("contract"), queryset=Contract.objects.none(), required=False)
    owner = forms.ModelChoiceField(label=_("assignee"), queryset=User.objects.none(), required=False,
                                   empty_label=_("— the service team's turn —"))
    attachments = AttachmentsField(label=_("screenshots or documents (optional: up to 3 PDF, JPG or PNG files, 10 MB each)"),
                                   required=False)

    def __init__(self, *args, customer, contracts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = customer.contacts.order_by("-is_primary", "id")
        self.fields["contract"].queryset = contracts.exclude(status=ContractStatus.TERMINATED).order_by("-created_at")
        self.fields["owner"].queryset = service_team()


def service_team():
    return User.objects.filter(is_active=True, role__in=SERVICE_TEAM_ROLES).order_by("role", "display_name")


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("assignee"), queryset=User.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = service_team()


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("reply"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    internal = forms.BooleanField(label=_("internal note (the customer does not see it)"), required=False)
    attachments = AttachmentsField(label=_("files for colleagues (optional: up to 3 PDF, JPG or PNG files, 10 MB each; "
                                           "not mailed to the customer)"), required=False)


class ServiceSettingsForm(forms.Form):
    work_weekdays = forms.CharField(label=_("working weekdays"), max_length=7,
                                    help_text=_("Digits 1 (Monday) to 7 (Sunday), e.g. 12345."))
    work_start = forms.TimeField(label=_("working hours from"), widget=forms.TimeInput(attrs={"type": "time"}))
    work_end = forms.TimeField(label=_("working hours until"), widget=forms.TimeInput(attrs={"type": "time"}),
                               help_text=_("Earlier than the start for a night shift (22:00–06:00)."))
    service_manager = forms.ModelChoiceField(label=_("service manager"), queryset=User.objects.none(), required=False,
                                             empty_label=_("— the administrators —"))
    assignment_strategy = forms.ChoiceField(label=_("assign new tickets"),
                                            choices=[("round_robin", _("Round-robin")),
                                                     ("least_load", _("Least open tickets"))])
    survey_expiry_days = forms.IntegerField(label=_("satisfaction survey open for (days)"), min_value=1, max_value=365,
                                            required=False,
                                            help_text=_("How long the customer's survey link can be answered after it is sent."))
    renewal_days = forms.IntegerField(label=_("open a renewal deal (days before a contract ends)"), min_value=1,
                                      max_value=365, required=False,
                                      help_text=_("A signed contract ending within this many days gets a renewal deal for the account owner."))
    renewal_windows = forms.CharField(
        label=_("renewal days by product category"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One product category a line with its days, e.g. 软件 90; other contracts use the days above."))
    holidays = forms.CharField(label=_("public holidays (days off)"), required=False, widget=forms.Textarea(attrs={"rows": 6}),
                               help_text=_("One date a line, with an optional name: 2026-10-01 国庆节"))
    workdays = forms.CharField(label=_("weekend days worked (调休)"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("One date a line: 2026-09-27 国庆调休"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_manager"].queryset = _people()


class PolicyRowForm(forms.Form):
    priority = forms.ChoiceField(label=_("priority"), choices=[("", "—"), *TicketPriority.choices], required=False)
    tier = forms.ChoiceField(label=_("service tier"), choices=[("", _("any tier")), *CustomerTier.choices], required=False)
    first_response_minutes = forms.IntegerField(label=_("first response (minutes)"), required=False, min_value=1)
    resolution_minutes = forms.IntegerField(label=_("resolution (minutes)"), required=False, min_value=1)
    always = forms.BooleanField(label=_("7×24"), required=False)
