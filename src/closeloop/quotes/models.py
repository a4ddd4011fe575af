"""Catalog, quotes with versions and lines, quote templates, numbering, and the approval engine's tables."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.core.models import Role
from closeloop.core.visibility import VisibleQuerySet

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2}


# ---------------------------------------------------------------------------------------------------
# Settings


class TaxRate(models.Model):
    """A VAT rate people may pick (13%, 9%, 6%, 0% by default); an admin adds or retires rates."""

    name = models.CharField(_("name"), max_length=50)
    rate = models.DecimalField(_("rate (%)"), **PERCENT, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=100), name="tax_rate_percent"),
        ]

    def __str__(self):
        return self.name


class QuoteSettings(models.Model):
    """One row (pk 1): how prices are entered, the company header of the PDF, defaults of new quotes."""

    prices_include_tax = models.BooleanField(
        _("prices are entered including tax"), default=True,
        help_text=_("On: people type 含税 prices and the net price is worked out; off: they type 不含税 prices."),
    )
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    company_address = models.CharField(_("address"), max_length=300, blank=True)
    company_phone = models.CharField(_("phone"), max_length=100, blank=True)
    company_email = models.CharField(_("email"), max_length=200, blank=True)
    company_tax_id = models.CharField(_("taxpayer ID"), max_length=50, blank=True)
    company_bank = models.CharField(_("bank and account"), max_length=300, blank=True)
    logo = models.FileField(_("logo"), upload_to="quotes/logo/", blank=True)
    number_prefix = models.CharField(_("quote number prefix"), max_length=10, default="BJ")
    validity_days = models.PositiveSmallIntegerField(_("quotes valid for (days)"), default=30)
    payment_terms = models.TextField(_("default payment terms"), blank=True, max_length=2000)
    terms = models.TextField(_("default terms and notes"), blank=True, max_length=5000)

    class Meta:
        verbose_name = _("quote settings")
        verbose_name_plural = _("quote settings")

    def __str__(self):
        return str(_("Quote settings"))


class PipelineQuoteSettings(models.Model):
    """Where a pipeline's deals go when one of their quotes is sent or accepted (optional)."""

    pipeline = models.OneToOneField("deals.Pipeline", on_delete=models.CASCADE, related_name="quote_settings")
    sent_stage = models.ForeignKey(
        "deals.Stage", verbose_name=_("when a quote is sent, move the deal to"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    accepted_stage = models.ForeignKey(
        "deals.Stage", verbose_name=_("when a quote is accepted, move the deal to"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    def __str__(self):
        return str(self.pipeline)


class NumberSequence(models.Model):
    """Counters for document numbers (BJ-2026-0001): one row per series and period, taken under a row lock
    inside the caller's transaction, so numbers have no gaps and no repeats however many run at once."""

    series = models.CharField(max_length=40)
    period = models.CharField(max_length=10)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "period"], name="number_sequence_unique")]

    def __str__(self):
        return f"{self.series} {self.period}: {self.last_value}"


# ---------------------------------------------------------------------------------------------------
# Catalog


class Product(models.Model):
    """A product or service in the catalog (产品/服务)."""

    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=50, blank=True)
    unit = models.CharField(_("unit"), max_length=20, default="套")
    description = models.TextField(_("description"), blank=True, max_length=2000)
    list_price = models.DecimalField(_("list price (CNY)"), **MONEY)
    # Frozen when the price is entered, so changing the setting later never reinterprets the catalog.
    price_includes_tax = models.BooleanField(_("list price includes tax"), default=True)
    cost = models.DecimalField(_("unit cost excl. tax (CNY)"), **MONEY, null=True, blank=True)
    tax_rate = models.DecimalField(_("tax rate (%)"), **PERCENT, default=13)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["category", "code", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(list_price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=Q(cost__isnull=True) | Q(cost__gte=0), name="product_cost_not_negative"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def get_absolute_url(self):
        return reverse("quotes:product_edit", args=[self.pk])


class QuoteTemplate(models.Model):
    """A standard bundle (标准方案) a rep starts a quote from."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    payment_terms = models.TextField(_("payment terms"), blank=True, max_length=2000)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("quote template")
        verbose_name_plural = _("quote templates")

    def __str__(self):
        return self.name


class QuoteTemplateLine(models.Model):
    template = models.ForeignKey(QuoteTemplate, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, default=1)
    discount_pct = models.DecimalField(_("discount (%)"), **PERCENT, default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.product} × {self.quantity}"


# ---------------------------------------------------------------------------------------------------
# Quotes


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected in approval")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


# The current version can be edited in these states; a sent version is frozen and changes make a new one.
EDITABLE_STATUSES = {QuoteStatus.DRAFT, QuoteStatus.APPROVED, QuoteStatus.REJECTED}


class QuoteQuerySet(VisibleQuerySet):
    # Finance reads every quote: they check contracts and invoices against what was offered.
    company_wide_roles = frozenset({Role.FINANCE})
    # A quote is its deal's owner's (the breakpoint radar counts quotes per deal owner).
    owner_field = "opportunity__owner"

    def _visibility_filter(self, user) -> Q:
        from closeloop.deals.models import Opportunity

        # A quote follows its deal; an approver also sees what they were asked to approve.
        return Q(opportunity__in=Opportunity.objects.visible_to(user).values("pk")) | self._approving(user)

    def _shared_filter(self, user) -> Q:
        from closeloop.deals.models import Opportunity

        # The same, without the deals seen through their owner: those a deal's owner's line sees by owner.
        return Q(opportunity__in=Opportunity.objects.shared_with(user).values("pk")) | self._approving(user)

    def _approving(self, user) -> Q:
        return Q(pk__in=ApprovalStep.objects.filter(approver=user, request__kind="quote").values("request__target_id"))


def new_public_key() -> str:
    return secrets.token_urlsafe(24)


class Quote(models.Model):
    """A quote (报价单) for a deal. Its content lives in versions; `current_version` is the one in play."""

    opportunity = models.ForeignKey(
        "deals.Opportunity", verbose_name=_("deal"), on_delete=models.PROTECT, related_name="quotes"
    )
    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    current_version = models.ForeignKey(
        "QuoteVersion", verbose_name=_("current version"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    # The customer's link (/q/<key>/): unguessable, 192 random bits.
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    # Custom fields (自定义字段, core/customfields): values by key, cleaned by this app's services.
    custom = models.JSONField(_("custom fields"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    decided_at = models.DateTimeField(_("accepted or declined"), null=True, blank=True)
    decided_by_name = models.CharField(_("answered by"), max_length=100, blank=True)
    decided_by_phone = models.CharField(_("phone of who answered"), max_length=40, blank=True)
    decision_note = models.CharField(_("customer's note"), max_length=500, blank=True)
    # The current version's total incl. tax, kept by the database's triggers (quotes/current_total.py): never
    # written by Python, read by the review's covering indexes.
    current_total = models.DecimalField(_("total incl. tax"), **MONEY, null=True, blank=True, editable=False)
    # The deal's owner, kept the same way (quotes/deal_owner.py): a manager's line read from the review's indexes.
    deal_owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
                                   editable=False, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                   related_name="+")

    objects = QuoteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        indexes = [
            # The quote list, newest first, and a deal's quotes.
            models.Index(fields=["-created_at", "-id"], name="quote_created_idx"),
            models.Index(fields=["opportunity", "-created_at"], name="quote_opportunity_idx"),
            models.Index(fields=["status", "-created_at"], name="quote_status_idx"),
            # The review's quotes sent and decided in a period (insights.dashboard.quote_to_cash), covering: the
            # deal's owner (the line), the deal (its pipeline, source and fields) and the current version's total
            # (the amount), so no quote row, no deal and no version is read.
            models.Index(fields=["sent_at", "deal_owner", "opportunity", "current_total"],
                         name="quote_sent_owner_idx", condition=Q(sent_at__isnull=False)),
            models.Index(fields=["decided_at", "status", "deal_owner", "opportunity", "current_total"],
                         name="quote_decided_owner_idx", condition=Q(decided_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        return reverse("quotes:detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class QuoteVersion(models.Model):
    """One version of a quote's content. Frozen once sent: lines and totals never change after `sent_at`."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveSmallIntegerField(_("version"), default=1)
    prices_include_tax = models.BooleanField(_("prices include tax"), default=True)
    valid_until = models.DateField(_("valid until"))
    payment_terms = models.TextField(_("payment terms"), blank=True, max_length=2000)
    notes = models.TextField(_("terms and notes"), blank=True, max_length=5000)
    contact_name = models.CharField(_("attention of"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    # Totals, worked out by pricing.totals() whenever a line changes and frozen with the version.
    list_total = models.DecimalField(_("total at list price"), **MONEY, default=0)
    total_excl_tax = models.DecimalField(_("total excl. tax"), **MONEY, default=0)
    tax_total = models.DecimalField(_("tax"), **MONEY, default=0)
    total_incl_tax = models.DecimalField(_("total incl. tax"), **MONEY, default=0)
    cost_total = models.DecimalField(_("cost"), **MONEY, default=0)
    margin_amount = models.DecimalField(_("gross margin"), **MONEY, default=0)
    margin_pct = models.DecimalField(_("gross margin (%)"), max_digits=7, decimal_places=2, null=True, blank=True)
    discount_pct = models.DecimalField(_("discount off list (%)"), max_digits=7, decimal_places=2, default=0)
    max_line_discount_pct = models.DecimalField(_("largest line discount (%)"), max_digits=7, decimal_places=2,
                                                default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")

    class Meta:
        ordering = ["quote", "number"]
        verbose_name = _("quote version")
        verbose_name_plural = _("quote versions")
        constraints = [models.UniqueConstraint(fields=["quote", "number"], name="quote_version_unique")]

    def __str__(self):
        return f"{self.quote.number} v{self.number}"

    def get_absolute_url(self):
        return reverse("quotes:version", args=[self.quote_id, self.number])

    @property
    def is_frozen(self) -> bool:
        return self.sent_at is not None


class QuoteLine(models.Model):
    """A line of a version: a catalog product or free text. Amounts are worked out by pricing.line_amounts()."""

    version = models.ForeignKey(QuoteVersion, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(
        Product, verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT, related_name="quote_lines"
    )
    name = models.CharField(_("item"), max_length=200)
    description = models.CharField(_("description"), max_length=500, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, default=1)
    # In the version's basis (incl. or excl. tax); the product's list price converted, for the discount off list.
    list_price = models.DecimalField(_("list price"), **MONEY, null=True, blank=True)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    discount_pct = models.DecimalField(_("discount (%)"), **PERCENT, default=0)
    tax_rate = models.DecimalField(_("tax rate (%)"), **PERCENT, default=13)
    unit_cost = models.DecimalField(_("unit cost excl. tax"), **MONEY, null=True, blank=True)
    net_unit_price = models.DecimalField(_("net unit price"), **MONEY, default=0)
    amount_excl_tax = models.DecimalField(_("amount excl. tax"), **MONEY, default=0)
    tax_amount = models.DecimalField(_("tax"), **MONEY, default=0)
    amount_incl_tax = models.DecimalField(_("amount incl. tax"), **MONEY, default=0)
    cost_amount = models.DecimalField(_("cost"), **MONEY, null=True, blank=True)

    class Meta:
        ordering = ["version", "position", "id"]
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        indexes = [
            # Price history: the sent lines of one product, newest first.
            models.Index(fields=["product", "-id"], name="quoteline_product_idx", condition=Q(product__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quoteline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quoteline_price_not_negative"),
            models.CheckConstraint(condition=Q(discount_pct__gte=0) & Q(discount_pct__lte=100),
                                   name="quoteline_discount_percent"),
        ]

    def __str__(self):
        return f"{self.name} × {self.quantity}"


# ---------------------------------------------------------------------------------------------------
# Approvals (one engine for quotes, contracts and whatever needs a sign-off next: see approvals.py)


class ApprovalOperator(models.TextChoices):
    ABOVE = "gt", _("above")
    BELOW = "lt", _("below")


class ApprovalChain(models.TextChoices):
    MANAGERS = "managers", _("The owner's manager, then up the reporting line")
    APPROVERS = "approvers", _("Named approvers, in order")


class ApprovalRule(models.Model):
    """When a record of `kind` crosses `threshold` on `metric`, it needs the sign-off of `chain`."""

    kind = models.CharField(_("record type"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    metric = models.CharField(_("measure"), max_length=40)
    operator = models.CharField(_("when it is"), max_length=2, choices=ApprovalOperator.choices)
    threshold = models.DecimalField(_("threshold"), **MONEY)
    chain = models.CharField(_("approved by"), max_length=10, choices=ApprovalChain.choices,
                             default=ApprovalChain.MANAGERS)
    levels = models.PositiveSmallIntegerField(
        _("levels up the reporting line"), default=1,
        help_text=_("1: the owner's manager; 2: the manager, then the manager's manager (e.g. the director)."),
    )
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, through="ApprovalRuleApprover", blank=True,
                                       related_name="+", verbose_name=_("approvers"))
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["kind", "position", "id"]
        verbose_name = _("approval rule")
        verbose_name_plural = _("approval rules")
        constraints = [
            models.CheckConstraint(condition=Q(levels__gte=1) & Q(levels__lte=5), name="approval_rule_levels"),
        ]

    def __str__(self):
        return self.name


class ApprovalRuleApprover(models.Model):
    rule = models.ForeignKey(ApprovalRule, on_delete=models.CASCADE, related_name="approver_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["rule", "user"], name="approval_rule_approver_unique")]

    def __str__(self):
        return f"{self.rule_id}: {self.user}"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class StepStatus(models.TextChoices):
    WAITING = "waiting", _("Not yet")
    PENDING = "pending", _("Awaiting decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SKIPPED = "skipped", _("Not needed")


class ApprovalRequest(models.Model):
    """One round of approval for one record (a quote version, a contract ...), decided step by step."""

    kind = models.CharField(_("record type"), max_length=30)
    target_id = models.PositiveBigIntegerField()
    # What the approvers read in their inbox and notifications, kept as it was when submitted.
    title = models.CharField(_("subject"), max_length=300)
    url = models.CharField(max_length=300, blank=True)
    # The deal the record belongs to, for its timeline and for "approvals of my team's deals".
    opportunity = models.ForeignKey("deals.Opportunity", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="approval_requests")
    status = models.CharField(_("status"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    reasons = models.JSONField(_("why approval is needed"), default=list, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.PROTECT,
                                     related_name="+")
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    note = models.CharField(_("note"), max_length=500, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        indexes = [
            # A record's approvals, newest first.
            models.Index(fields=["kind", "target_id", "-submitted_at"], name="approval_target_idx"),
            # Requests waiting too long (the breakpoint radar), and a submitter's open requests.
            models.Index(fields=["status", "submitted_at"], name="approval_status_idx"),
            # The review's approvals decided in a period, by kind (insights.dashboard.quote_to_cash).
            models.Index(fields=["kind", "status", "decided_at"], name="approval_decided_idx"),
        ]
        constraints = [
            # One open round per record: a second submit while one is pending is a conflict, not a second chain.
            models.UniqueConstraint(fields=["kind", "target_id"], condition=Q(status="pending"),
                                    name="approval_one_pending_per_target"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        # The record it approves (a reminder links there; the decision is on the record and the approvals page).
        return self.url or reverse("quotes:approvals")

    @property
    def current_step(self):
        return next((step for step in self.steps.all() if step.status == StepStatus.PENDING), None)


class ApprovalStep(models.Model):
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    # No approver: nobody in the reporting line could decide, so any administrator may.
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approver"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="approval_steps")
    status = models.CharField(_("status"), max_length=10, choices=StepStatus.choices, default=StepStatus.WAITING)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "position", "id"]
        indexes = [
            # An approver's inbox: the steps waiting for them.
            models.Index(fields=["approver", "status"], name="approval_step_inbox_idx"),
        ]

    def __str__(self):
        return f"{self.request_id}#{self.position} {self.approver}"
