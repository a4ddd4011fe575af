"""Forms parse what a person typed; the services decide (who may, states, files)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from closeloop.core.models import User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MILESTONE_ROWS = 5


def _people():
    return User.objects.filter(is_active=True).order_by("display_name", "username")


class DeliveryForm(forms.Form):
    title = forms.CharField(label=_("delivery"), max_length=200, required=False,
                            help_text=_("The contract's title unless you name it."))
    owner = forms.ModelChoiceField(label=_("delivery owner"), queryset=User.objects.none())
    notes = forms.CharField(label=_("notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people()


class MilestoneForm(forms.Form):
    name = forms.CharField(label=_("milestone"), max_length=200, required=False)
    planned_date = forms.DateField(label=_("planned date"), widget=DATE, required=False)
    owner = forms.ModelChoiceField(label=_("owner"), queryset=User.objects.none(), required=False,
                                   empty_label=_("— the delivery owner —"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people()


def milestone_forms(data=None) -> list[MilestoneForm]:
    return [MilestoneForm(data, prefix=f"m{n}") for n in range(MILESTONE_ROWS)]


class MilestoneDoneForm(forms.Form):
    done_date = forms.DateField(label=_("done on"), widget=DATE, required=False)


class AcceptanceUploadForm(forms.Form):
    file = forms.FileField(label=_("signed acceptance form (PDF, JPG or PNG)"), required=False)
    accepted_on = forms.DateField(label=_("accepted on"), widget=DATE, required=False)
    acceptor_name = forms.CharField(label=_("signed by"), max_length=100, required=False)


class PublicAcceptanceForm(forms.Form):
    name = forms.CharField(label=_("your name"), max_length=100)
    phone = forms.CharField(label=_("phone"), max_length=40)
    comment = forms.CharField(label=_("comment (optional)"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    signature = forms.FileField(label=_("signature image (optional, PNG or JPEG)"), required=False,
                                widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}))
