"""Signing and sending deliveries: claim, send once, record the answer, retry with growing pauses, keep the order
per record, pause a subscription that keeps failing.

A delivery is claimed with one conditional UPDATE (pending → sending), only while its subscription is active and
no earlier delivery of the same record to the same subscription is unfinished; only the job that wins the claim
sends. When a delivery finishes (delivered, or given up), the next one of its record is queued.

The signature: `X-Closeloop-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, with the Unix
timestamp in `X-Closeloop-Timestamp`, so a receiver refuses a body that was changed or replayed long after.
"""

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import outbound
from .events import build_bodies
from .models import (
    UNFINISHED,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)

# The pause after the 1st, 2nd, ... failed attempt; after the last a delivery is given up (6 attempts in ~15 hours).
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=12)]
MAX_ATTEMPTS = len(BACKOFF) + 1
TIMEOUT_SECONDS = 10
RESPONSE_EXCERPT = 1000
# A delivery still "sending" after this long belongs to a worker that died mid-send.
CLAIM_TIMEOUT = timedelta(minutes=10)
# A pending delivery this late without having been picked up lost its job; the recovery sweep queues it again.
LOST_AFTER = timedelta(minutes=5)
USER_AGENT = "Closeloop-Webhooks/1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


@dataclass(frozen=True)
class Answer:
    ok: bool
    status: int | None
    excerpt: str
    error: str
    duration_ms: int


def post(*, url: str, secret: str, event: str, delivery_id: str, body: str, now: float | None = None) -> Answer:
    """POST one signed body; any 2xx answer is delivered."""
    data = body.encode()
    timestamp = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Closeloop-Event": event,
        "X-Closeloop-Delivery": delivery_id,
        "X-Closeloop-Timestamp": str(timestamp),
        "X-Closeloop-Signature": signature(secret, timestamp, data),
    }
    started = time.monotonic()
    try:
        conn, path = outbound.connection(url, timeout=TIMEOUT_SECONDS)
    except outbound.AddressRefused as exc:
        return Answer(False, None, "", str(exc)[:500], 0)
    try:
        conn.request("POST", path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read(64 * 1024)
        status = response.status
    except (TimeoutError, OSError, ValueError) as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Answer(False, None, "", (_("Could not reach the endpoint (%(reason)s).") % {"reason": exc})[:500], elapsed)
    except Exception as exc:  # http.client's protocol errors (a server that speaks no HTTP)
        elapsed = int((time.monotonic() - started) * 1000)
        return Answer(False, None, "", f"{type(exc).__name__}: {exc}"[:500], elapsed)
    finally:
        conn.close()
    elapsed = int((time.monotonic() - started) * 1000)
    excerpt = raw.decode("utf-8", errors="replace")[:RESPONSE_EXCERPT]
    ok = 200 <= status < 300
    return Answer(ok, status, excerpt, "" if ok else f"HTTP {status} {response.reason}"[:500], elapsed)


def _earlier_unfinished(delivery: WebhookDelivery) -> bool:
    if delivery.record_id is None:
        return False
    return WebhookDelivery.objects.filter(
        subscription_id=delivery.subscription_id, record_type=delivery.record_type, record_id=delivery.record_id,
        id__lt=delivery.pk, status__in=UNFINISHED,
    ).exists()


def delivery_send(*, pk: int, now=None, retry: bool = True) -> str:
    """Send one delivery if it is due, its subscription active and no earlier event of its record waits; return
    what happened ("delivered", "pending" for a retry, "failed", or why it was not sent now)."""
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=pk).first()
    if delivery is None or delivery.status != WebhookDeliveryStatus.PENDING:
        return "skipped"
    if not delivery.subscription.is_active and not delivery.is_test:
        return "paused"  # the resume queues it again
    if delivery.next_attempt_at and delivery.next_attempt_at > now:
        return "not due"
    if _earlier_unfinished(delivery):
        return "waiting"  # the earlier one queues this one when it finishes
    claimed = WebhookDelivery.objects.filter(pk=pk, status=WebhookDeliveryStatus.PENDING).update(
        status=WebhookDeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    delivery.refresh_from_db()
    subscription = delivery.subscription
    try:
        if not delivery.body:
            build_bodies([delivery])
        answer = post(url=subscription.url, secret=subscription.secret, event=delivery.event,
                      delivery_id=str(delivery.event_id), body=delivery.body)
    except Exception as exc:  # a bug in one delivery must leave a trace, not a row stuck in "sending"
        logger.exception("webhook delivery %s failed", pk)
        answer = Answer(False, None, "", f"{type(exc).__name__}: {exc}"[:500], 0)
    return _record(delivery, answer, retry=retry)


def _record(delivery: WebhookDelivery, answer: Answer, *, retry: bool) -> str:
    finished = timezone.now()
    delivery.claimed_at = None
    delivery.last_attempt_at = finished
    delivery.response_status, delivery.response_excerpt = answer.status, answer.excerpt
    delivery.duration_ms, delivery.error = answer.duration_ms, answer.error
    if answer.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = WebhookDeliveryStatus.DELIVERED, finished, None
    elif retry and not delivery.is_test and delivery.attempts < MAX_ATTEMPTS:
        delivery.status = WebhookDeliveryStatus.PENDING
        delivery.next_attempt_at = finished + BACKOFF[delivery.attempts - 1]
    else:
        delivery.status, delivery.next_attempt_at = WebhookDeliveryStatus.FAILED, None
    with transaction.atomic():
        delivery.save(update_fields=["status", "claimed_at", "last_attempt_at", "response_status", "response_excerpt",
                                     "duration_ms", "error", "delivered_at", "next_attempt_at"])
        if not delivery.is_test:
            _count(delivery, ok=answer.ok)
    if delivery.status == WebhookDeliveryStatus.PENDING:
        _queue_one(delivery.pk, run_after=delivery.next_attempt_at)
    else:
        _queue_next_of_record(delivery)
    return delivery.status


def _count(delivery: WebhookDelivery, *, ok: bool) -> None:
    subscriptions = WebhookSubscription.objects.filter(pk=delivery.subscription_id)
    if ok:
        subscriptions.exclude(failure_streak=0).update(failure_streak=0)
        return
    subscriptions.update(failure_streak=F("failure_streak") + 1)
    limit = settings.CLOSELOOP_WEBHOOK_PAUSE_AFTER
    paused = subscriptions.filter(status=SubscriptionStatus.ACTIVE, failure_streak__gte=limit).update(
        status=SubscriptionStatus.PAUSED, paused_at=timezone.now(),
        paused_reason=(_("Paused after %(count)s failed attempts in a row: %(error)s")
                       % {"count": limit, "error": delivery.error})[:300])
    if paused:
        from .services import subscription_paused_by_failures

        subscription_paused_by_failures(subscription=WebhookSubscription.objects.get(pk=delivery.subscription_id),
                                        delivery=delivery)


def _queue_next_of_record(delivery: WebhookDelivery) -> None:
    if delivery.record_id is None:
        return
    following = (WebhookDelivery.objects.filter(
        subscription_id=delivery.subscription_id, record_type=delivery.record_type, record_id=delivery.record_id,
        id__gt=delivery.pk, status=WebhookDeliveryStatus.PENDING).order_by("id").values_list("pk", "next_attempt_at")
        .first())
    if following is not None:
        _queue_one(following[0], run_after=following[1])


def _queue_one(pk: int, *, run_after=None) -> None:
    from .tasks import send_webhook

    try:
        (send_webhook.using(run_after=run_after) if run_after else send_webhook).enqueue(pk)
    except Exception:  # the recovery sweep picks up any delivery whose job was never queued
        logger.exception("could not queue webhook delivery %s", pk)


def enqueue(ids) -> None:
    for pk in ids:
        _queue_one(pk)


def deliveries_recover(*, now=None, limit: int = 1000) -> int:
    """Queue again what a crash or a lost job left behind; returns how many deliveries were queued."""
    now = now or timezone.now()
    stuck = list(WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.SENDING,
                                                claimed_at__lt=now - CLAIM_TIMEOUT).values_list("pk", flat=True)[:limit])
    # The status condition again: a worker may have finished one of them in the meantime.
    WebhookDelivery.objects.filter(pk__in=stuck, status=WebhookDeliveryStatus.SENDING).update(
        status=WebhookDeliveryStatus.PENDING, claimed_at=None, next_attempt_at=now)
    # Not those that wait for an earlier event of their record (its end queues them), or a record with many
    # events behind a failing one would fill every sweep's batch with deliveries that cannot go yet.
    earlier = WebhookDelivery.objects.filter(
        subscription_id=OuterRef("subscription_id"), record_type=OuterRef("record_type"),
        record_id=OuterRef("record_id"), id__lt=OuterRef("id"), status__in=UNFINISHED)
    lost = list(
        WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING,
                                       subscription__status=SubscriptionStatus.ACTIVE)
        .filter(Q(next_attempt_at__isnull=True, created_at__lt=now - LOST_AFTER)
                | Q(next_attempt_at__lt=now - LOST_AFTER))
        .filter(~Exists(earlier))
        .order_by("id").values_list("pk", flat=True)[:limit]
    )
    ids = stuck + [pk for pk in lost if pk not in set(stuck)]
    enqueue(ids)
    return len(ids)




# Finished deliveries (delivered or given up) whose log rows the retention sweep may delete.
FINISHED = (WebhookDeliveryStatus.DELIVERED, WebhookDeliveryStatus.FAILED)


def deliveries_prune(*, now=None, days: int | None = None, batch: int = 1000) -> int:
    """Delete the delivery log's finished rows older than `days` (CLOSELOOP_WEBHOOK_LOG_DAYS), a batch at a time so
    no transaction holds the table long; returns how many went. A pending or sending delivery is kept however old
    (a paused subscription's events wait for its resume).

    `created_at` has no index (every event writes a row): ids grow with time, so the sweep finds the first row young
    enough to keep by id, and deletes by id below it. The rows it keeps are few and the scan stops at the first
    young one."""
    days = settings.CLOSELOOP_WEBHOOK_LOG_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    boundary = (WebhookDelivery.objects.filter(created_at__gte=cutoff).order_by("id")
                .values_list("id", flat=True).first())
    old = WebhookDelivery.objects.filter(status__in=FINISHED, created_at__lt=cutoff)
    if boundary is not None:
        old = old.filter(id__lt=boundary)
    deleted = 0
    while ids := list(old.order_by("id").values_list("id", flat=True)[:batch]):
        # A replay of a deleted row keeps its own row; its link to the original is cleared (SET_NULL).
        deleted += WebhookDelivery.objects.filter(id__in=ids).delete()[1].get(WebhookDelivery._meta.label, 0)
    return deleted
