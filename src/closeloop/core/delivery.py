"""Sending notification deliveries: claim, send once, record the outcome, retry with backoff.

A delivery is claimed with one conditional UPDATE (pending → sending); only the job that wins the
claim sends, so a job that runs twice, or two workers picking up the same delivery, send it once.
"""

import logging
import smtplib
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import robots
from .models import DeliveryChannel, DeliveryStatus, NotificationDelivery

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Wait after the 1st, 2nd, ... failed attempt: the platforms throttle per minute, mail servers
# greylist for minutes.
BACKOFF = [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30)]
# A delivery still "sending" after this long belongs to a worker that died mid-send.
CLAIM_TIMEOUT = timedelta(minutes=10)
# A pending delivery this old without having been picked up lost its job (e.g. a crash right after
# the commit); the recovery sweep queues it again.
LOST_AFTER = timedelta(minutes=5)


def _send_email(delivery: NotificationDelivery) -> robots.SendResult:
    address = delivery.recipient.email if delivery.recipient else ""
    if not address:
        return robots.SendResult(ok=False, retryable=False, status=None, error=_("The recipient has no email address."))
    body = delivery.body + (f"\n\n{delivery.url}" if delivery.url else "")
    body += "\n\n-- \n" + _("Closeloop. Choose which notifications reach you by email on your notification settings page.")
    message = EmailMultiAlternatives(subject=f"[Closeloop] {delivery.subject}", body=body, to=[address])
    if delivery.html:
        message.attach_alternative(delivery.html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        return robots.SendResult(ok=False, retryable=False, status=None, error=f"SMTPRecipientsRefused: {exc}")
    except (smtplib.SMTPException, OSError) as exc:
        code = getattr(exc, "smtp_code", None)
        # 5xx SMTP replies are permanent; 4xx and network trouble are worth another try.
        return robots.SendResult(ok=False, retryable=not (code and code >= 500), status=code,
                                 error=f"{type(exc).__name__}: {exc}")
    return robots.SendResult(ok=True, retryable=False, status=None)


def _send_robot(delivery: NotificationDelivery) -> robots.SendResult:
    robot = delivery.robot
    if robot is None or not robot.is_active:
        return robots.SendResult(ok=False, retryable=False, status=None, error=_("The robot is switched off."))
    return robots.send(platform=robot.platform, webhook_url=robot.webhook_url, secret=robot.secret,
                       title=delivery.subject, text=delivery.body, url=delivery.url)


def delivery_send(*, key: str, now=None, retry=True) -> str:
    """Send one delivery if it is due and nobody else is sending it; return its status afterwards."""
    now = now or timezone.now()
    claimed = (
        NotificationDelivery.objects.filter(key=key, status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "skipped"
    delivery = NotificationDelivery.objects.select_related("robot", "recipient").get(key=key)
    try:
        if delivery.channel == DeliveryChannel.EMAIL:
            result = _send_email(delivery)
        else:
            result = _send_robot(delivery)
    except Exception as exc:  # a bug in one delivery must leave a trace, not a row stuck in "sending"
        logger.exception("notification delivery %s failed", key)
        result = robots.SendResult(ok=False, retryable=True, status=None, error=f"{type(exc).__name__}: {exc}")
    finished = timezone.now()
    delivery.response_code = result.status
    delivery.claimed_at = None
    if result.ok:
        delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, finished, ""
    elif retry and result.retryable and delivery.attempts < MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = finished + BACKOFF[min(delivery.attempts, len(BACKOFF)) - 1]
        delivery.last_error = result.error[:2000]
    else:
        delivery.status, delivery.last_error = DeliveryStatus.FAILED, result.error[:2000]
    delivery.save(update_fields=["status", "sent_at", "last_error", "response_code", "next_attempt_at", "claimed_at"])
    if delivery.status == DeliveryStatus.PENDING:
        from .tasks import deliver_notification

        deliver_notification.using(run_after=delivery.next_attempt_at).enqueue(key)
    return delivery.status


def deliveries_recover(*, now=None) -> int:
    """Queue again what a crash left behind; returns how many deliveries were queued."""
    from .tasks import deliver_notification

    now = now or timezone.now()
    stuck = NotificationDelivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT)
    stuck_keys = list(stuck.values_list("key", flat=True)[:1000])
    # The status condition again: a worker may have finished one of them in the meantime.
    NotificationDelivery.objects.filter(key__in=stuck_keys, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.PENDING, claimed_at=None, next_attempt_at=now
    )
    lost = (
        NotificationDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True, created_at__lt=now - LOST_AFTER)
                | Q(next_attempt_at__lt=now - LOST_AFTER))
        .values_list("key", flat=True)[:1000]
    )
    keys = stuck_keys + [key for key in lost if key not in stuck_keys]
    for key in keys:
        deliver_notification.enqueue(key)
    return len(keys)
