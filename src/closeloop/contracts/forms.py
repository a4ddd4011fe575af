"""Forms parse what a person typed; the services decide (amounts, plans, payments and states are checked there)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.core.forms import TypedDateInput

from .models import InstalmentCondition, InvoiceType, PaymentMethod

# Dates as people type them (明天, 3月5日, 下月底), read by the services through core.inputs and echoed while typing.
DATE = TypedDateInput()
DECIMAL = forms.TextInput(attrs={"inputmode": "decimal"})


class ContractForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("contract", "title"), max_length=200)
    amount = forms.CharField(label=_("contract amount incl. tax (CNY)"), widget=DECIMAL, required=False)
    party_a = forms.CharField(label=_("party A (us)"), max_length=200, required=False)
    party_b = forms.CharField(label=_("party B (customer)"), max_length=200)
    party_b_contact = forms.CharField(label=_("customer signatory"), max_length=100, required=False)
    party_b_phone = forms.CharField(label=_("signatory phone"), max_length=40, required=False)
    start_date = forms.CharField(label=_("start date"), widget=DATE, required=False)
    end_date = forms.CharField(label=_("end date"), widget=DATE, required=False)
    payment_terms = forms.CharField(label=_("payment terms"), required=False, max_length=2000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(label=_("terms and notes"), required=False, max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, amount_fixed=False, **kwargs):
        super().__init__(*args, **kwargs)
        if amount_fixed:
            # The amount of a contract from a quote is the accepted version's total.
            self.fields["amount"].disabled = True
            self.fields["amount"].help_text = _("From the accepted quote's lines.")


class InstalmentRowForm(forms.Form):
    """One row of the payment plan editor (a plain formset without Django's management form: rows are read by index)."""

    id = forms.CharField(required=False, widget=forms.HiddenInput)
    title = forms.CharField(label=_("instalment"), max_length=100, required=False)
    condition = forms.ChoiceField(label=_("condition"), choices=InstalmentCondition.choices, required=False)
    days_after = forms.CharField(label=_("days after"), required=False, widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    due_date = forms.CharField(label=_("due date"), required=False, widget=DATE)
    percentage = forms.CharField(label=_("share (%)"), required=False, widget=DECIMAL)
    amount = forms.CharField(label=_("amount (CNY)"), required=False, widget=DECIMAL)


class SignForm(forms.Form):
    sign_date = forms.CharField(label=_("sign date"), widget=DATE, required=False)
    file = forms.FileField(label=_("signed copy (PDF, JPG or PNG)"), required=False)


class PaymentForm(forms.Form):
    received_on = forms.CharField(label=_("received on"), widget=DATE)
    amount = forms.CharField(label=_("amount (CNY)"), widget=DECIMAL)
    method = forms.ChoiceField(label=_("method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("reference"), max_length=100, required=False,
                                help_text=_("The bank's transaction number or the bill's number."))
    note = forms.CharField(label=_("note"), max_length=300, required=False)


class InvoiceRequestForm(forms.Form):
    amount = forms.CharField(label=_("amount (CNY)"), widget=DECIMAL)
    invoice_type = forms.ChoiceField(label=_("invoice type"), choices=InvoiceType.choices)
    buyer_name = forms.CharField(label=_("buyer (invoice title)"), max_length=200, required=False,
                                 help_text=_("Empty: the customer named in the contract."))
    buyer_tax_id = forms.CharField(label=_("buyer's taxpayer ID"), max_length=30, required=False)
    buyer_details = forms.CharField(label=_("buyer's address, phone, bank and account"), max_length=500, required=False)
    note = forms.CharField(label=_("note"), max_length=300, required=False)


class InvoiceIssueForm(forms.Form):
    invoice_number = forms.CharField(label=_("invoice number"), max_length=30)
    issued_on = forms.CharField(label=_("issued on"), widget=DATE, required=False)
    invoice_type = forms.ChoiceField(label=_("invoice type"), choices=InvoiceType.choices)


class ContractSettingsForm(forms.Form):
    number_pattern = forms.CharField(label=_("contract number pattern"), max_length=40,
                                     help_text=_("{YYYY} or {YY} the year, {MM} the month, {NNNN} the counter."))
    due_soon_days = forms.CharField(label=_("remind the owner this many days before an instalment is due"))
    overdue_grace_days = forms.CharField(label=_("escalate an overdue instalment to the manager and finance after (days)"))
    ending_soon_days = forms.CharField(label=_("remind the owner this many days before a contract ends"))
    esign_secret = forms.CharField(label=_("e-signature shared secret"), required=False, max_length=200,
                                   widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                                   help_text=_("Empty keeps the current secret."))
    clear_esign_secret = forms.BooleanField(label=_("remove the shared secret (callbacks are refused)"), required=False)
    esign_window_seconds = forms.CharField(label=_("accept e-signature callbacks signed within (seconds)"))
