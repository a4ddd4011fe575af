"""Notifications: in the app, by email, and to the recipient's team group robots.

`notify()` writes the in-app row and one delivery row per outside destination inside the caller's
transaction, so a rollback leaves nothing behind, and queues the sending job after the commit. The
job (core/tasks.py) sends each delivery at most once and retries failures with backoff.
"""

import logging
import threading
import uuid
from contextlib import contextmanager
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction

from . import configcache, fastsql
from .hooks import NotificationKind as Kind
from .models import (
    DeliveryChannel,
    Department,
    GroupRobot,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    SummaryItem,
)

logger = logging.getLogger(__name__)


# The event kinds the installed apps send, by code: each app declares its own in
# `LoopApp.notification_kinds()`, and core registers them when it starts (CoreConfig.ready), so the
# preferences page and the robot form show every kind with its label and default.
KINDS: dict[str, Kind] = {}


def register_kinds(kinds) -> None:
    for kind in kinds:
        if kind.kind in KINDS and KINDS[kind.kind] != kind:
            raise ValueError(f"notification kind {kind.kind!r} is declared twice")
        KINDS[kind.kind] = kind


def kinds_for(user) -> list[Kind]:
    """The registered kinds, plus any unregistered kind the user has received, so each can be tuned."""
    received = user.notifications.exclude(kind__in=list(KINDS)).values_list("kind", flat=True).distinct()
    return list(KINDS.values()) + [Kind(kind, kind, False) for kind in sorted(set(received))]


def kind_label(kind: str) -> str:
    return str(KINDS[kind].label) if kind in KINDS else kind


class Channels(NamedTuple):
    """Where one kind of event reaches one person: in the app (unread), by email at once, in the daily summary.
    All three off is "not at all"."""

    in_app: bool
    email: bool
    summary: bool = False


def default_channels(kind: Kind | None) -> Channels:
    if kind is None:
        return Channels(True, False, False)
    if kind.summary:
        return Channels(False, False, True)
    return Channels(True, kind.email, False)


def _stored(user) -> dict[str, Channels]:
    return {kind: Channels(in_app, email, summary) for kind, in_app, email, summary in
            NotificationPreference.objects.filter(user=user).values_list("kind", "in_app", "email", "summary")}


def channels_for(user, kind: str) -> Channels:
    """Where one kind of event reaches one user: their choice, else the kind's default."""
    choices = configcache.cached(f"notify.preferences.{user.pk}", lambda: _stored(user),
                                 models=(NotificationPreference,))
    return choices.get(kind) or default_channels(KINDS.get(kind))


def preferences_for(user, kinds: list[Kind]) -> dict[str, Channels]:
    """The channels of each kind, in one query."""
    stored = _stored(user)
    return {kind.kind: stored.get(kind.kind, default_channels(kind)) for kind in kinds}


def robots_for(user, kind: str) -> list[GroupRobot]:
    """Active robots of the user's team and of the teams above it that take this kind of event."""
    if user.department_id is None:
        return []
    robots, paths = configcache.cached("notify.robots", _robots_and_team_paths, models=(GroupRobot, Department))
    team_path = paths.get(user.department_id)
    if team_path is None:
        return []
    # A robot's team is the user's team or above it when its path is a prefix of the user's team path.
    return [robot for robot in robots if team_path.startswith(robot.department.path) and robot.wants(kind)]


def _robots_and_team_paths() -> tuple[list[GroupRobot], dict[int, str]]:
    robots = list(GroupRobot.objects.filter(is_active=True, department__isnull=False).select_related("department"))
    return robots, dict(Department.objects.values_list("pk", "path"))


_local = threading.local()


@contextmanager
def in_app_only():
    """Within this block notifications stay in the app: no email, no robot message.

    For loading demo or historical data, where hundreds of "assigned to you" emails would be noise.
    """
    previous = getattr(_local, "in_app_only", False)
    _local.in_app_only = True
    try:
        yield
    finally:
        _local.in_app_only = previous


def absolute_url(url: str) -> str:
    if not url or "://" in url:
        return url
    return settings.CLOSELOOP_BASE_URL.rstrip("/") + "/" + url.lstrip("/")


def _saved_once(row) -> bool:
    """Save a Notification or SummaryItem; False when one with its key exists (a sweep that ran twice)."""
    if not row.key:
        fastsql.insert(row)
        return True
    try:
        with transaction.atomic():
            fastsql.insert(row)
    except IntegrityError:
        return False
    return True


def notify(*, recipient, kind: str, message: str, url: str = "", key: str = "") -> None:
    """Tell `recipient` about an event, in each place their preferences and their team choose.

    `key` makes the call idempotent per recipient: a sweep that runs twice passes the same key
    (e.g. "followup-due:42:2026-11-22") and the second call does nothing.
    """
    if recipient is None:
        return
    message = str(message)[:500]
    in_app, email, summary = channels_for(recipient, kind)
    event = key or uuid.uuid4().hex
    # No savepoint: on the intake path every statement counts, and an error here fails the caller anyway.
    with transaction.atomic(savepoint=False):
        if in_app and not _saved_once(Notification(recipient=recipient, kind=kind, message=message, url=url, key=key)):
            return  # notified about this before
        link = absolute_url(url)
        deliveries = []
        if not recipient.is_active or getattr(_local, "in_app_only", False):
            return  # someone who left keeps their inbox, but their mailbox and team chat hear nothing
        if summary and not _saved_once(SummaryItem(recipient=recipient, kind=kind, message=message, url=url, key=key)):
            return  # already waiting for (or in) a summary
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
