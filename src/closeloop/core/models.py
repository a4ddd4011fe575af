"""Users, departments, the audit trail, notifications and API tokens."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.contenttypes.models import ContentType
from django.db import models
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
    # Marketing staff see the leads of the channels they run.
    source_channels = models.ManyToManyField(
        "leads.LeadSource", verbose_name=_("source channels"), blank=True, related_name="marketers"
    )

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
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The unread badge and the notification list.
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"),
        ]

    def __str__(self):
        return self.message


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A per-user bearer token; only its SHA-256 is stored, the raw value is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def generate() -> str:
        return "cl_" + secrets.token_urlsafe(32)
