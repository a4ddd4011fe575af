"""Leads (线索) and the configuration of the doors they come in through."""

import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.core.models import Channel, Role
from closeloop.core.visibility import VisibleQuerySet
from closeloop.followup.models import FollowedUp
from closeloop.followup.visibility import involved


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    CONTACTING = "contacting", _("Contacting")
    QUALIFIED = "qualified", _("Qualified")
    CONVERTED = "converted", _("Converted")
    NURTURE = "nurture", _("Nurture")
    DISQUALIFIED = "disqualified", _("Disqualified")
    MERGED = "merged", _("Merged")


# Statuses only an action sets: conversion (which makes the customer and deal), disqualifying (with its
# reason) and merging. Editing a lead never sets them.
ACTION_STATUSES = (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED, LeadStatus.MERGED)

# The most leads one bulk action of the lead list (assign, return to the pool) takes in one request: a page holds 25.
LIST_BULK_MAX = 100


class DisqualifyReason(models.TextChoices):
    """Why a lead is not worth pursuing: fixed categories, so the review can count them."""

    UNREACHABLE = "unreachable", _("Cannot be reached (wrong or dead number)")
    NO_NEED = "no_need", _("No need for what we sell")
    NO_BUDGET = "no_budget", _("No budget")
    NOT_A_BUYER = "not_a_buyer", _("Not a buyer (a competitor, supplier or job seeker)")
    SPAM = "spam", _("Spam or a test entry")
    OTHER = "other", _("Other (say why)")


class LeadSource(models.Model):
    """A source channel (展会, 官网, 朋友介绍 ...): a table, so an admin can add their own."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    # Marketing staff see the leads of the channels they run (`user.source_channels`). Declared here, on the
    # leads side, since core knows no stage; the table keeps the name core gave it when the field was User's.
    marketers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("marketers"), blank=True, related_name="source_channels",
        db_table="core_user_source_channels",
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("lead source")
        verbose_name_plural = _("lead sources")

    def __str__(self):
        return self.name


def new_form_key() -> str:
    return secrets.token_urlsafe(12)


class CampaignQuerySet(VisibleQuerySet):
    def _visibility_filter(self, user) -> Q:
        # Marketing runs the campaigns of its own source channels; sales roles manage none.
        if user.role == Role.MARKETING:
            return Q(source__in=user.source_channels.values("pk"))
        return Q(pk__in=[])


class Campaign(models.Model):
    """A marketing campaign; each has its own public web form key."""

    name = models.CharField(_("name"), max_length=100)
    source = models.ForeignKey(LeadSource, verbose_name=_("source"), on_delete=models.PROTECT, related_name="campaigns")
    form_key = models.CharField(_("form key"), max_length=32, unique=True, default=new_form_key)
    active = models.BooleanField(_("active"), default=True)
    thank_you_message = models.CharField(_("thank-you message"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # For the API's sync (core/pagination.py); the database's default stamps rows written before the column.
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self):
        return self.name


# Fields an admin may make required per channel; the form and API validate against this list.
CONFIGURABLE_FIELDS = [
    "company_name", "contact_name", "title", "mobile", "landline", "email", "wechat", "city", "region",
    "industry", "company_size", "need", "budget", "timeline", "product_interest",
]


class DuplicateAction(models.TextChoices):
    """What intake does with a submission that names a person already on record."""

    ATTACH = "attach", _("Attach as a new touch on the existing lead")
    CREATE_FLAGGED = "create_flagged", _("Create the lead, flagged as a possible duplicate")
    REFUSE = "refuse", _("Refuse it, naming the owner")


class ChannelPolicy(models.Model):
    """Per-channel intake rules an admin edits in the app."""

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, unique=True)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    require_contact_method = models.BooleanField(
        _("require a mobile, landline, email or WeChat"), default=True
    )
    duplicate_action = models.CharField(
        _("when a submission duplicates an existing lead"), max_length=15, choices=DuplicateAction.choices,
        default=DuplicateAction.ATTACH,
    )

    class Meta:
        verbose_name = _("channel policy")
        verbose_name_plural = _("channel policies")

    def __str__(self):
        return self.get_channel_display()


class LeadQuerySet(VisibleQuerySet):
    def _visibility_filter(self, user) -> Q:
        return super()._visibility_filter(user) | self._shared_filter(user)

    def _shared_filter(self, user) -> Q:
        # Collaborators and hand-off receivers; marketing also sees what it entered and its channels' leads.
        shared = involved(user, Lead)
        if user.role == Role.MARKETING:
            shared |= Q(created_by=user) | Q(source__in=user.source_channels.values("pk"))
        return shared


# The leads' owner index, by the name queries hint it with (Lead.Meta.indexes).
LEAD_OWNER_INDEX = "lead_owner_idx"


class Lead(FollowedUp, models.Model):
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    landline = models.CharField(_("landline"), max_length=40, blank=True)
    email = models.EmailField(_("email"), max_length=200, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=100, blank=True)
    region = models.CharField(_("province/region"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    company_size = models.CharField(_("company size"), max_length=30, blank=True)
    need = models.TextField(_("need"), blank=True, max_length=5000)
    budget = models.DecimalField(_("budget (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True)
    timeline = models.CharField(_("expected timeline"), max_length=50, blank=True)
    product_interest = models.CharField(_("product interest"), max_length=100, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)

    # The foreign keys' indexes are declared in Meta (see there): partial, or served by a wider one.
    source = models.ForeignKey(LeadSource, verbose_name=_("source"), on_delete=models.PROTECT, related_name="leads",
                               db_index=False)
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), null=True, blank=True, on_delete=models.PROTECT, related_name="leads",
        db_index=False,
    )
    status = models.CharField(_("status"), max_length=15, choices=LeadStatus.choices, default=LeadStatus.NEW)
    # Set by lead_disqualify with the status (leads disqualified before reasons were asked got "other").
    disqualify_reason = models.CharField(_("why disqualified"), max_length=20, choices=DisqualifyReason.choices,
                                         blank=True)
    disqualify_note = models.CharField(_("disqualification note"), max_length=500, blank=True)
    # No owner means unassigned or in the public pool; owners are never silently nulled (PROTECT).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="owned_leads", db_index=False,  # indexed by name in Meta (LEAD_OWNER_INDEX)
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_index=False,
    )
    created_via = models.CharField(_("created via"), max_length=10, choices=Channel.choices)
    # The spreadsheet a lead came in with: the import result links to where each of its rows went.
    import_job = models.ForeignKey(
        "ImportJob", verbose_name=_("import"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    # Set when intake created this lead although it looks like an existing one (policy "create flagged",
    # or the same company under another contact); the duplicates page lists these for review.
    duplicate_of = models.ForeignKey(
        "self", verbose_name=_("possible duplicate of"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_index=False,
    )

    # Normalized keys written by the intake service; duplicate checks and search read these.
    mobile_key = models.CharField(max_length=20, blank=True, editable=False)
    landline_key = models.CharField(max_length=24, blank=True, editable=False)
    email_key = models.CharField(max_length=200, blank=True, editable=False)
    company_key = models.CharField(max_length=200, blank=True, editable=False)
    # Blocking keys for fuzzy company matching (see leads/matching.py): the brand, and its first and
    # last two characters so a one-character typo in a brand still finds its block.
    brand_key = models.CharField(max_length=200, blank=True, editable=False)
    brand_head = models.CharField(max_length=2, blank=True, editable=False)
    brand_tail = models.CharField(max_length=2, blank=True, editable=False)
    # What the duplicate engine compares beyond the keys above (company name parts, the person's name, the
    # extension), versioned; "" or an older version is computed when read (see dedup.match_key). Not indexed:
    # it is read with candidates the keys found, never searched.
    match_key = models.TextField(blank=True, default="", editable=False)

    score = models.SmallIntegerField(_("score"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=1, blank=True)
    # Why the lead has its score: [{"rule": label, "points": n, "reason": text}], written by scoring.
    score_details = models.JSONField(_("score details"), default=list, blank=True, editable=False)
    # In the public pool (公海): no owner, claimable by reps; contact details masked until claimed.
    in_pool = models.BooleanField(_("in the pool"), default=False)
    pooled_at = models.DateTimeField(_("in the pool since"), null=True, blank=True)
    # Values of the custom fields an administrator added (core/customfields), by key, in their stored forms;
    # null until one is set. Nullable without a default so that adding it is an ALTER TABLE on both databases
    # (SQLite would copy the whole table, and drop its triggers, for a NOT NULL column).
    custom = models.JSONField(_("custom fields"), null=True, blank=True)

    # The public pool's ledger rows of this lead (claims, returns, warnings).
    pool_events = GenericRelation("leads.PoolEvent", content_type_field="record_type", object_id_field="record_id",
                                  related_query_name="lead")

    objects = LeadQuerySet.as_manager()
    # Rewritten with the fields it is computed from, whose changes the audit entry already shows.
    unaudited_fields = frozenset({"match_key"})

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            # The default list: newest first, optionally by status.
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            # The API's sync: a keyset over (updated_at, id) (core/pagination.py); without it each page sorted every
            # visible lead (4–6 s at 1M, BENCHMARKS.md).
            models.Index(fields=["updated_at", "id"], name="lead_sync_idx"),
            models.Index(fields=["status", "-created_at"], name="lead_status_created_idx"),
            # A rep's or a team's list, and open-load counts for assignment.
            models.Index(fields=["owner", "status", "-created_at"], name="lead_owner_status_idx"),
            # The owner alone, which SQLite reads as (owner, rowid): "does this rep still own lead n" is one probe
            # of it (insights.dashboard.OwnedBy names it in an INDEXED BY hint, so its name is fixed here).
            models.Index(fields=["owner"], name=LEAD_OWNER_INDEX),
            # A source's leads newest first; with the owner and status, the review's leads by source over a
            # period (insights.dashboard.lead_sources) are read from the index alone: a quarter's 90k leads' rows,
            # read from the table, were a fifth of the quarter's dashboard at 1M leads.
            models.Index(fields=["source", "-created_at", "owner", "status"], name="lead_source_review_idx"),
            # Duplicate lookups by exact normalized key.
            models.Index(fields=["mobile_key"], name="lead_mobile_key_idx", condition=~Q(mobile_key="")),
            models.Index(fields=["landline_key"], name="lead_landline_key_idx", condition=~Q(landline_key="")),
            models.Index(fields=["email_key"], name="lead_email_key_idx", condition=~Q(email_key="")),
            models.Index(fields=["company_key"], name="lead_company_key_idx", condition=~Q(company_key="")),
            models.Index(fields=["credit_code"], name="lead_credit_code_idx", condition=~Q(credit_code="")),
            # Duplicate candidates by brand block.
            models.Index(fields=["brand_key"], name="lead_brand_key_idx", condition=~Q(brand_key="")),
            models.Index(fields=["brand_head"], name="lead_brand_head_idx", condition=~Q(brand_head="")),
            models.Index(fields=["brand_tail"], name="lead_brand_tail_idx", condition=~Q(brand_tail="")),
            # The pool page: pool leads, most recently returned first.
            models.Index(fields=["-pooled_at", "-id"], name="lead_pool_idx", condition=Q(in_pool=True)),
            # The breakpoint radar (leads/radar.py): one partial index per kind over the leads broken that way,
            # ordered by when the break began (its list walks it in order), then the columns its filters read
            # (status, owner), so a page and the counts sweep never read the table for rows they skip. Status is
            # a column, not part of the condition: SQLite uses a partial index only when the query repeats its
            # condition, and it cannot match an IN list of bound parameters.
            # The owner too, though always empty: the viewer's owner terms read it, and from the index a manager's
            # list skips the unowned leads they may not see without reading the table.
            models.Index(fields=["created_at", "status", "in_pool", "owner"], name="lead_radar_unowned_idx",
                         condition=Q(owner__isnull=True, in_pool=False)),
            models.Index(Coalesce("last_activity_at", "assigned_at", "created_at"), F("status"), F("owner"),
                         name="lead_radar_no_next_step_idx", condition=Q(next_follow_up_at__isnull=True)),
            # First contact (no activity yet) and follow-up overdue, apart: the first is rare, and a list of it
            # walking the other's index would read every overdue lead to find none.
            models.Index(fields=["next_follow_up_at", "status", "owner"], name="lead_radar_first_contact_idx",
                         condition=Q(next_follow_up_at__isnull=False, last_activity_at__isnull=True)),
            models.Index(fields=["next_follow_up_at", "status", "owner"], name="lead_radar_follow_up_at_idx",
                         condition=Q(next_follow_up_at__isnull=False, last_activity_at__isnull=False)),
            # Foreign keys every query reads by value (`= x`, `IN (…)`, the deletion collector's checks): indexed only
            # where set, so a lead that has none (an API or form intake: no import, no merge, usually no campaign)
            # writes no entry; every index is a B-tree insert per new lead (BENCHMARKS.md, intake). The source has no
            # index of its own: lead_source_review_idx starts with it. The owner keeps a full index
            # (lead_owner_idx, above): the first-contact SLA reads it as (owner, id) by name.
            models.Index(fields=["campaign"], name="lead_campaign_idx", condition=Q(campaign__isnull=False)),
            models.Index(fields=["created_by"], name="lead_created_by_idx", condition=Q(created_by__isnull=False)),
            models.Index(fields=["import_job"], name="lead_import_job_idx", condition=Q(import_job__isnull=False)),
            models.Index(fields=["merged_into"], name="lead_merged_into_idx", condition=Q(merged_into__isnull=False)),
            models.Index(fields=["duplicate_of"], name="lead_duplicate_of_idx", condition=Q(duplicate_of__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0), name="lead_budget_not_negative"
            ),
            # Only lead_disqualify disqualifies, always with a reason category the review counts: a write around
            # it (a script, a bulk load) is refused by the database too.
            models.CheckConstraint(
                condition=~Q(status=LeadStatus.DISQUALIFIED) | ~Q(disqualify_reason=""),
                name="lead_disqualified_has_reason",
            ),
        ]

    def __str__(self):
        parts = [p for p in (self.company_name, self.contact_name) if p]
        return " · ".join(parts) or f"#{self.pk}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("leads:detail", args=[self.pk])


class IdempotencyRecord(models.Model):
    """The first answer to an API request with an Idempotency-Key, replayed on every retry."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")]

    def __str__(self):
        return self.key


class ImportStatus(models.TextChoices):
    INSPECTING = "inspecting", _("Checking the file")
    MAPPING = "mapping", _("Waiting for the column mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ImportJobQuerySet(VisibleQuerySet):
    def _visibility_filter(self, user) -> Q:
        # An import holds a whole spreadsheet of contacts: only the person who uploaded it (and admins).
        return Q(created_by=user)


class ImportJob(models.Model):
    """One uploaded spreadsheet on its way in: mapping, progress (saved per committed chunk) and result.

    `kind` names what its rows become (an `ImportKind`: "leads", or one a higher app declares, such as
    quotes' "products"); the lead options (source, merging, keeping) apply to leads only."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    file = models.FileField(_("file"), upload_to="imports/", max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    kind = models.CharField(_("what is imported"), max_length=30, default="leads")
    file_kind = models.CharField(max_length=4)  # "xlsx" or "csv"
    encoding = models.CharField(max_length=20, blank=True)  # CSV only
    header_row = models.PositiveIntegerField(default=1)  # spreadsheet row number of the header
    headers = models.JSONField(default=list)
    sample_rows = models.JSONField(default=list)  # the first rows as text, for the preview
    mapping = models.JSONField(default=list)  # one lead field name (or "") per column
    default_source = models.ForeignKey(
        LeadSource, verbose_name=_("default source"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    merge_duplicates = models.BooleanField(_("merge duplicates inside the file"), default=False)
    # A rep importing their own contacts (cards from a trade fair) keeps the new leads; otherwise the
    # assignment rules decide, as for every other channel.
    assign_to_me = models.BooleanField(_("keep the new leads myself"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.MAPPING)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    # The last spreadsheet row whose chunk is committed: a restarted job resumes after it.
    last_row = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(_("imported"), default=0)
    routed_rows = models.PositiveIntegerField(_("sent to existing records"), default=0)
    merged_rows = models.PositiveIntegerField(_("merged inside the file"), default=0)
    refused_rows = models.PositiveIntegerField(_("refused"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by `import_job_cancel` on a running job: its writer stops after the chunk it is writing and the job
    # ends as cancelled.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [
            # "Your recent imports" on the upload page.
            models.Index(fields=["created_by", "-created_at"], name="importjob_creator_idx"),
        ]

    def __str__(self):
        return self.original_name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("leads:import_detail", args=[self.pk])

    @property
    def import_kind(self):
        from .imports import import_kind

        return import_kind(self.kind)

    @property
    def processed_rows(self) -> int:
        return max(0, self.last_row - self.header_row) if self.last_row else 0

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return min(99, self.processed_rows * 100 // self.total_rows) if self.total_rows else 0

    @property
    def finished(self) -> bool:
        return self.status in {ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED}

    @property
    def cancelling(self) -> bool:
        return self.status == ImportStatus.RUNNING and self.cancel_requested_at is not None

    def may_cancel(self, user) -> bool:
        """Whether `user` may cancel this import now: its uploader or an administrator, while it is not over
        and no cancel is already on its way."""
        return (not self.finished and not self.cancelling
                and (user.pk == self.created_by_id or getattr(user, "is_admin", False)))


class ImportRefusal(models.Model):
    """A row the import refused: its original cells and the field errors, for the result page and report."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="refusals")
    row_number = models.PositiveIntegerField(_("row"))
    cells = models.JSONField(default=list)
    errors = models.JSONField(default=dict)

    class Meta:
        ordering = ["job", "row_number"]
        indexes = [
            # The result page and the report list a job's refusals in row order.
            models.Index(fields=["job", "row_number"], name="importrefusal_job_row_idx"),
        ]

    def __str__(self):
        return f"{self.job_id}:{self.row_number}"


class OwnerLoad(models.Model):
    """How many open leads (new, assigned, contacting, qualified) each person owns: least-load assignment
    reads it instead of counting their leads on every intake. Kept by triggers on the lead table
    (`leads/loads.py`), so every write that opens, reassigns or closes a lead moves it in its own transaction
    whatever path it takes (a service, a bulk `update()`, the import); a nightly recount fixes any drift and
    logs it. No foreign key: a counter row outliving its user is dropped by the recount."""

    owner_id = models.IntegerField(primary_key=True)
    open_leads = models.IntegerField(default=0, db_default=0)

    def __str__(self):
        return f"{self.owner_id}: {self.open_leads}"


# Scoring, assignment and pool models live in their own module; importing it registers them.
from .quality import (  # noqa: E402, F401
    AssignmentMember,
    AssignmentRule,
    PoolEvent,
    QualitySettings,
    ScoringRule,
)
