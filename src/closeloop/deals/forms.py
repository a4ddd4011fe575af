"""Forms parse what a person typed; the services in services.py decide and validate the business rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from closeloop.core.forms import TypedDateField, TypedDateTimeField, TypedMoneyInput
from closeloop.core.models import User

from .models import (
    Contact,
    LostReason,
    Pipeline,
    WinReason,
    gate_choices,
)


class CustomerForm(forms.Form):
    name = forms.CharField(label=_("company name"), max_length=200)
    credit_code = forms.CharField(label=_("unified social credit code"), max_length=40, required=False)
    industry = forms.CharField(label=_("industry"), max_length=50, required=False)
    region = forms.CharField(label=_("province/region"), max_length=50, required=False)
    city = forms.CharField(label=_("city"), max_length=50, required=False)
    address = forms.CharField(label=_("address"), max_length=200, required=False)
    company_size = forms.CharField(label=_("company size"), max_length=30, required=False)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    title = forms.CharField(label=_("title"), max_length=100, required=False)
    mobile = forms.CharField(label=_("mobile"), max_length=40, required=False,
                             widget=forms.TextInput(attrs={"inputmode": "tel"}))
    landline = forms.CharField(label=_("landline"), max_length=40, required=False)
    email = forms.CharField(label=_("email"), max_length=200, required=False,
                            widget=forms.TextInput(attrs={"inputmode": "email"}))
    wechat = forms.CharField(label=_("WeChat"), max_length=100, required=False)


class OpportunityForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=200)
    amount = forms.CharField(label=_("amount (CNY)"), required=False, widget=TypedMoneyInput())
    expected_close_date = TypedDateField(label=_("expected close date"), required=False)
    contacts = forms.ModelMultipleChoiceField(label=_("contacts"), queryset=Contact.objects.none(), required=False)
    budget = forms.CharField(label=_("budget (CNY)"), required=False, widget=TypedMoneyInput())
    authority = forms.CharField(label=_("decision maker"), max_length=200, required=False)
    need = forms.CharField(label=_("need"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    timeline = forms.CharField(label=_("timeline"), max_length=100, required=False)
    next_step = forms.CharField(label=_("next step"), max_length=200, required=False)
    next_follow_up_at = TypedDateTimeField(label=_("next follow-up"), required=False)

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if customer is not None:
            self.fields["contacts"].queryset = Contact.objects.filter(customer=customer)


class ConvertForm(forms.Form):
    opportunity_name = forms.CharField(label=_("deal name"), max_length=200, required=False)
    amount = forms.CharField(label=_("expected amount (CNY)"), required=False, widget=TypedMoneyInput())
    pipeline = forms.ModelChoiceField(label=_("pipeline"), queryset=Pipeline.objects.filter(active=True), required=False)


class TransferForm(forms.Form):
    new_owner = forms.ModelChoiceField(label=_("new owner"), queryset=User.objects.none())
    reason = forms.CharField(label=_("reason"), max_length=300)
    keep_as_collaborator = forms.BooleanField(label=_("keep the old owner as a collaborator"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = User.objects.filter(
            is_active=True, role__in=["sales_rep", "sales_manager", "admin"]
        ).order_by("username")


class StageForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=50)
    position = forms.IntegerField(label=_("position"), min_value=0, initial=0)
    probability = forms.IntegerField(label=_("win probability (%)"), min_value=0, max_value=100, initial=0)
    required_fields = forms.MultipleChoiceField(
        label=_("required before entering"), choices=gate_choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    stale_after_days = forms.IntegerField(label=_("stale after (days)"), min_value=1, max_value=3650, required=False)
    is_won = forms.BooleanField(label=_("won stage"), required=False)
    is_lost = forms.BooleanField(label=_("lost stage"), required=False)


class PipelineForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    position = forms.IntegerField(label=_("position"), min_value=0, initial=0)
    is_default = forms.BooleanField(label=_("default pipeline"), required=False)
    follow_up_days = forms.IntegerField(
        label=_("next follow-up after (days)"), min_value=1, max_value=365, initial=7,
        help_text=_("When a follow-up is logged on a deal, the next one is proposed this many days later."))
    active = forms.BooleanField(label=_("active"), required=False, initial=True)


class ReasonForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    position = forms.IntegerField(label=_("position"), min_value=0, initial=0)
    active = forms.BooleanField(label=_("active"), required=False, initial=True)


def lost_reasons():
    return LostReason.objects.filter(active=True)


def win_reasons():
    return WinReason.objects.filter(active=True)
