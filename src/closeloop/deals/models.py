"""Customers, contacts, pipelines, opportunities and their stage history."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce, Now
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.core.models import Role
from closeloop.core.visibility import VisibleQuerySet, team_owner_ids
from closeloop.followup.models import FollowedUp
from closeloop.followup.visibility import involved, participating

# ---------------------------------------------------------------------------------------------------
# Customers and contacts


class CustomerQuerySet(VisibleQuerySet):
    def _visibility_filter(self, user) -> Q:
        return _owned_customers(user) | self._beyond_owner(user)

    def _beyond_owner(self, user) -> Q:
        return (
            involved(user, Customer)
            # Whoever works on one of the customer's deals needs to see whom the deal is for.
            | Q(pk__in=Opportunity.objects.filter(pk__in=participating(user, Opportunity)).values("customer_id"))
            | Q(pk__in=Opportunity.objects.filter(owner=user).values("customer_id"))
        )

    def seen_through(self, user, path: str) -> Q:
        """Records of another model whose customer (at `path`) `user` sees, for that model's visibility: the same
        customers as `visible_to`, with the owners' terms asked of each record's own customer and only the few
        customers seen otherwise as a subquery. A manager's team owns most customers: as one `customer IN (visible
        customers)` list, every query would first read tens of thousands of customer ids.

        The owners' terms are an EXISTS on the customer's primary key, not a term on a joined customer: PostgreSQL
        put such a term in the join's filter and joined the open tickets to every customer (a sales director's open
        list: 22-26 ms to execute at 100k tickets and 5,000 customers, growing with the customers); as EXISTS it
        walks the list's index, looks up each ticket's customer, and stops at the page's end (3-7 ms)."""
        if self.sees_all(user):
            return Q(**{f"{path}__isnull": False})
        owned = self.model._base_manager.filter(_owned_customers(user), pk=OuterRef(path))
        return Q(Exists(owned)) | self.seen_beyond_owner(user, path)

    def seen_beyond_owner(self, user, path: str) -> Q:
        """The part of `seen_through` that is not the customer's owner: the few customers `user` sees otherwise
        (collaborations, their deals' customers), as a subquery. For a model that counts the customer's owner as
        one of its owners (`also_owner_fields`), this is what the viewer sees beyond their owners."""
        return Q(**{f"{path}__in": self.model._base_manager.filter(self._beyond_owner(user)).values("pk")})

    def pooled(self):
        return self.filter(owner__isnull=True)


def _owned_customers(user, owner: str = "owner") -> Q:
    # A manager's team includes the manager: one `owner IN (...)` list instead of two owner terms.
    if user.role == Role.SALES_MANAGER:
        return Q(**{f"{owner}__in": team_owner_ids(user)})
    return Q(**{owner: user})


class Customer(FollowedUp, models.Model):
    """A company we sell to (客户). No owner means it sits in the public pool (公海)."""

    name = models.CharField(_("company name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    region = models.CharField(_("province/region"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    company_size = models.CharField(_("company size"), max_length=30, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="owned_customers",
    )
    pooled_at = models.DateTimeField(_("returned to pool"), null=True, blank=True)
    # When the current owner got the customer (create, claim, transfer): the pool sweep's clock starts
    # here, so a customer just claimed is not returned for its previous owner's silence.
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    # Written by the services from `leads.normalize`; duplicate checks read it.
    company_key = models.CharField(max_length=200, blank=True, editable=False)
    # Values of the custom fields an administrator added (core/customfields), by key, in their stored forms;
    # null until one is set. Nullable without a default so that adding it is an ALTER TABLE on both databases
    # (SQLite would copy the whole table, and drop its triggers, for a NOT NULL column).
    custom = models.JSONField(_("custom fields"), null=True, blank=True)

    # The public pool's ledger rows of this customer (claims, returns, warnings): the leads' pool ledger.
    pool_events = GenericRelation("leads.PoolEvent", content_type_field="record_type", object_id_field="record_id",
                                  related_query_name="customer")

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="customer_created_idx"),
            # The API's sync: a keyset over (updated_at, id) (core/pagination.py).
            models.Index(fields=["updated_at", "id"], name="customer_sync_idx"),
            models.Index(fields=["owner", "-created_at"], name="customer_owner_idx"),
            # A customer's owner by its id, without reading the customer's row: the tickets and surveys of a line
            # ("for a customer the line owns", insights.dashboard.tickets_in; their visibility's EXISTS) look up
            # each row's customer, tens of thousands over a quarter at 1M tickets.
            models.Index(fields=["id", "owner"], name="customer_id_owner_idx"),
            # Duplicate lookups on create and on lead conversion.
            models.Index(fields=["company_key"], name="customer_company_key_idx", condition=~Q(company_key="")),
            # The reminder sweep: records whose next follow-up is due.
            models.Index(fields=["next_follow_up_at"], name="customer_follow_up_idx",
                         condition=Q(next_follow_up_at__isnull=False)),
        ]
        constraints = [
            # One customer per credit code: a second one is a duplicate, not a new company.
            models.UniqueConstraint(fields=["credit_code"], condition=~Q(credit_code=""), name="customer_credit_code_unique"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("deals:customer_detail", args=[self.pk])

    @property
    def pooled(self) -> bool:
        return self.owner_id is None


class ContactQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer__in=Customer.objects.visible_to(user).values("pk"))


class Contact(models.Model):
    """A person at a customer (联系人)."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    landline = models.CharField(_("landline"), max_length=40, blank=True)
    email = models.CharField(_("email"), max_length=200, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    # Values of the custom fields an administrator added (core/customfields), by key, in their stored forms;
    # null until one is set. Nullable without a default so that adding it is an ALTER TABLE on both databases
    # (SQLite would copy the whole table, and drop its triggers, for a NOT NULL column).
    custom = models.JSONField(_("custom fields"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # What the API's contact lists sync on (core/pagination.py). A database default too, so rows written by code
    # that predates the column (a migration's historical Contact) stay valid.
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())
    mobile_key = models.CharField(max_length=20, blank=True, editable=False)
    landline_key = models.CharField(max_length=24, blank=True, editable=False)
    email_key = models.CharField(max_length=200, blank=True, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-is_primary", "name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["mobile_key"], name="contact_mobile_key_idx", condition=~Q(mobile_key="")),
            models.Index(fields=["email_key"], name="contact_email_key_idx", condition=~Q(email_key="")),
        ]

    def __str__(self):
        return f"{self.name} {self.title}".strip()


# ---------------------------------------------------------------------------------------------------
# Pipelines


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    active = models.BooleanField(_("active"), default=True)
    # An open deal always has a next step: the follow-up form proposes one this many days ahead.
    follow_up_days = models.PositiveSmallIntegerField(
        _("next follow-up after (days)"), default=7,
        help_text=_("When a follow-up is logged on a deal, the next one is proposed this many days later."),
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self):
        return self.name

    @classmethod
    def default(cls):
        return cls.objects.filter(active=True).order_by("-is_default", "position", "id").first()


# Fields an admin may require before a deal enters a stage (stage gates).
GATE_FIELDS = {
    "amount": _("amount"),
    "expected_close_date": _("expected close date"),
    "budget": _("budget"),
    "authority": _("decision maker"),
    "need": _("need"),
    "timeline": _("timeline"),
    "next_step": _("next step"),
    "next_follow_up_at": _("next follow-up"),
    "contacts": _("contacts"),
}
# A gate may also require a deal's custom field (自定义字段), named as its form field and its errors are:
# `custom.<key>`.
CUSTOM_GATE_PREFIX = "custom."


def gate_choices() -> list[tuple[str, str]]:
    """What a stage gate may require: the built-in fields, then the deals' custom fields not hidden."""
    from closeloop.core.customfields import registry

    return [*((name, str(label)) for name, label in GATE_FIELDS.items()),
            *((CUSTOM_GATE_PREFIX + field.key, field.label) for field in registry.definitions("deals.Opportunity"))]


def gate_custom_field(name: str):
    """The custom field a gate's `custom.<key>` names, if it is one and still shown (a hidden field is no longer
    filled anywhere, so it no longer holds deals back); None otherwise."""
    if not name.startswith(CUSTOM_GATE_PREFIX):
        return None
    from closeloop.core.customfields import registry

    field = registry.definition("deals.Opportunity", name[len(CUSTOM_GATE_PREFIX):])
    return None if field is None or field.hidden else field


def gate_label(name: str) -> str:
    """A gate field's label as people read it: a custom field's own label."""
    if name.startswith(CUSTOM_GATE_PREFIX):
        field = gate_custom_field(name)
        return field.label if field is not None else name[len(CUSTOM_GATE_PREFIX):]
    return str(GATE_FIELDS.get(name, name))


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=50)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=0)
    required_fields = models.JSONField(_("required before entering"), default=list, blank=True)
    stale_after_days = models.PositiveSmallIntegerField(_("stale after (days)"), null=True, blank=True)
    is_won = models.BooleanField(_("won stage"), default=False)
    is_lost = models.BooleanField(_("lost stage"), default=False)

    class Meta:
        ordering = ["pipeline", "position", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.CheckConstraint(condition=~(Q(is_won=True) & Q(is_lost=True)), name="stage_not_won_and_lost"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_percent"),
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique_in_pipeline"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost

    def required_field_labels(self):
        return [gate_label(name) for name in self.required_fields
                if not name.startswith(CUSTOM_GATE_PREFIX) or gate_custom_field(name) is not None]


class ReasonCategory(models.Model):
    """A category of why deals end as they do: tables, so the review can count them and admins add their own."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class LostReason(ReasonCategory):
    class Meta(ReasonCategory.Meta):
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")


class WinReason(ReasonCategory):
    class Meta(ReasonCategory.Meta):
        verbose_name = _("win reason")
        verbose_name_plural = _("win reasons")


# ---------------------------------------------------------------------------------------------------
# Opportunities


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class OpportunityQuerySet(VisibleQuerySet):
    def _visibility_filter(self, user) -> Q:
        # The owner's line (a manager's team, the manager included, as one `owner IN (...)` list) or taking part.
        return super()._visibility_filter(user) | self._shared_filter(user)

    def _shared_filter(self, user) -> Q:
        # Participants, and the receiver of an open hand-off (who must see the deal to accept or decline it).
        return involved(user, Opportunity)


class Opportunity(FollowedUp, models.Model):
    """A deal (商机) moving through the stages of a pipeline."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="opportunities")
    contacts = models.ManyToManyField(Contact, verbose_name=_("contacts"), blank=True, related_name="opportunities")
    lead = models.ForeignKey(
        "leads.Lead", verbose_name=_("converted from lead"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="opportunities",
    )
    name = models.CharField(_("name"), max_length=200)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities")
    status = models.CharField(_("status"), max_length=4, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=0)
    # BANT
    budget = models.DecimalField(_("budget (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True)
    authority = models.CharField(_("decision maker"), max_length=200, blank=True)
    need = models.TextField(_("need"), blank=True, max_length=5000)
    timeline = models.CharField(_("timeline"), max_length=100, blank=True)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_opportunities"
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    lost_reason = models.ForeignKey(
        LostReason, verbose_name=_("lost reason"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lost_note = models.TextField(_("lost note"), blank=True, max_length=5000)
    win_reason = models.ForeignKey(
        WinReason, verbose_name=_("win reason"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    win_note = models.TextField(_("win note"), blank=True, max_length=5000)
    # Values of the custom fields an administrator added (core/customfields), by key, in their stored forms;
    # null until one is set. Nullable without a default so that adding it is an ALTER TABLE on both databases
    # (SQLite would copy the whole table, and drop its triggers, for a NOT NULL column).
    custom = models.JSONField(_("custom fields"), null=True, blank=True)
    won_at = models.DateTimeField(_("won"), null=True, blank=True)
    lost_at = models.DateTimeField(_("lost"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # When the deal's lead came in and from which source, kept by the database's triggers (deals/lead_origin.py)
    # whenever a deal is written or its lead's creation time or source changes, whatever the path: the review's
    # "won deals of the period's leads" reads them from one index (opp_won_lead_idx) instead of looking for a deal
    # of each of the period's leads (90k a quarter at 1M). Only queries read them: an instance holds what was
    # loaded, and a save sets them again from the lead.
    lead_created_at = models.DateTimeField(_("lead created"), null=True, blank=True, editable=False)
    lead_source = models.ForeignKey("leads.LeadSource", verbose_name=_("lead source"), null=True, blank=True,
                                    editable=False, on_delete=models.DO_NOTHING, db_constraint=False,
                                    db_index=False, related_name="+")

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            # The list: newest activity first, optionally by status or owner.
            models.Index(fields=["-updated_at", "-id"], name="opp_updated_idx"),
            models.Index(fields=["status", "-updated_at"], name="opp_status_updated_idx"),
            models.Index(fields=["owner", "status", "-updated_at"], name="opp_owner_status_idx"),
            # The dashboard's weighted forecast: a line's open deals by close date, read from the index alone.
            models.Index(fields=["status", "owner", "expected_close_date", "stage", "amount"], name="opp_forecast_idx"),
            # The same in close-date order, for a line of many owners (a director, the whole company): the grouped
            # rows come in the order of their groups, so the forecast sorts no 100k rows (a rep's few deals are
            # read from opp_forecast_idx, already in close-date order per owner).
            models.Index(fields=["status", "expected_close_date", "owner", "stage", "amount"],
                         name="opp_forecast_day_idx"),
            # The kanban: the top cards of one stage, and its per-stage totals.
            models.Index(fields=["stage", "-updated_at", "-id"], name="opp_stage_updated_idx"),
            models.Index(fields=["customer", "-updated_at"], name="opp_customer_idx"),
            # Sorting the list by size, closing date or next follow-up; the follow-up one also serves the
            # reminder sweep (next_follow_up_at <= now).
            models.Index(fields=["-amount", "-id"], name="opp_amount_idx"),
            models.Index(fields=["expected_close_date", "id"], name="opp_close_date_idx"),
            models.Index(fields=["next_follow_up_at", "id"], name="opp_follow_up_idx"),
            # The review's deals created in a period (its funnel's cohort), with the columns its line and
            # pipeline filters read.
            models.Index(fields=["created_at", "owner", "pipeline"], name="opp_created_idx"),
            # The review's deals won or lost in a period (targets, forecast accuracy, lost reasons), by owner; the
            # won ones with the amount those sum, the lost ones with the reason, amount and pipeline the lost reasons
            # group, sum and filter on (both covering: the quarter's 6k lost deals read from the table were half of
            # the lost reasons' query).
            models.Index(fields=["status", "won_at", "owner", "amount"], name="opp_won_amount_idx"),
            models.Index(fields=["status", "lost_at", "owner", "lost_reason", "amount", "pipeline"],
                         name="opp_lost_reason_idx"),
            # The review's won deals by their lead's creation day and source (insights.dashboard.lead_sources).
            models.Index(fields=["status", "lead_created_at", "owner", "lead_source"], name="opp_won_lead_idx"),
            # Covers the money totals (list footer, kanban column sums): summing from this index reads a
            # fraction of the table's pages, and grouping by stage walks it in order.
            models.Index(fields=["pipeline", "stage", "status", "owner", "amount", "probability"], name="opp_money_idx"),
            models.Index(fields=["stage", "stage_entered_at"], name="opp_stage_entered_idx", condition=Q(status="open")),
            # The breakpoint radar (deals/radar.py): open deals without a next step by when that began, and open
            # deals by next follow-up, each with the owner and status its filters read (see the lead's).
            models.Index(Coalesce("last_activity_at", "stage_entered_at"), F("owner"), F("status"),
                         name="opp_radar_no_next_step_idx", condition=Q(status="open", next_follow_up_at__isnull=True)),
            models.Index(fields=["next_follow_up_at", "owner", "status"], name="opp_radar_follow_up_idx",
                         condition=Q(status="open")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0), name="opp_amount_not_negative"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="opp_probability_percent"),
            models.CheckConstraint(
                condition=~Q(status="lost") | Q(lost_reason__isnull=False), name="opp_lost_has_reason"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("deals:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == OpportunityStatus.OPEN


class StageHistory(models.Model):
    """Every entry into and exit from a stage, for cycle time per stage and hand-off time."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_history")
    # An admin may delete a stage once no deal is in it; its history stays, under the name kept below.
    stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stage_name = models.CharField(max_length=50, blank=True)
    entered_at = models.DateTimeField(default=timezone.now)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    exited_at = models.DateTimeField(null=True, blank=True)
    exited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["entered_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "entered_at"], name="stagehistory_opp_idx"),
            # Cycle time per stage over a period.
            models.Index(fields=["stage", "entered_at"], name="stagehistory_stage_idx"),
        ]
        constraints = [
            # At most one open interval per deal: the stage it is in now.
            models.UniqueConstraint(fields=["opportunity"], condition=Q(exited_at__isnull=True),
                                    name="stagehistory_one_open_interval"),
        ]

    def __str__(self):
        return f"{self.opportunity_id} {self.stage_name}"

    @property
    def duration(self):
        return (self.exited_at or timezone.now()) - self.entered_at
