"""Notifications: in the app, by email, and to the recipient's team group robots.

`notify()` writes the in-app row and one delivery row per outside destination inside the caller's
transaction, so a rollback leaves nothing behind, and queues the sending job after the commit. The
job (core/tasks.py) sends each delivery at most once and retries failures with backoff.
"""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from .models import (
    DeliveryChannel,
    Department,
    GroupRobot,
    Notification,
    NotificationDelivery,
    NotificationPreference,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    kind: str
    label: str
    email: bool  # whether email is on until the user says otherwise


KINDS: dict[str, Kind] = {}


def register_kind(kind: str, label, *, email: bool = False) -> None:
    """Make an event kind known: it appears on the preferences page and in the robot settings.

    Choose `email=True` for events a person must not miss (escalations, hand-offs to accept);
    frequent, informational events stay in the app unless the user asks for email.
    """
    KINDS[kind] = Kind(kind, label, email)


register_kind("lead.assigned", _("A lead is assigned to me"), email=True)


def kind_label(kind: str) -> str:
    return str(KINDS[kind].label) if kind in KINDS else kind


def channels_for(user, kind: str) -> tuple[bool, bool]:
    """(in_app, email) for one user and one event kind: their choice, else the kind's default."""
    choice = NotificationPreference.objects.filter(user=user, kind=kind).values_list("in_app", "email").first()
    if choice is not None:
        return choice
    return True, KINDS[kind].email if kind in KINDS else False


def robots_for(user, kind: str) -> list[GroupRobot]:
    """Active robots of the user's team and of the teams above it that take this kind of event."""
    if user.department_id is None:
        return []
    path = Department.objects.filter(pk=user.department_id).values_list("path", flat=True).first() or ""
    team_ids = [int(part) for part in path.strip("/").split("/") if part]
    robots = GroupRobot.objects.filter(is_active=True, department_id__in=team_ids)
    return [robot for robot in robots if robot.wants(kind)]


def absolute_url(url: str) -> str:
    if not url or "://" in url:
        return url
    return settings.CLOSELOOP_BASE_URL.rstrip("/") + "/" + url.lstrip("/")


def notify(*, recipient, kind: str, message: str, url: str = "", key: str = "") -> None:
    """Tell `recipient` about an event, in each place their preferences and their team choose.

    `key` makes the call idempotent per recipient: a sweep that runs twice passes the same key
    (e.g. "followup-due:42:2026-11-22") and the second call does nothing.
    """
    if recipient is None:
        return
    message = str(message)[:500]
    in_app, email = channels_for(recipient, kind)
    event = key or uuid.uuid4().hex
    with transaction.atomic():
        if in_app:
            notification = Notification(recipient=recipient, kind=kind, message=message, url=url, key=key)
            if key:
                try:
                    with transaction.atomic():
                        notification.save()
                except IntegrityError:
                    return  # notified about this before
            else:
                notification.save()
        link = absolute_url(url)
        deliveries = []
        if email and recipient.email:
            deliveries.append(NotificationDelivery(
                key=f"{recipient.pk}:{event}:email", channel=DeliveryChannel.EMAIL, recipient=recipient,
                kind=kind, subject=message[:200], body=message, url=link,
            ))
        for robot in robots_for(recipient, kind):
            deliveries.append(NotificationDelivery(
                key=f"{recipient.pk}:{event}:robot{robot.pk}", channel=robot.platform, recipient=recipient,
                robot=robot, kind=kind, subject=message[:200], body=f"→ {recipient}", url=link,
            ))
        if not deliveries:
            return
        # ignore_conflicts: the unique key makes a repeated request for the same delivery a no-op.
        NotificationDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        keys = [delivery.key for delivery in deliveries]
        transaction.on_commit(lambda: enqueue_deliveries(keys))


def enqueue_deliveries(keys: list[str]) -> None:
    from .tasks import deliver_notification

    for key in keys:
        try:
            deliver_notification.enqueue(key)
        except Exception:  # the recovery sweep picks up any delivery whose job was never queued
            logger.exception("could not queue notification delivery %s", key)
