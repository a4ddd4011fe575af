"""Contracts (合同), their lines and signed documents, payment plans (回款计划), payments (回款), invoice
requests (开票申请), e-signature callbacks and the settings of the stage.

Money columns are DECIMAL(14, 2) yuan through core.money. Some values are kept on the rows that the
receivables page reads, so that page sums one narrow index instead of joining three tables at 200k
contracts: an instalment carries its contract's owner and customer, what is still outstanding, and
whether it counts as receivable right now. Only the services in this app write them, under the
contract's row lock.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.core.models import Role
from closeloop.core.visibility import VisibleQuerySet
from closeloop.deals.models import Opportunity
from closeloop.followup.models import FollowedUp
from closeloop.followup.visibility import involved
from closeloop.quotes.models import ApprovalStep

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2}


# ---------------------------------------------------------------------------------------------------
# Settings


class ContractSettings(models.Model):
    """One row (pk 1): numbering, reminder days and the e-signature service's shared secret."""

    number_pattern = models.CharField(
        _("contract number pattern"), max_length=40, default="HT-{YYYY}-{NNNN}",
        help_text=_("{YYYY} or {YY} the year, {MM} the month, {NNNN} the counter (as many N as digits). "
                    "The counter restarts each year (each month with {MM})."),
    )
    due_soon_days = models.PositiveSmallIntegerField(
        _("remind the owner this many days before an instalment is due"), default=7)
    overdue_grace_days = models.PositiveSmallIntegerField(
        _("escalate an overdue instalment to the manager and finance after (days)"), default=7)
    ending_soon_days = models.PositiveSmallIntegerField(
        _("remind the owner this many days before a contract ends"), default=30)
    # Shown masked; the e-signature service signs each callback with it (HMAC-SHA256).
    esign_secret = models.CharField(_("e-signature shared secret"), max_length=200, blank=True)
    esign_window_seconds = models.PositiveIntegerField(
        _("accept e-signature callbacks signed within (seconds)"), default=300,
        help_text=_("Older or future-dated callbacks are refused, so a captured one cannot be replayed later."),
    )

    class Meta:
        verbose_name = _("contract settings")
        verbose_name_plural = _("contract settings")

    def __str__(self):
        return str(_("Contract settings"))


# ---------------------------------------------------------------------------------------------------
# Contracts


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    SIGNED = "signed", _("Signed")
    ACTIVE = "active", _("In performance")
    COMPLETED = "completed", _("Completed")
    TERMINATED = "terminated", _("Terminated")


# Signed and in performance: money is owed on these contracts (the receivables).
RECEIVABLE_STATUSES = (ContractStatus.SIGNED, ContractStatus.ACTIVE)


class SignedVia(models.TextChoices):
    SCAN = "scan", _("Signed copy uploaded")
    ESIGN = "esign", _("Electronic signature")


class ContractQuerySet(VisibleQuerySet):
    def lock(self, pk) -> "Contract":
        """The contract row locked for the caller's transaction (every write to a contract, its plan, payments
        and invoices takes this lock first, so they run one after another)."""
        return self.select_for_update(of=("self",)).select_related("owner", "customer", "opportunity").get(pk=pk)

    # Finance reads every contract company-wide: they record the payments and issue the invoices.
    company_wide_roles = frozenset({Role.FINANCE})

    # Whoever sees the deal sees its contract: the deal's owner's line too, when the contract's owner is another.
    also_owner_fields = ("opportunity__owner",)

    def _visibility_filter(self, user) -> Q:
        # The owner's line, participants (协作人) and the receiver of an open hand-off, as on every record of the
        # family; whoever may see the deal (a contract follows its deal, as its quotes do, so a deal's
        # collaborator who may make the contract also sees it); an approver sees what they were asked to approve.
        return (super()._visibility_filter(user) | involved(user, Contract)
                | Q(opportunity__in=Opportunity.objects.visible_to(user).values("pk")) | self._approving(user))

    def _shared_filter(self, user) -> Q:
        # The same without the owners' terms: the deals seen other than through their owner.
        return (involved(user, Contract) | Q(opportunity__in=Opportunity.objects.shared_with(user).values("pk"))
                | self._approving(user))

    def _approving(self, user) -> Q:
        return Q(pk__in=ApprovalStep.objects.filter(approver=user, request__kind="contract").values("request__target_id"))


class Contract(FollowedUp, models.Model):
    """A contract with a customer for a deal, usually from the quote the customer accepted."""

    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(pgettext_lazy("contract", "title"), max_length=200)
    opportunity = models.ForeignKey("deals.Opportunity", verbose_name=_("deal"), on_delete=models.PROTECT,
                                    related_name="contracts")
    # The deal's customer, kept here for the customer's page and the receivables by customer.
    customer = models.ForeignKey("deals.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="contracts")
    quote = models.ForeignKey("quotes.Quote", verbose_name=_("quote"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="contracts")
    quote_version = models.ForeignKey("quotes.QuoteVersion", verbose_name=_("quote version"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="owned_contracts", db_index=False)  # served by contract_owner_idx
    status = models.CharField(_("status"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.DRAFT)
    party_a = models.CharField(_("party A (us)"), max_length=200, blank=True)
    party_b = models.CharField(_("party B (customer)"), max_length=200)
    party_b_contact = models.CharField(_("customer signatory"), max_length=100, blank=True)
    party_b_phone = models.CharField(_("signatory phone"), max_length=40, blank=True)
    amount = models.DecimalField(_("contract amount incl. tax (CNY)"), **MONEY)
    amount_excl_tax = models.DecimalField(_("amount excl. tax"), **MONEY, null=True, blank=True)
    tax_amount = models.DecimalField(_("tax"), **MONEY, null=True, blank=True)
    sign_date = models.DateField(_("sign date"), null=True, blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    payment_terms = models.TextField(_("payment terms"), blank=True, max_length=2000)
    notes = models.TextField(_("terms and notes"), blank=True, max_length=5000)
    # Kept by the payment and invoice services under this row's lock: the contract page and the lists read
    # invoiced vs paid vs due without summing every payment.
    paid_amount = models.DecimalField(_("paid"), **MONEY, default=0)
    invoiced_amount = models.DecimalField(_("invoiced"), **MONEY, default=0)
    signed_via = models.CharField(_("signed by"), max_length=10, choices=SignedVia.choices, blank=True)
    esign_flow_id = models.CharField(_("e-signature flow"), max_length=100, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)
    activated_at = models.DateTimeField(_("in performance since"), null=True, blank=True)
    # Set when the delivery is accepted (the service app); releases the "on acceptance" instalments.
    delivered_at = models.DateTimeField(_("delivery accepted"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    terminated_at = models.DateTimeField(_("terminated"), null=True, blank=True)
    termination_reason = models.CharField(_("why terminated"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    # Custom fields (自定义字段, core/customfields): values by key, cleaned by this app's services.
    custom = models.JSONField(_("custom fields"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # What the follow-up family reads on every record it serves (activities on a contract set them).
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)

    objects = ContractQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        indexes = [
            # The contract list, newest first; and filtered by status.
            models.Index(fields=["-created_at", "-id"], name="contract_created_idx"),
            models.Index(fields=["status", "-created_at"], name="contract_status_idx"),
            # A rep's and a manager's team's contracts (visibility seeks the owners).
            models.Index(fields=["owner", "-created_at"], name="contract_owner_idx"),
            # A customer's and a deal's contracts.
            models.Index(fields=["customer", "-created_at"], name="contract_customer_idx"),
            models.Index(fields=["opportunity", "-created_at"], name="contract_opportunity_idx"),
            # The ending-soon reminder and the start sweep read contracts in performance by date.
            models.Index(fields=["end_date"], name="contract_ending_idx", condition=Q(status__in=["signed", "active"])),
            models.Index(fields=["start_date"], name="contract_start_idx", condition=Q(status="signed")),
            # The review's contracts signed in a period, with the owner (the line) and the amount it sums.
            models.Index(fields=["signed_at", "owner", "amount"], name="contract_signed_idx",
                         condition=Q(signed_at__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="contract_amount_not_negative"),
            # Overpayment and over-invoicing are refused by the services; the database refuses them too.
            models.CheckConstraint(condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=models.F("amount")),
                                   name="contract_paid_within_amount"),
            models.CheckConstraint(condition=Q(invoiced_amount__gte=0) & Q(invoiced_amount__lte=models.F("amount")),
                                   name="contract_invoiced_within_amount"),
            models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(start_date__isnull=True)
                                   | Q(end_date__gte=models.F("start_date")), name="contract_ends_after_start"),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        return reverse("contracts:detail", args=[self.pk])

    @property
    def outstanding(self):
        return self.amount - self.paid_amount

    @property
    def is_fully_paid(self) -> bool:
        return self.paid_amount >= self.amount


class ContractLine(models.Model):
    """A line carried over from the accepted quote version, as it was accepted."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey("quotes.Product", verbose_name=_("product"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("item"), max_length=200)
    description = models.CharField(_("description"), max_length=500, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    discount_pct = models.DecimalField(_("discount (%)"), **PERCENT, default=0)
    tax_rate = models.DecimalField(_("tax rate (%)"), **PERCENT, default=13)
    amount_excl_tax = models.DecimalField(_("amount excl. tax"), **MONEY)
    tax_amount = models.DecimalField(_("tax"), **MONEY)
    amount_incl_tax = models.DecimalField(_("amount incl. tax"), **MONEY)

    class Meta:
        ordering = ["contract", "position", "id"]
        verbose_name = _("contract line")
        verbose_name_plural = _("contract lines")

    def __str__(self):
        return f"{self.name} × {self.quantity}"


class DocumentKind(models.TextChoices):
    SIGNED_SCAN = "signed_scan", _("Signed copy")
    ATTACHMENT = "attachment", _("Attachment")


def document_path(document, filename: str) -> str:
    # The stored name is ours (a random id and the checked type), never the uploader's file name.
    return f"contracts/{document.contract_id}/{filename}"


class ContractDocument(models.Model):
    """An uploaded file of a contract: the signed scan (PDF or image) or another attachment. Kept: a new
    upload adds a row, it never replaces one. Served only through the contract's visibility."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.SIGNED_SCAN)
    file = models.FileField(_("file"), upload_to=document_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("contract document")
        verbose_name_plural = _("contract documents")
        indexes = [models.Index(fields=["contract", "-uploaded_at"], name="contractdoc_contract_idx")]

    def __str__(self):
        return self.original_name


# ---------------------------------------------------------------------------------------------------
# Payment plans


class InstalmentCondition(models.TextChoices):
    ON_SIGNING = "on_signing", _("On signing")
    ON_ACCEPTANCE = "on_acceptance", _("On delivery acceptance")
    ON_DATE = "on_date", _("On a date")


class Instalment(models.Model):
    """One instalment of a contract's payment plan (回款计划): how much, when, on what condition.

    Its due date is known from the start for "on a date"; "on signing" gets it when the contract is signed
    and "on acceptance" when the delivery is accepted (each `days_after` the event).
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="instalments")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(_("instalment"), max_length=100)
    condition = models.CharField(_("condition"), max_length=20, choices=InstalmentCondition.choices,
                                 default=InstalmentCondition.ON_DATE)
    days_after = models.PositiveSmallIntegerField(_("days after the event"), default=0)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    # When typed as a share of the contract: the amount is worked out from it (and kept with it).
    percentage = models.DecimalField(_("share of the contract (%)"), **PERCENT, null=True, blank=True)
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    paid_amount = models.DecimalField(_("paid"), **MONEY, default=0)
    # amount - paid_amount, and whether it is owed now (the contract is signed or in performance and
    # something is outstanding): what the receivables page sums.
    outstanding = models.DecimalField(_("outstanding"), **MONEY)
    receivable = models.BooleanField(default=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey("deals.Customer", on_delete=models.PROTECT, related_name="+", db_index=False)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    paid_on = models.DateField(_("paid in full on"), null=True, blank=True)
    # The owner's task for this instalment (on their Today page), closed when it is paid.
    task = models.ForeignKey("followup.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["contract", "position", "id"]
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        indexes = [
            # Receivables: covering indexes over what is owed now. By rep (and a manager's team: owner IN
            # (...)), by customer, and by due date (the buckets, the drill-down and the reminder sweep).
            models.Index(fields=["owner", "due_date", "customer", "outstanding"], name="instalment_recv_owner_idx",
                         condition=Q(receivable=True)),
            models.Index(fields=["customer", "due_date", "owner", "outstanding"], name="instalment_recv_customer_idx",
                         condition=Q(receivable=True)),
            models.Index(fields=["due_date", "owner", "customer", "outstanding"], name="instalment_recv_due_idx",
                         condition=Q(receivable=True)),
            # The breakpoint radar's overdue instalments (contracts/radar.py), oldest due first, with the contract
            # its visibility reads and the flag its filter repeats, so rows it skips never touch the table.
            models.Index(fields=["due_date", "contract", "owner", "receivable"], name="instalment_radar_overdue_idx",
                         condition=Q(receivable=True)),
            # The review's instalments falling due in a period, paid or not, with the amounts it sums (covering), and
            # the owner (the contract's, kept here) a manager's line is checked against without reading the contract.
            models.Index(fields=["due_date", "owner", "contract", "amount", "paid_amount"],
                         name="instalment_due_owner_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=models.F("amount")),
                                   name="instalment_paid_within_amount"),
            models.CheckConstraint(condition=~Q(condition="on_date") | Q(due_date__isnull=False),
                                   name="instalment_dated_has_date"),
        ]

    def __str__(self):
        return f"{self.contract.number} · {self.title}"

    def get_absolute_url(self):
        return reverse("contracts:detail", args=[self.contract_id]) + f"#instalment-{self.pk}"

    @property
    def is_paid(self) -> bool:
        return self.paid_amount >= self.amount


# Summaries of the receivable instalments, kept by `receivable_summary` in the same transaction as every change
# to an instalment's derived values, so the receivables page reads a few thousand rows instead of summing
# every receivable instalment (600k at 200k contracts). An instalment without a due date is filed under
# NO_DUE_DATE (never overdue), since NULL keys never meet in a unique constraint.
class ReceivableDay(models.Model):
    """What one rep's contracts still owe, by due date: the age buckets and the by-rep table come from here."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    due_date = models.DateField()
    outstanding = models.DecimalField(**MONEY, default=0)
    instalments = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "due_date"], name="receivable_day_unique")]

    def __str__(self):
        return f"{self.owner_id} {self.due_date}: {self.outstanding}"


class ReceivableCustomer(models.Model):
    """What one customer still owes on one rep's contracts: the by-customer table's order comes from here."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey("deals.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    outstanding = models.DecimalField(**MONEY, default=0)
    instalments = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "customer"], name="receivable_customer_unique")]
        indexes = [
            # The by-customer table groups the rows by customer: one ordered pass over this covering index.
            models.Index(fields=["customer", "owner", "outstanding", "instalments"], name="receivable_customer_idx"),
        ]

    def __str__(self):
        return f"{self.owner_id} {self.customer_id}: {self.outstanding}"


# ---------------------------------------------------------------------------------------------------
# Payments and invoices


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", _("Bank transfer")
    ACCEPTANCE_BILL = "acceptance_bill", _("Bank acceptance bill")
    CHEQUE = "cheque", _("Cheque")
    ONLINE = "online", _("Online payment (WeChat Pay / Alipay)")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")


class Payment(models.Model):
    """Money received (回款) against a contract, split over one or more instalments. A wrong entry is voided
    (and says why), never edited or deleted."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments")
    received_on = models.DateField(_("received on"))
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.TRANSFER)
    reference = models.CharField(_("reference"), max_length=100, blank=True,
                                 help_text=_("The bank's transaction number or the bill's number."))
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    void_reason = models.CharField(_("why voided"), max_length=300, blank=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["contract", "-received_on"], name="payment_contract_idx"),
            # Finance's list of recent payments.
            models.Index(fields=["-received_on", "-id"], name="payment_received_idx"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self):
        return f"{self.contract.number} {self.received_on} {self.amount}"

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class PaymentAllocation(models.Model):
    """How much of a payment went to one instalment."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)

    class Meta:
        ordering = ["payment", "instalment__position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "instalment"], name="allocation_once_per_instalment"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self):
        return f"{self.payment_id} → {self.instalment_id}: {self.amount}"


class InvoiceType(models.TextChoices):
    GENERAL = "general", _("General VAT invoice (普票)")
    SPECIAL = "special", _("Special VAT invoice (专票)")


class InvoiceStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for finance")
    ISSUED = "issued", _("Issued")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Withdrawn")


class InvoiceRequest(models.Model):
    """A rep asks finance to issue an invoice (开票申请); finance issues it and records its number and type."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="invoice_requests")
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    invoice_type = models.CharField(_("invoice type"), max_length=10, choices=InvoiceType.choices,
                                    default=InvoiceType.SPECIAL)
    buyer_name = models.CharField(_("buyer (invoice title)"), max_length=200)
    buyer_tax_id = models.CharField(_("buyer's taxpayer ID"), max_length=30, blank=True)
    buyer_details = models.CharField(_("buyer's address, phone, bank and account"), max_length=500, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=InvoiceStatus.choices,
                              default=InvoiceStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    invoice_number = models.CharField(_("invoice number"), max_length=50, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(_("why rejected"), max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("invoice request")
        verbose_name_plural = _("invoice requests")
        indexes = [
            # Finance's queue (waiting first, oldest first) and a contract's requests.
            models.Index(fields=["status", "requested_at"], name="invoice_status_idx"),
            models.Index(fields=["contract", "-requested_at"], name="invoice_contract_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            # One invoice number is one invoice.
            models.UniqueConstraint(fields=["invoice_type", "invoice_number"], condition=~Q(invoice_number=""),
                                    name="invoice_number_unique"),
        ]

    def __str__(self):
        return f"{self.contract.number} {self.get_invoice_type_display()} {self.amount}"


# ---------------------------------------------------------------------------------------------------
# E-signature callbacks


class EsignEvent(models.Model):
    """Every authenticated callback from the e-signature service, once: the digest of its timestamp and body
    is unique, so a resent or replayed callback finds its first delivery and changes nothing."""

    digest = models.CharField(max_length=64, unique=True)
    event = models.CharField(_("event"), max_length=50)
    flow_id = models.CharField(_("e-signature flow"), max_length=100, blank=True)
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="esign_events")
    outcome = models.CharField(_("outcome"), max_length=20)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["contract", "-received_at"], name="esign_contract_idx")]

    def __str__(self):
        return f"{self.event} {self.flow_id}"
