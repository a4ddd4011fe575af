"""Administrators' writes on webhook subscriptions and deliveries, each audited in its transaction."""

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import outbound
from ..audit import audit_record, audited_update, diff, snapshot
from ..errors import Conflict, Forbidden, ValidationFailed
from ..models import Channel, Role, User
from ..notify import notify
from .events import EVENTS, TEST_EVENT, body_for
from .models import (
    SubscriptionStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
    new_secret,
)

FIELDS = ["name", "url", "events", "status"]


def _require_admin(actor) -> None:
    if actor is None or not actor.is_admin:
        raise Forbidden(_("Only administrators can manage webhooks."))


def _audit_view(subscription: WebhookSubscription) -> dict:
    # Never the secret: the trail says that it changed, not what it is.
    return snapshot(subscription, FIELDS)


def _clean(data: dict) -> dict:
    errors = {}
    values = {name: data[name] for name in ("name", "url", "events") if name in data}
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            errors["name"] = [_("Give the subscription a name, e.g. the system that receives it.")]
    if "url" in values:
        values["url"] = (values["url"] or "").strip()
        if problem := outbound.address_problem(values["url"]):
            errors["url"] = [problem]
    if "events" in values:
        chosen = list(dict.fromkeys(values["events"] or []))
        unknown = [code for code in chosen if code not in EVENTS]
        if unknown:
            errors["events"] = [_("Unknown events: %(codes)s") % {"codes": ", ".join(unknown)}]
        elif not chosen:
            errors["events"] = [_("Choose at least one event.")]
        values["events"] = [code for code in EVENTS if code in chosen]  # in the registry's order
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return values


def _locked(subscription: WebhookSubscription) -> WebhookSubscription:
    return WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)


def webhook_subscription_save(*, actor, data: dict, subscription: WebhookSubscription | None = None,
                              channel: str = Channel.WEB) -> WebhookSubscription:
    """Create a subscription (with a new secret, shown once) or change its name, address and events."""
    _require_admin(actor)
    values = _clean(data if subscription else {"name": "", "url": "", "events": [], **data})
    with transaction.atomic():
        creating = subscription is None
        if creating:
            subscription = WebhookSubscription(created_by=actor)
            before = {}
        else:
            subscription = _locked(subscription)
            before = _audit_view(subscription)
        for name, value in values.items():
            setattr(subscription, name, value)
        subscription.save()
        audit_record(actor=actor, channel=channel, action="webhook.create" if creating else "webhook.update",
                     target=subscription, changes=diff(before, _audit_view(subscription)))
    return subscription


def webhook_subscription_rotate_secret(*, actor, subscription: WebhookSubscription,
                                       channel: str = Channel.WEB) -> WebhookSubscription:
    """A new secret at once; deliveries signed from now on use it (the receiver must switch too)."""
    _require_admin(actor)
    with transaction.atomic():
        subscription = _locked(subscription)
        subscription.secret = new_secret()
        subscription.save(update_fields=["secret", "updated_at"])
        audit_record(actor=actor, channel=channel, action="webhook.rotate_secret", target=subscription)
    return subscription


def webhook_subscription_pause(*, actor, subscription: WebhookSubscription,
                               channel: str = Channel.WEB) -> WebhookSubscription:
    """Stop sending; events keep being recorded and wait for the resume."""
    _require_admin(actor)
    with transaction.atomic():
        subscription = _locked(subscription)
        if subscription.status == SubscriptionStatus.PAUSED:
            raise Conflict(_("The subscription is paused already."), code="webhook_paused")
        audited_update(instance=subscription, actor=actor, channel=channel, action="webhook.pause", data={
            "status": SubscriptionStatus.PAUSED, "paused_at": timezone.now(),
            "paused_reason": _("Paused by %(user)s.") % {"user": actor}})
    return subscription


def webhook_subscription_resume(*, actor, subscription: WebhookSubscription,
                                channel: str = Channel.WEB) -> WebhookSubscription:
    """Send again: the failure count starts over and the waiting deliveries are queued, oldest first."""
    _require_admin(actor)
    with transaction.atomic():
        subscription = _locked(subscription)
        if subscription.status == SubscriptionStatus.ACTIVE:
            raise Conflict(_("The subscription is active already."), code="webhook_active")
        audited_update(instance=subscription, actor=actor, channel=channel, action="webhook.resume", data={
            "status": SubscriptionStatus.ACTIVE, "paused_at": None, "paused_reason": "", "failure_streak": 0})
        pending = subscription.deliveries.filter(status=WebhookDeliveryStatus.PENDING)
        # What waited for a retry goes now too: its scheduled job may have run (and stopped) while paused.
        pending.exclude(next_attempt_at=None).update(next_attempt_at=None)
        waiting = list(pending.order_by("id").values_list("pk", flat=True))
        transaction.on_commit(lambda: _enqueue(waiting))
    return subscription


def webhook_subscription_delete(*, actor, subscription: WebhookSubscription, channel: str = Channel.WEB) -> None:
    """Delete the subscription with its delivery log; the trail keeps that it existed."""
    _require_admin(actor)
    with transaction.atomic():
        audit_record(actor=actor, channel=channel, action="webhook.delete", target=subscription,
                     changes=diff(_audit_view(subscription), {}))
        subscription.delete()


def webhook_delivery_replay(*, actor, delivery: WebhookDelivery, channel: str = Channel.WEB) -> WebhookDelivery:
    """Send a delivery's event again, with the same id and body (the receiver can tell it had it), signed anew."""
    _require_admin(actor)
    if delivery.is_test:
        raise Conflict(_("A test event is not replayed; send a new one."), code="webhook_test_replay")
    with transaction.atomic():
        replay = WebhookDelivery.objects.create(
            subscription=delivery.subscription, event=delivery.event, event_id=delivery.event_id,
            record_type=delivery.record_type, record_id=delivery.record_id, occurred_at=delivery.occurred_at,
            body=delivery.body, replay_of=delivery,
        )
        audit_record(actor=actor, channel=channel, action="webhook.replay", target=delivery.subscription,
                     note=f"{delivery.event} {delivery.event_id}")
        transaction.on_commit(lambda: _enqueue([replay.pk]))
    return replay


def webhook_send_test(*, actor, subscription: WebhookSubscription, channel: str = Channel.WEB) -> WebhookDelivery:
    """Post a test event now (not through the queue), so the administrator sees at once what the endpoint
    answered. It is not retried and does not count towards pausing; it is sent to a paused subscription too."""
    from .sending import delivery_send

    _require_admin(actor)
    with transaction.atomic():
        delivery = WebhookDelivery(subscription=subscription, event=TEST_EVENT, is_test=True)
        delivery.body = body_for(delivery, {"message": _("A test event from Closeloop."), "subscription": subscription.name,
                                            "sent_by": actor.username})
        delivery.save()
        audit_record(actor=actor, channel=channel, action="webhook.test", target=subscription)
    delivery_send(pk=delivery.pk, retry=False)
    delivery.refresh_from_db()
    return delivery


def subscription_paused_by_failures(*, subscription: WebhookSubscription, delivery: WebhookDelivery) -> None:
    """The worker paused a subscription that kept failing: on its trail, and every administrator is told."""
    audit_record(actor=None, channel=Channel.SYSTEM, action="webhook.pause", target=subscription,
                 changes={"status": [SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED]},
                 note=subscription.paused_reason)
    url = reverse("webhook_edit", args=[subscription.pk])
    message = _("Webhook “%(name)s” was paused after %(count)s failed attempts in a row (last: %(error)s). Check the "
                "endpoint, then resume it.") % {"name": subscription.name, "count": subscription.failure_streak,
                                               "error": delivery.error or delivery.response_status}
    for admin in User.objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(role=Role.ADMIN)):
        notify(recipient=admin, kind="webhook.paused", message=message, url=url,
               key=f"webhook-paused:{subscription.pk}:{subscription.paused_at.isoformat()}")


def _enqueue(ids: list[int]) -> None:
    from .sending import enqueue

    enqueue(ids)
