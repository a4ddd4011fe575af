"""Forms parse what a person typed; the services decide (amounts, rates and rules are checked there)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.core.forms import TypedDateInput

from .models import ApprovalChain, ApprovalOperator, Product, QuoteTemplate

# Dates as people type them (明天, 3月5日, 下月底), read by the services through core.inputs and echoed while typing.
DATE = TypedDateInput()
DECIMAL = forms.TextInput(attrs={"inputmode": "decimal"})


class QuoteCreateForm(forms.Form):
    opportunity = forms.TypedChoiceField(label=_("deal"), coerce=int)
    # "title" alone is a person's job title (职务) in the catalogue; a quote's title is its subject line.
    title = forms.CharField(label=pgettext_lazy("quote", "title"), max_length=200, required=False,
                            help_text=_("Empty: the deal's name."))
    template = forms.ModelChoiceField(label=_("start from a template"), required=False,
                                      queryset=QuoteTemplate.objects.filter(active=True))

    def __init__(self, *args, deals=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The customer after the deal's name, unless the name already says it (a converted lead's deal is named
        # "customer · need": "广州新锐 · 销售管理系统 · 广州新锐" read the customer twice).
        self.fields["opportunity"].choices = [
            (deal.pk, deal.name if deal.customer.name in deal.name else f"{deal.name} · {deal.customer.name}")
            for deal in deals]


class QuoteTermsForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("quote", "title"), max_length=200)
    valid_until = forms.CharField(label=_("valid until"), widget=DATE)
    contact_name = forms.CharField(label=_("attention of"), max_length=100, required=False)
    contact_phone = forms.CharField(label=_("contact phone"), max_length=40, required=False)
    payment_terms = forms.CharField(label=_("payment terms"), required=False, max_length=2000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(label=_("terms and notes"), required=False, max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 3}))


def product_groups() -> list[tuple[str, list[tuple[int, str]]]]:
    """Active products grouped by category: [(category, [(id, "code name"), ...]), ...]."""
    groups: dict[str, list] = {}
    for product in Product.objects.filter(active=True).order_by("category", "code"):
        groups.setdefault(product.category or str(_("Other")), []).append((product.pk, f"{product.code} {product.name}"))
    return list(groups.items())


def product_choices():
    """A line's product select: free text first, then the catalog by category."""
    return [("", _("— free text —"))] + product_groups()


class LineForm(forms.Form):
    product = forms.ChoiceField(label=_("product"), required=False)
    name = forms.CharField(label=_("item"), max_length=200, required=False,
                           help_text=_("Empty: the product's name."))
    description = forms.CharField(label=_("description"), max_length=500, required=False)
    unit = forms.CharField(label=_("unit"), max_length=20, required=False)
    quantity = forms.CharField(label=_("quantity"), initial="1", widget=DECIMAL)
    unit_price = forms.CharField(label=_("unit price"), required=False, widget=DECIMAL,
                                 help_text=_("Empty: the list price."))
    discount_pct = forms.CharField(label=_("discount (%)"), required=False, initial="0", widget=DECIMAL)
    tax_rate = forms.ChoiceField(label=_("tax rate (%)"), required=False)
    unit_cost = forms.CharField(label=_("unit cost excl. tax"), required=False, widget=DECIMAL)

    def __init__(self, *args, tax_rates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = product_choices()
        self.fields["tax_rate"].choices = [("", _("— the product's —"))] + [
            (f"{rate:f}", f"{rate.normalize():f}%") for rate in tax_rates]


class DecisionForm(forms.Form):
    name = forms.CharField(label=_("your name"), max_length=100)
    phone = forms.CharField(label=_("mobile (to accept)"), max_length=40, required=False,
                            widget=forms.TextInput(attrs={"inputmode": "tel"}))
    note = forms.CharField(label=_("note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ProductForm(forms.Form):
    code = forms.CharField(label=_("code"), max_length=50)
    name = forms.CharField(label=_("name"), max_length=200)
    category = forms.CharField(label=_("category"), max_length=50, required=False)
    unit = forms.CharField(label=_("unit"), max_length=20, initial="套")
    list_price = forms.CharField(label=_("list price (CNY)"), widget=DECIMAL)
    price_includes_tax = forms.BooleanField(label=_("list price includes tax"), required=False)
    cost = forms.CharField(label=_("unit cost excl. tax (CNY)"), required=False, widget=DECIMAL)
    tax_rate = forms.ChoiceField(label=_("tax rate (%)"))
    description = forms.CharField(label=_("description"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(self, *args, tax_rates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tax_rate"].choices = [(f"{rate:f}", f"{rate.normalize():f}%") for rate in tax_rates]


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    description = forms.CharField(label=_("description"), max_length=300, required=False)
    payment_terms = forms.CharField(label=_("payment terms"), required=False, max_length=2000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    active = forms.BooleanField(label=_("active"), required=False, initial=True)


class QuoteSettingsForm(forms.Form):
    prices_include_tax = forms.BooleanField(label=_("prices are entered including tax (含税)"), required=False)
    company_name = forms.CharField(label=_("company name"), max_length=200, required=False)
    company_address = forms.CharField(label=_("address"), max_length=300, required=False)
    company_phone = forms.CharField(label=_("phone"), max_length=100, required=False)
    company_email = forms.CharField(label=_("email"), max_length=200, required=False)
    company_tax_id = forms.CharField(label=_("taxpayer ID"), max_length=50, required=False)
    company_bank = forms.CharField(label=_("bank and account"), max_length=300, required=False)
    logo = forms.FileField(label=_("logo (PNG or JPEG, up to 1 MB)"), required=False)
    clear_logo = forms.BooleanField(label=_("remove the logo"), required=False)
    number_prefix = forms.CharField(label=_("quote number prefix"), max_length=10)
    validity_days = forms.CharField(label=_("quotes valid for (days)"), widget=DECIMAL)
    payment_terms = forms.CharField(label=_("default payment terms"), required=False, max_length=2000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    terms = forms.CharField(label=_("default terms and notes"), required=False, max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 3}))


class TaxRateForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=50)
    rate = forms.CharField(label=_("rate (%)"), widget=DECIMAL)
    active = forms.BooleanField(label=_("active"), required=False, initial=True)


class ApprovalRuleForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    kind = forms.ChoiceField(label=_("record type"))
    metric = forms.ChoiceField(label=_("measure"))
    operator = forms.ChoiceField(label=_("when it is"), choices=ApprovalOperator.choices)
    threshold = forms.CharField(label=_("threshold"), widget=DECIMAL,
                                help_text=_("Percent for discounts and margins, yuan for totals."))
    chain = forms.ChoiceField(label=_("approved by"), choices=ApprovalChain.choices)
    levels = forms.CharField(label=_("levels up the reporting line"), initial="1", widget=DECIMAL,
                             help_text=_("1: the owner's manager; 2: the manager, then the director."))
    approvers = forms.CharField(label=_("named approvers, in this order"), required=False, max_length=500,
                                help_text=_("User names separated by commas, e.g. finance1, director."))
    active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind.key, kind.label) for kind in kinds]
        self.fields["metric"].choices = [
            (kind.label, [(metric.key, f"{metric.label} ({metric.unit})") for metric in kind.metrics]) for kind in kinds]
