"""Outbound webhooks (数据推送): who hears which events, and every delivery with what became of it.

Imported by core/models.py, so Django sees the models as core's."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")


class WebhookSubscription(models.Model):
    """An outside system's HTTPS endpoint and the events it hears, signed with its own secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("endpoint URL"), max_length=500)
    # Kept as given: the signature needs it. Shown once when created or rotated, masked afterwards.
    secret = models.CharField(max_length=100, default=new_secret)
    events = models.JSONField(_("events"), default=list)
    status = models.CharField(_("status"), max_length=10, choices=SubscriptionStatus.choices,
                              default=SubscriptionStatus.ACTIVE)
    # Failed attempts in a row, of any of its deliveries; a success sets it back to 0, and at
    # CLOSELOOP_WEBHOOK_PAUSE_AFTER the subscription pauses.
    failure_streak = models.PositiveIntegerField(_("failures in a row"), default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == SubscriptionStatus.ACTIVE

    @property
    def masked_secret(self) -> str:
        return self.secret[:9] + "…" + self.secret[-2:]


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


# Statuses that hold back a later event for the same record (order per record).
UNFINISHED = (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.SENDING)


class WebhookDelivery(models.Model):
    """One event for one subscription. Written in the transaction of the change it reports, so an event exists
    exactly when its change committed; its body is written right after the commit (the record as it then is)."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=60)
    # The body's "id": the event's identity for the receiver (a replay sends it again with the same id).
    event_id = models.UUIDField(default=uuid.uuid4)
    record_type = models.CharField(max_length=60, blank=True)  # the model label, "leads.Lead"
    record_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred"), default=timezone.now)
    body = models.TextField(blank=True)  # exactly the bytes signed and sent, once built
    status = models.CharField(_("status"), max_length=10, choices=WebhookDeliveryStatus.choices,
                              default=WebhookDeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_excerpt = models.CharField(_("response"), max_length=1000, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_test = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            # The order per record: an earlier unfinished delivery of the same record holds a later one back.
            models.Index(fields=["subscription", "record_type", "record_id", "id"], name="webhook_record_order_idx"),
            # The recovery sweep: unfinished deliveries that are due or stuck.
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx"),
            # The log, newest first, by subscription and status.
            models.Index(fields=["subscription", "status", "-id"], name="webhook_log_idx"),
        ]

    def __str__(self):
        return f"{self.event} {self.event_id}"
