"""Users, departments, the audit trail, notifications and API tokens."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    SALES_REP = "sales_rep", _("Sales rep")
    MARKETING = "marketing", _("Marketing")
    PRESALES = "presales", _("Pre-sales")
    FINANCE = "finance", _("Finance")
    SERVICE = "service", _("After-sales service")


class Channel(models.TextChoices):
    """Through which door a write came in; kept on leads and on every audit entry."""

    WEB = "web", _("Web")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    FORM = "form", _("Public web form")
    SYSTEM = "system", _("System job")


class Department(models.Model):
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent department"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialized path "/1/4/9/" so a manager's subtree is one indexed prefix match.
    path = models.CharField(max_length=255, editable=False, db_index=True, default="/")

    class Meta:
        ordering = ["path"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self):
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.SALES_REP)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="members",
    )
    manager = models.ForeignKey(
        "self", verbose_name=_("manager"), null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    on_leave = models.BooleanField(_("on leave"), default=False)
    # The language of what reaches the person outside a page (the weekly digest mail); empty: the site's.
    # Pages follow the browser's choice instead (LocaleMiddleware).
    # A default in the database too: rows written by code that predates the column (a migration's historical
    # User, an older release during a rolling upgrade) stay valid.
    language = models.CharField(_("language of emails"), max_length=10, blank=True, default="", db_default="",
                                choices=settings.LANGUAGES)
    # For the API's sync of the directory (core/pagination.py); a login (last_login only) does not move it.
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())

    objects = UserManager()

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == Role.SALES_MANAGER

    @property
    def can_assign(self) -> bool:
        return self.is_admin or self.is_manager


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit entries are append-only.")

    def delete(self):
        raise PermissionError("Audit entries are append-only.")

    def for_object(self, obj):
        return self.filter(target_type=ContentType.objects.get_for_model(obj), target_id=str(obj.pk))


class AuditEntry(models.Model):
    """One row per write: who, when, through which door, and every changed field's old and new value."""

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    action = models.CharField(_("action"), max_length=40)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.CharField(max_length=40)
    target_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            # A record's timeline: its entries newest first.
            models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_target_idx"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit entries are append-only.")


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    # Set by callers that may notify about the same thing twice (sweeps run twice or late); the
    # constraint below turns the second notification into a no-op.
    key = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The unread badge and the notification list.
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], condition=~models.Q(key=""),
                                    name="notification_unique_key"),
        ]

    def __str__(self):
        return self.message


class NotificationPreference(models.Model):
    """A user's choice for one event kind; without a row the kind's defaults apply."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(max_length=40)
    in_app = models.BooleanField(_("in the app"), default=True)
    email = models.BooleanField(_("by email"), default=False)
    # Collected into the morning's summary mail (SummaryItem) instead of a mail at once.
    summary = models.BooleanField(_("in the daily summary"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self):
        return f"{self.user}: {self.kind}"


class SummaryItem(models.Model):
    """An event waiting for its recipient's daily summary: the people who chose it for a kind (or kept the kind's
    default) read these in one mail at 08:30 instead of one message each (core.summaries)."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=150, blank=True, default="")  # as Notification.key: once per event
    created_at = models.DateTimeField(default=timezone.now)
    summarized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The morning sweep: each recipient's items not yet summarized.
            models.Index(fields=["summarized_at", "recipient"], name="summary_item_pending_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], condition=~models.Q(key=""),
                                    name="summary_item_unique_key"),
        ]

    def __str__(self):
        return self.message


class RobotPlatform(models.TextChoices):
    WECOM = "wecom", _("WeCom (企业微信)")
    DINGTALK = "dingtalk", _("DingTalk (钉钉)")
    FEISHU = "feishu", _("Feishu / Lark (飞书)")


class GroupRobot(models.Model):
    """A team's group-chat robot: notifications about the team's members are posted to its webhook."""

    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        Department, verbose_name=_("team"), on_delete=models.CASCADE, related_name="robots",
        help_text=_("Notifications for members of this team and of its sub-teams are posted."),
    )
    platform = models.CharField(_("platform"), max_length=10, choices=RobotPlatform.choices)
    # The webhook URL carries the robot's access token, so it is as secret as `secret`: never shown
    # back in full.
    webhook_url = models.URLField(_("webhook URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    kinds = models.JSONField(_("events"), default=list, blank=True, help_text=_("Empty means every event."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["department__path", "name"]
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")

    def __str__(self):
        return self.name

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    @property
    def masked_url(self) -> str:
        return mask_secret_url(self.webhook_url)

    @property
    def masked_secret(self) -> str:
        return mask_secret(self.secret)


def mask_secret(value: str) -> str:
    if not value:
        return ""
    return value[:3] + "…" + value[-2:] if len(value) > 8 else "…"


def mask_secret_url(url: str) -> str:
    """Scheme, host and path stay readable; the token in the query or the last path segment does not."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path
    if not parts.query and "/" in path.rstrip("/"):
        head, _sep, last = path.rstrip("/").rpartition("/")
        path = f"{head}/{mask_secret(last)}"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}{path}{query}"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WECOM = "wecom", _("WeCom (企业微信)")
    DINGTALK = "dingtalk", _("DingTalk (钉钉)")
    FEISHU = "feishu", _("Feishu / Lark (飞书)")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class NotificationDelivery(models.Model):
    """One message to one outside destination (a mailbox or a group robot), and what became of it.

    `key` is unique, so a delivery exists once however often it is requested, and the worker claims
    a row before sending, so it is sent at most once however often its job runs.
    """

    key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(_("channel"), max_length=10, choices=DeliveryChannel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    robot = models.ForeignKey(
        GroupRobot, verbose_name=_("robot"), null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    # An email's HTML alternative (the weekly digest's tables), sent beside the plain-text body; empty: text only.
    html = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification delivery")
        verbose_name_plural = _("notification deliveries")
        indexes = [
            # The recovery sweep: unsent rows that are due or stuck.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            # A robot's recent deliveries on its settings page.
            models.Index(fields=["robot", "-created_at"], name="delivery_robot_idx"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.key}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenAccess(models.TextChoices):
    READ = "read", _("Read only")
    READ_WRITE = "read_write", _("Read and write")


class ApiToken(models.Model):
    """A per-user bearer token; only its SHA-256 is stored, the raw value is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    # A read-only token may only GET; tokens from before the choice existed keep writing (the database default).
    access = models.CharField(_("access"), max_length=10, choices=TokenAccess.choices, default=TokenAccess.READ_WRITE,
                              db_default=TokenAccess.READ_WRITE)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Where and when it was last used, written at most once a minute (core.services.api_token_use).
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_from = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def generate() -> str:
        return "cl_" + secrets.token_urlsafe(32)

    def expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def writes(self) -> bool:
        return self.access == TokenAccess.READ_WRITE


class SweepSchedule(models.Model):
    """When a periodic sweep is next due: one row per sweep, shared by every worker (core/schedule.py)."""

    name = models.CharField(max_length=100, primary_key=True)
    # "every 300s" or the cron expression: when an app changes it, the next due time is worked out anew.
    spec = models.CharField(max_length=100)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.spec}) next {self.next_run_at:%Y-%m-%d %H:%M}"


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    MONEY = "money", _("Amount (CNY)")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    CHOICE = "choice", _("Single choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    USER = "user", _("Person (a user)")
    BOOLEAN = "boolean", _("Yes/no")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    URL = "url", _("Web address (URL)")


class CustomField(models.Model):
    """A field an administrator added to a kind of record (自定义字段), e.g. leads' 行业细分.

    Core names no record type: `target` is a model label an app declared through
    `LoopApp.custom_field_targets()`, and the values live in that model's `custom` JSON column under `key`
    (see core/customfields and docs/architecture.md). A field is never deleted: hiding it keeps its values
    and its trail.
    """

    target = models.CharField(_("record type"), max_length=50)
    key = models.CharField(
        _("key"), max_length=40,
        help_text=_("Lower-case letters, digits and underscores, starting with a letter; used by the API, exports "
                    "and imports. It cannot change later."),
    )
    label_zh = models.CharField(_("label (Chinese)"), max_length=60)
    label_en = models.CharField(_("label (English)"), max_length=60, blank=True)
    type = models.CharField(_("type"), max_length=15, choices=CustomFieldType.choices, default=CustomFieldType.TEXT)
    # Choice fields' options, in their order: the stored value is the option's text.
    options = models.JSONField(_("options"), default=list, blank=True)
    # In the type's stored form (see core/customfields/types.py); given to a new record that has no value.
    default = models.JSONField(_("default"), null=True, blank=True)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    section = models.CharField(_("section"), max_length=60, blank=True,
                               help_text=_("Fields with the same section are shown together under its name."))
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    # Channels (core.models.Channel) on which a new or edited record must have a value.
    required_channels = models.JSONField(_("required on"), default=list, blank=True)
    # Roles (core.models.Role) that may see / edit the field; empty means everyone who sees / edits the record.
    # Administrators always may.
    view_roles = models.JSONField(_("roles that see it"), default=list, blank=True)
    edit_roles = models.JSONField(_("roles that edit it"), default=list, blank=True)
    # Shown on the public web form (for record types with one: leads).
    public = models.BooleanField(_("on the public web form"), default=False)
    # Shown as a column of the records' list (leads today).
    list_column = models.BooleanField(_("shown in the list"), default=False)
    hidden = models.BooleanField(_("hidden"), default=False)
    # An expression index on the value serves the list's filter (core/customfields/indexes.py).
    indexed = models.BooleanField(_("indexed for filtering"), default=False)
    # The list's search box also looks in its value (text-like types; core/customfields/search.py).
    searchable = models.BooleanField(_("searchable"), default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["target", "section", "position", "id"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(fields=["target", "key"], name="custom_field_unique_key"),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        if self.label_en and not (get_language() or "zh-hans").startswith("zh"):
            return self.label_en
        return self.label_zh


class SavedViewQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A person's own views and those shared with their department or one above it (a view shared with 销售部
        reaches 一组 under it); nobody else's private views, an administrator's neither (they reach any view by
        its id to mend it, see core/savedviews/services.py)."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        mine = models.Q(owner=user)
        if user.department_id is None:
            return self.filter(mine)
        # The viewer's department path as a subquery: one query, "/1/4/9/" starts with each shared department's path.
        path = Department.objects.filter(pk=user.department_id).values("path")[:1]
        return (self.annotate(viewer_path=models.Subquery(path))
                .filter(mine | models.Q(department__isnull=False, viewer_path__startswith=models.F("department__path"))))


class SavedView(models.Model):
    """A named choice of a record list's columns, sort and filters (视图), private or shared with the owner's team.

    Core names no list: `list_key` is the key an app declared through `LoopApp.saved_view_lists()`. `filters` is the
    list's own query string (kept only with parameters the list knows, checked on save), `columns` the built-in
    column keys and `cf.<key>` custom fields in their order. A manager may make a shared view their team's
    default (`default_for`): who opens the list with no query and has not picked a view of their own gets it.
    """

    list_key = models.CharField(_("record list"), max_length=30)
    name = models.CharField(_("name"), max_length=60)
    owner = models.ForeignKey(User, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="saved_views")
    # Shared with this department and those under it; null for a private view.
    department = models.ForeignKey(Department, verbose_name=_("shared with"), null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="+")
    columns = models.JSONField(_("columns"), default=list, blank=True)
    sort = models.CharField(_("sort"), max_length=40, blank=True)
    filters = models.CharField(_("filters"), max_length=1000, blank=True)
    # The team whose default view this is (within `department`'s subtree).
    default_for = models.ForeignKey(Department, verbose_name=_("default for"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["list_key", "name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        indexes = [
            # The list page's menu: a person's own views of a list.
            models.Index(fields=["owner", "list_key"], name="saved_view_owner_list"),
            # ... and those shared with their department line.
            models.Index(fields=["department", "list_key"], name="saved_view_department_list"),
        ]
        constraints = [
            # One default view per team and list.
            models.UniqueConstraint(fields=["list_key", "default_for"], condition=models.Q(default_for__isnull=False),
                                    name="saved_view_one_default_per_team"),
        ]

    def __str__(self):
        return self.name


class Deletion(models.Model):
    """A record that was deleted (or left some callers' sight: `why`), for the API's sync (`GET /api/deleted/{kind}`, core/sync.py): the kind's name
    (`SyncedKind.kind`), the record's id and when. Written in the deleting transaction by a post_delete receiver,
    so a rolled-back delete leaves none and a committed one cannot lose it."""

    kind = models.CharField(max_length=30)
    record_id = models.BigIntegerField()
    deleted_at = models.DateTimeField(default=timezone.now)
    # Who could see the record when it was deleted, among the people who may call the API (ever had a token) and
    # do not read every record of the kind anyway: ",3,17," (core/sync.py). Not scoped: listed to every caller
    # (deletions from before it was kept, and kinds every colleague reads: people, products).
    scoped = models.BooleanField(default=False, db_default=False)
    seen_by = models.TextField(default="", db_default="", blank=True)
    # "deleted", or "left": the record still exists but a change of it (reassigned, released to a pool, a
    # collaboration or hand-off ended) took it out of the sight of the callers in `seen_by` (core/sync.py
    # `departures`); `deleted_at` is then when it left. Always scoped; never told to who sees every record.
    why = models.CharField(max_length=10, choices=[("deleted", "deleted"), ("left", "left")], default="deleted",
                           db_default="deleted")

    class Meta:
        indexes = [
            # The sync's keyset: a kind's deletions in the order of (deleted_at, id).
            models.Index(fields=["kind", "deleted_at", "id"], name="deletion_sync_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.record_id}"


class DeletionHorizon(models.Model):
    """How far back a kind's deletions were pruned (`core.sync.deletions_prune`): deletions before `pruned_before`
    may be gone, so a sync from an older position cannot be told them and is answered 410 `sync_expired`."""

    kind = models.CharField(max_length=30, unique=True)
    pruned_before = models.DateTimeField()

    def __str__(self):
        return f"{self.kind} < {self.pruned_before}"


class SyncEpoch(models.Model):
    """How many times what a person may see changed over many records at once (their team, role or access; a
    manager's subtree; core/sync.py `sight_changed`): their API sync cursors carry the epoch they were given under,
    and one from an older epoch is answered 410 `sync_expired`. A row only for people whose sight ever changed so;
    none is epoch 0. Kept apart from the user row, which forms save whole: a save of a user read before a bump
    would write the old epoch back."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="+")
    epoch = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.user_id}: {self.epoch}"


# Outbound webhooks live in their own module; imported here so Django registers them with core.
from .webhooks.models import WebhookDelivery, WebhookSubscription  # noqa: E402, F401


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Writing")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


# ExportJob.error of a job whose worker stopped while writing it (core/exports.py, exports_recover).
EXPORT_STALLED = "stalled"


class ExportJobQuerySet(models.QuerySet):
    def requested_by(self, user):
        # An export holds every row of a list as its requester saw it: theirs alone, administrators included.
        return self.filter(requested_by=user) if getattr(user, "pk", None) else self.none()


class ExportJob(models.Model):
    """A list export too large for the web request, written by the job worker as its requester at request time
    (core/exports.py): the list's page and filters are stored with it; the file lives under the data dir."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    path = models.CharField(max_length=200)  # the list's export URL
    query = models.CharField(max_length=2000, blank=True)  # its filters, as the request's query string
    language = models.CharField(max_length=10, default="zh-hans")
    label = models.CharField(max_length=100)  # what is exported, as the requester read it
    total_rows = models.PositiveIntegerField(default=0)  # counted when requested; rows written may differ
    written_rows = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    file_name = models.CharField(max_length=200, blank=True)  # the download's name; the file is named by the pk
    error = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker's last sign of life on this job (its start, then every PROGRESS_EVERY rows) and how many runs
    # it took: a job left running without one past exports.STALL_AFTER is run again, then failed (exports_recover).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["requested_at"], name="core_export_requested_idx")]

    def __str__(self):
        return f"{self.label} {self.requested_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("export_job", args=[self.pk])

    @property
    def file_path(self):
        return settings.DATA_DIR / "exports" / f"{self.pk}.bin"

    @property
    def finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)

    @property
    def stalled(self) -> bool:
        """Failed because the worker writing it stopped (twice), not because of what was exported."""
        return self.status == ExportStatus.FAILED and self.error == EXPORT_STALLED

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return min(99, self.written_rows * 100 // self.total_rows) if self.total_rows else 0
