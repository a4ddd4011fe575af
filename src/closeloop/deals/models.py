"""Follow-up activities (跟进记录). Customers, contacts and opportunities arrive with issue #4."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.core.models import Channel


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    TOUCH = "touch", _("New touch (duplicate submission)")
    NOTE = "note", _("Note")


class Activity(models.Model):
    """One follow-up on a record: what happened, what the customer said, what comes next."""

    lead = models.ForeignKey(
        "leads.Lead", verbose_name=_("lead"), null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(_("type"), max_length=10, choices=ActivityKind.choices)
    content = models.TextField(_("content"), blank=True)
    feedback = models.TextField(_("customer feedback"), blank=True)
    next_plan = models.TextField(_("next plan"), blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    # A touch keeps what the duplicate submission said, so nothing the customer wrote is lost.
    payload = models.JSONField(_("submitted data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            # A lead's timeline, newest first.
            models.Index(fields=["lead", "-created_at"], name="activity_lead_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d}"
