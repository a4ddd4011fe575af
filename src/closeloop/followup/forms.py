"""Forms parse what a person typed; the follow-up services decide and validate the rules."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.core.forms import TypedDateTimeField
from closeloop.core.models import User

from .models import FOLLOW_UP_KINDS, ActivityKind, ParticipantRole, TagColor


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


def _active_people():
    return User.objects.filter(is_active=True).order_by("username")


class ParticipantForm(forms.Form):
    user = forms.ModelChoiceField(label=_("person"), queryset=_active_people())
    role = forms.ChoiceField(label=_("role"), choices=ParticipantRole.choices, initial=ParticipantRole.PRESALES)


class HandoffForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("hand to"), queryset=_active_people())
    title = forms.CharField(label=_("task"), max_length=200, initial=_("Technical assessment"))
    role = forms.ChoiceField(label=_("their role"), choices=ParticipantRole.choices, initial=ParticipantRole.PRESALES)
    due_at = TypedDateTimeField(label=_("due"))
    details = forms.CharField(label=_("details"), required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 2}))


class TagForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=20)
    color = forms.ChoiceField(label=_("color"), choices=TagColor.choices, initial=TagColor.BLUE)


def form_data(form) -> dict:
    """The raw typed values of the fields the person filled; the services parse them."""
    return {name: form.data.get(name, "") for name in form.fields if name in form.data}
