"""The weekly digest (每周复盘): every Monday, at the time an administrator sets (08:00 unless changed, site time
zone), each sales manager (and each administrator with a team) gets a review of last week, Monday to Sunday, over
their team's subtree: new leads by source, conversion, deals won and lost with the reasons, the amounts collected,
the breakpoint radar's counts and the records broken longest, and the targets achieved (完成率).

The figures are the dashboard's own (`dashboard.py`, `radar.py`) over a `Scope` of the manager's team, so the digest
and the dashboard's week agree. It goes out by email (HTML tables with bars, and a plain-text alternative) in the
manager's language, and as a short markdown summary to their team's group robots.

`digests_send` is an idempotent sweep that the worker runs every few minutes: it does nothing before this week's
time, and then sends last week's digest to every manager who has none yet. A `WeeklyDigest` row, unique by manager
and week, is claimed in the same transaction as the digest's deliveries, so however many workers run the sweep at
once, and however late, each manager gets one digest a week.
"""

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from closeloop.core.models import DeliveryChannel, GroupRobot, Notification, NotificationDelivery, Role, User
from closeloop.core.money import from_fen, sum_fen
from closeloop.core.notify import absolute_url, channels_for, enqueue_deliveries
from closeloop.deals.models import OpportunityStatus

from . import dashboard, radar
from .models import WeeklyDigest
from .services import digest_settings

DIGEST_KIND = "insights.weekly_digest"
# How often the worker looks whether digests are due: they go out at most this long after the set time.
DIGEST_SWEEP_SECONDS = 300
# The records broken longest that a digest lists (the radar page lists them all).
WORST_ITEMS = 5


def week_of(day: date) -> date:
    """The Monday of the week `day` falls in."""
    return day - timedelta(days=day.weekday())


def due_week(now: datetime) -> date | None:
    """The week whose digest is due at `now` (last week's Monday), or None before this Monday's sending time."""
    monday = week_of(timezone.localdate(now))
    due = timezone.make_aware(datetime.combine(monday, digest_settings().send_at))
    return monday - timedelta(days=7) if now >= due else None


def reviewers():
    """Who gets a digest: active sales managers, and administrators with a team (a department to review)."""
    return (User.objects.filter(is_active=True)
            .filter(Q(role=Role.SALES_MANAGER) | ((Q(role=Role.ADMIN) | Q(is_superuser=True)) & Q(department__isnull=False)))
            .order_by("pk"))


def reviews(user) -> bool:
    """Whether `user` is one of `reviewers()`, without a query."""
    return user.is_active and (user.role == Role.SALES_MANAGER or (user.is_admin and user.department_id is not None))


def language_of(user) -> str:
    return user.language or settings.LANGUAGE_CODE


def dashboard_url(week: date) -> str:
    """The dashboard over the reviewed week."""
    return reverse("insights:dashboard") + "?" + urlencode(
        {"period": "custom", "start": week.isoformat(), "end": (week + timedelta(days=6)).isoformat()})


def preview_url(manager, week: date) -> str:
    return reverse("insights:digest") + "?" + urlencode({"manager": manager.pk, "week": week.isoformat()})


@dataclass
class Digest:
    manager: User
    week: date
    now: datetime
    sources: dict
    funnel: dict
    won: dict
    lost: dict
    cash: dict
    radar: list  # (kind, broken now, broken a week earlier or None: no data, the change or None)
    radar_total: int
    radar_before: int | None  # the total a week earlier (None: the worker did not recount that week)
    worst: list
    targets: dict

    @property
    def end(self) -> date:
        return self.week + timedelta(days=6)

    @property
    def dashboard_path(self) -> str:
        return dashboard_url(self.week)

    @property
    def subject(self) -> str:
        return _("Weekly review %(start)s – %(end)s") % {"start": f"{self.week:%m-%d}", "end": f"{self.end:%m-%d}"}

    @property
    def collected(self) -> Decimal:
        return self.cash["collected"]


BAR_BLOCKS = 12


def _bar(value: float | None, widest: float = 100.0) -> str:
    """A bar of block characters, as long as `value` is of `widest` (at most `BAR_BLOCKS`): mail clients drop
    scripts and many drop styles, but they all show text."""
    if not value or not widest:
        return ""
    return "▇" * max(1, min(BAR_BLOCKS, round(BAR_BLOCKS * float(value) / float(widest))))


def digest_build(manager: User, week: date, now: datetime | None = None) -> Digest:
    """The figures of `manager`'s team over the week starting on Monday `week`, in the current language."""
    now = now or timezone.now()
    scope = dashboard.Scope(viewer=manager, start=week, end=week + timedelta(days=6), period="custom", own_team=True)
    won = scope.deals().filter(status=OpportunityStatus.WON).filter(scope.during("won_at")).aggregate(
        deals=Count("pk"), fen=sum_fen(F("amount") * 100))
    sources = dashboard.lead_sources(scope)
    widest = max((row["leads"] for row in sources["rows"]), default=0)
    for row in sources["rows"]:
        row["bar"] = _bar(row["leads"], widest)
    lost = dashboard.lost_reasons(scope)
    widest = max((row["deals"] for row in lost["rows"]), default=0)
    for row in lost["rows"]:
        row["bar"] = _bar(row["deals"], widest)
    counts = radar.line_counts(manager, now, owners=scope.owners)
    # Against the counts at the end of the week before the one reviewed: its last recount's (None: no data).
    before = radar.week_counts(week - timedelta(days=7), owners=scope.owners)
    trend = [(kind, n, None if before is None else before.get(kind.key, 0)) for kind, n in counts]
    targets = dashboard.achievement(scope)
    for row in [*targets["teams"], *targets["reps"]]:
        for key, label in dashboard.TARGET_LABELS:
            row[key]["bar"], row[key]["label"] = _bar(row[key]["rate"]), label
        row["cells"] = [(key, row[key]) for key in dashboard.TARGET_KEYS]
    return Digest(
        manager=manager, week=week, now=now, sources=sources, funnel=dashboard.funnel(scope),
        won={"deals": won["deals"], "amount": from_fen(won["fen"])}, lost=lost, cash=dashboard.quote_to_cash(scope),
        radar=[(kind, n, was, None if was is None else n - was) for kind, n, was in trend if n or was],
        radar_total=sum(n for _kind, n in counts), radar_before=None if before is None else sum(before.values()),
        worst=radar.longest_broken(manager, now, owners=scope.owners, limit=WORST_ITEMS), targets=targets)


@functools.cache
def mail_css() -> str:
    """The preview page's stylesheet, carried in the mail's head: one look for both."""
    return Path(finders.find("insights/digest.css")).read_text(encoding="utf-8")


def digest_render(digest: Digest) -> dict:
    """The digest as a mail's HTML and plain text and a robot's markdown, in the current language."""
    context = {"digest": digest, "target_labels": dashboard.TARGET_LABELS, "css": mail_css(),
               "link_base": settings.CLOSELOOP_BASE_URL.rstrip("/")}
    return {"subject": digest.subject,
            "html": render_to_string("insights/digest/email.html", context),
            "text": render_to_string("insights/digest/email.txt", context).strip(),
            "markdown": render_to_string("insights/digest/robot.md", context).strip()}


def team_robots(manager) -> list[GroupRobot]:
    """The active group robots of the manager's own team that take the digest."""
    if manager.department_id is None:
        return []
    return [robot for robot in GroupRobot.objects.filter(department_id=manager.department_id, is_active=True)
            if robot.wants(DIGEST_KIND)]


def digest_send(*, manager: User, week: date, now: datetime) -> bool:
    """Send `manager` the digest of `week` unless someone did; True when this call sent it."""
    if WeeklyDigest.objects.filter(manager=manager, week=week).exists():
        return False
    in_app, by_email, _summary = channels_for(manager, DIGEST_KIND)
    by_email = by_email and bool(manager.email)
    robots = team_robots(manager)
    content = None
    if by_email or robots or in_app:
        with translation.override(language_of(manager)):
            content = digest_render(digest_build(manager, week, now))
    deliveries = []
    if content and by_email:
        deliveries.append(NotificationDelivery(
            key=f"digest:{manager.pk}:{week.isoformat()}:email", channel=DeliveryChannel.EMAIL, recipient=manager,
            kind=DIGEST_KIND, subject=content["subject"][:200], body=content["text"], html=content["html"],
            url=absolute_url(dashboard_url(week))))
    for robot in robots:
        deliveries.append(NotificationDelivery(
            key=f"digest:{manager.pk}:{week.isoformat()}:robot{robot.pk}", channel=robot.platform, recipient=manager,
            robot=robot, kind=DIGEST_KIND, subject=content["subject"][:200], body=content["markdown"],
            url=absolute_url(dashboard_url(week))))
    try:
        with transaction.atomic():
            # The claim: a second worker's insert fails on the unique key (on PostgreSQL it waits for the first
            # one's commit), and its deliveries roll back with it.
            WeeklyDigest.objects.create(manager=manager, week=week, emailed=by_email and content is not None,
                                        robots=len(robots))
            NotificationDelivery.objects.bulk_create(deliveries)
            if content and in_app:
                Notification.objects.create(recipient=manager, kind=DIGEST_KIND, message=content["subject"],
                                            url=preview_url(manager, week), key=f"digest:{week.isoformat()}")
            keys = [delivery.key for delivery in deliveries]
            transaction.on_commit(lambda: enqueue_deliveries(keys))
    except IntegrityError:
        return False
    return True


def digests_send(*, now: datetime | None = None) -> int:
    """Last week's digest for every manager who has none yet, once this Monday's time has come; how many were sent."""
    now = now or timezone.now()
    week = due_week(now)
    if week is None:
        return 0
    return sum(digest_send(manager=manager, week=week, now=now)
               for manager in reviewers().select_related("department"))
