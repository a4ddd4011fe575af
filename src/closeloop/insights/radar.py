"""The breakpoint radar (流程断点雷达): every record where the loop is broken right now.

The kinds of break come from the apps through the `radar_breaks` hook (core.hooks.RadarBreak), so an app added
above contracts (service: deliveries, tickets, surveys) adds its own without a change here. Each kind is one
query over the records a scope lets through (`visible_to` the viewer, for the lists: ordered by how long the
record has been broken, on each kind's partial index, and paged without counting).

The counts are kept per owner: `recount` (a sweep of the worker, every few minutes) counts each kind over every
record, grouped by owner, into `RadarCount`; `summary` gives a viewer the sum over the owners whose records they
see plus, counted live, what they see beyond them (`shared_with`: collaborations, hand-offs, approvals, a
marketer's channels), which is few records found through small subqueries. Counting every kind through the
visibility subqueries on each page view took seconds at 100k leads. Before the first recount, the counts are live.
"""

import time as clock
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from closeloop.core.hooks import RadarBreak, collect
from closeloop.core.models import User
from closeloop.core.pagination import page_of
from closeloop.core.visibility import owners_seen

from .dashboard import overdue_recount
from .models import OverdueCount, RadarCount, RadarRecount, RadarWeek, RadarWeekKept
from .services import thresholds


def kinds() -> list[RadarBreak]:
    return sorted(collect("radar_breaks"), key=lambda kind: (kind.order, kind.key))


def kind_of(key: str) -> RadarBreak | None:
    return next((kind for kind in kinds() if kind.key == key), None)


# How often the worker recounts (the `insights.radar_recount` sweep); the page says when it last did.
RECOUNT_SECONDS = 300


def everything(queryset):
    """The recount's scope: every record, whoever may see it."""
    return queryset.all()


class Beyond:
    """The scope of what `user` sees beyond their owners' records (`shared_with`); notes whether a model lets them
    see everything, when the owners' sum is the whole count."""

    def __init__(self, user: User, built: dict):
        self.user = user
        self.sees_all = False
        self.built = built  # by model, for the kinds after the first: building the subqueries is the cost

    def __call__(self, queryset):
        self.sees_all = self.sees_all or queryset.sees_all(self.user)
        if queryset.model not in self.built:
            self.built[queryset.model] = queryset.shared_with(self.user)
        return self.built[queryset.model].all()


def of_owner(kind: RadarBreak, found, owner: int):
    """`found` narrowed to one owner's records, with the records nobody owns when the kind names `owner` as who
    answers for them (`RadarBreak.unowned`: a ticket nobody is assigned is the service manager's)."""
    mine = Q(**{f"{kind.owner}_id": owner})
    if kind.unowned is not None and kind.unowned() == owner:
        mine |= Q(**{f"{kind.owner}__isnull": True})
    return found.filter(mine)


def rows(kind: RadarBreak, user: User, now: datetime, *, owner: int | None = None, limits: dict | None = None):
    """The records broken in this way that `user` may see (of one owner when given); `limits` are the
    thresholds by kind (`services.thresholds`, read once per page)."""
    limits = limits if limits is not None else thresholds([kind])
    found = kind.rows(lambda queryset: queryset.visible_to(user), now, limits[kind.key])
    if owner is not None:
        found = of_owner(kind, found, owner)
    return found


def counts(user: User, now: datetime, *, owner: int | None = None) -> list[tuple[RadarBreak, int]]:
    """Every kind with how many records are broken in this way, counted live (one COUNT each)."""
    every = kinds()
    limits = thresholds(every)
    return [(kind, rows(kind, user, now, owner=owner, limits=limits).count()) for kind in every]


def recount(now: datetime | None = None) -> int:
    """Count every kind over every record, by owner, into `RadarCount`, and the dashboard's overdue follow-ups into
    `OverdueCount` (replacing the last counts), and this week's counts into `RadarWeek` (pruning the weeks older than
`CLOSELOOP_RADAR_WEEKS_KEPT`); returns the number of radar rows. The counting runs outside the transaction; the swap takes the recount row's lock."""
    started = clock.monotonic()
    now = now or timezone.now()
    every = kinds()
    limits = thresholds(every)
    kept = []
    for kind in every:
        found = kind.rows(everything, now, limits[kind.key]).order_by()
        # Counted here, not by GROUP BY owner: grouping makes SQLite walk the whole table in an owner index
        # (20 s per lead kind at 1M leads) instead of the kind's partial index (2 s for 400k rows, under load).
        if kind.also_owner:
            pairs = found.values_list(kind.owner, kind.also_owner).iterator(chunk_size=5000)
        else:
            pairs = ((owner, None) for owner in found.values_list(kind.owner, flat=True).iterator(chunk_size=5000))
        if kind.unowned is not None:  # counted as theirs who answer for what nobody owns
            answers = kind.unowned()
            pairs = ((answers if owner is None else owner, also) for owner, also in pairs)
        owners = Counter(pairs)
        kept += [RadarCount(kind=kind.key, owner_id=owner, also_owner_id=also, count=n)
                 for (owner, also), n in owners.items()]
    overdue = overdue_recount(now)  # the dashboard's overdue follow-ups by rep, as of the same moment
    week = week_of(now)
    with transaction.atomic():
        RadarRecount.objects.select_for_update().get_or_create(pk=1, defaults={"counted_at": now})
        RadarCount.objects.all().delete()
        RadarCount.objects.bulk_create(kept, batch_size=1000)
        RadarWeek.objects.filter(week=week).delete()  # this week's latest recount replaces its earlier ones
        RadarWeek.objects.bulk_create([RadarWeek(week=week, kind=row.kind, owner_id=row.owner_id,
                                                 also_owner_id=row.also_owner_id, count=row.count)
                                       for row in kept], batch_size=1000)
        RadarWeekKept.objects.get_or_create(week=week)  # this week has data, even if nothing was broken
        oldest = oldest_week_kept(week)
        if oldest is not None:
            RadarWeek.objects.filter(week__lt=oldest).delete()
            RadarWeekKept.objects.filter(week__lt=oldest).delete()
        OverdueCount.objects.all().delete()
        OverdueCount.objects.bulk_create(overdue, batch_size=1000)
        RadarRecount.objects.filter(pk=1).update(counted_at=now, seconds=clock.monotonic() - started)
    return len(kept)


def summary(user: User, now: datetime, *, owner: int | None = None) -> tuple[list[tuple[RadarBreak, int]], datetime | None]:
    """Every kind with how many records `user` may see broken in this way (of one owner when given), and when
    the per-owner counts were taken (None: no recount yet, so all of it was counted live)."""
    last = RadarRecount.objects.first()
    if last is None:
        return counts(user, now, owner=owner), None
    every = kinds()
    if not user.is_authenticated or not user.is_active:
        return [(kind, 0) for kind in every], last.counted_at
    limits = thresholds(every)
    kept = defaultdict(list)
    for key, *row in RadarCount.objects.values_list("kind", "owner_id", "also_owner_id", "count"):
        kept[key].append(row)
    mine = set(owners_seen(user))
    result, built = [], {}
    for kind in every:
        beyond = Beyond(user, built)
        extra = kind.rows(beyond, now, limits[kind.key])
        seen = kept[kind.key] if beyond.sees_all else [
            row for row in kept[kind.key] if row[0] in mine or row[1] in mine]
        if owner is not None:
            seen = [row for row in seen if row[0] == owner]
            extra = of_owner(kind, extra, owner)
        result.append((kind, sum(row[2] for row in seen) + (0 if beyond.sees_all else extra.count())))
    return result, last.counted_at


# The trend shows this many weeks, the current one last.
TREND_WEEKS = 8


def week_of(moment: datetime) -> date:
    """The Monday of the local week `moment` falls in."""
    day = timezone.localdate(moment)
    return day - timedelta(days=day.weekday())


def oldest_week_kept(current: date) -> date | None:
    """The Monday of the oldest week the radar keeps counts of (`CLOSELOOP_RADAR_WEEKS_KEPT` weeks up to `current`,
    never fewer than the trend shows); None: kept for ever."""
    weeks = settings.CLOSELOOP_RADAR_WEEKS_KEPT
    if weeks <= 0:
        return None
    return current - timedelta(days=7 * (max(weeks, TREND_WEEKS) - 1))


def trend(user: User, now: datetime, *, owner: int | None = None, weeks: int = TREND_WEEKS,
          current: list[tuple[RadarBreak, int]] | None = None) -> dict | None:
    """The last `weeks` weeks' counts per kind that `user` sees (of one owner when given), from `RadarWeek`: a past
    week as of its last recount, by the same owner rule as the radar's counts (`summary`: the owner or second owner
    in the viewer's line, every row of a kind whose records they all see); `current` (the `summary` of the page)
    replaces the current week's figures, so the trend ends on the counts the page shows, what the viewer sees
    beyond their line (collaborations, hand-offs ...) included; past weeks cannot count that part. None before any
    recount kept a week. Returns {"weeks": [Monday, ...], "rows": [(kind, [count or None per week]), ...],
    "gaps": bool}; None marks a week without data (no recount in it: the worker was not running, or before the
    history began), unlike a true 0."""
    if not user.is_authenticated or not user.is_active:
        return None
    current_week = week_of(now)
    mondays = [current_week - timedelta(days=7 * n) for n in range(weeks - 1, -1, -1)]
    if not RadarWeekKept.objects.exists():
        return None
    kept_weeks = set(RadarWeekKept.objects.filter(week__gte=mondays[0], week__lte=current_week)
                     .values_list("week", flat=True))
    every = kinds()
    found = RadarWeek.objects.filter(week__gte=mondays[0], week__lte=current_week)
    if not user.is_admin:
        limits, built, mine, whole = thresholds(every), {}, owners_seen(user), []
        for kind in every:  # the kinds whose records the viewer sees all of (finance: contracts)
            beyond = Beyond(user, built)
            kind.rows(beyond, now, limits[kind.key])
            if beyond.sees_all:
                whole.append(kind.key)
        found = found.filter(Q(kind__in=whole) | Q(owner_id__in=mine) | Q(also_owner_id__in=mine))
    if owner is not None:
        found = found.filter(owner_id=owner)
    kept = {(key, week): n for key, week, n in found.order_by().values("kind", "week").annotate(n=Sum("count"))
            .values_list("kind", "week", "n")}
    now_counts = {kind.key: n for kind, n in current} if current is not None else {}
    if current is not None:
        kept_weeks.add(current_week)

    def figure(kind, week):
        if week not in kept_weeks:
            return None
        if week == current_week and kind.key in now_counts:
            return now_counts[kind.key]
        return kept.get((kind.key, week), 0)

    return {"weeks": mondays, "gaps": len(kept_weeks) < len(mondays),
            "rows": [(kind, [figure(kind, week) for week in mondays]) for kind in every]}


def line_counts(user: User, now: datetime, *, owners: list[int]) -> list[tuple[RadarBreak, int]]:
    """Every kind with how many records of `owners` are broken in this way (the weekly digest: a manager's subtree,
    without what they see beyond it), from the last recount; counted live before the first one."""
    every = kinds()
    if RadarRecount.objects.first() is None:
        limits = thresholds(every)
        return [(kind, rows(kind, user, now, limits=limits).filter(**{f"{kind.owner}__in": owners}).count())
                for kind in every]
    kept = dict(RadarCount.objects.filter(owner_id__in=owners).order_by().values("kind").annotate(n=Sum("count"))
                .values_list("kind", "n"))
    return [(kind, kept.get(kind.key, 0)) for kind in every]


def week_counts(week: date, *, owners: list[int]) -> dict[str, int] | None:
    """How many records of `owners` were broken in each kind at the last recount of the week starting on Monday
    `week` (`RadarWeek`, by kind key; a kind missing had none), or None when no recount ran that week."""
    if not RadarWeekKept.objects.filter(week=week).exists():
        return None
    return dict(RadarWeek.objects.filter(week=week, owner_id__in=owners).order_by().values("kind")
                .annotate(n=Sum("count")).values_list("kind", "n"))


def longest_broken(user: User, now: datetime, *, owners: list[int], limit: int) -> list["Broken"]:
    """The `limit` records of `owners` broken longest, whatever their kind: each kind's longest on its index, then
    the longest of those."""
    every = kinds()
    limits = thresholds(every)
    found = []
    for kind in every:
        records = (rows(kind, user, now, limits=limits).filter(**{f"{kind.owner}__in": owners})
                   .select_related(kind.owner).order_by("broken_since", "pk")[:limit])
        owner_of = _owners(kind)
        found += [Broken(kind, record, owner_of(record), _moment(record.broken_since), now) for record in records]
    return sorted(found, key=lambda broken: broken.since)[:limit]


@dataclass
class Broken:
    """One row of the radar: the record, who owns it, since when it is broken and what mends it."""

    kind: RadarBreak
    record: object
    owner: User | None
    since: datetime
    now: datetime

    @property
    def url(self) -> str:
        return self.record.get_absolute_url()

    @property
    def action_url(self) -> str:
        return self.kind.action_url(self.record)

    @property
    def hours(self) -> int:
        return max(0, int((self.now - self.since).total_seconds() // 3600))

    @property
    def days(self) -> int:
        return self.hours // 24


def _moment(value) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):  # a due date: broken from the start of the day after it
        return timezone.make_aware(datetime.combine(value, time.min)) + timedelta(days=1)
    return timezone.now()


def _owner(record, path: str):
    for name in path.split("__"):
        record = getattr(record, name, None) if record is not None else None
    return record


def _owners(kind: RadarBreak):
    """Who owns a record of the kind: its owner path's user, else who answers for what nobody owns."""
    answers = kind.unowned() if kind.unowned is not None else None
    fallback = User.objects.filter(pk=answers).first() if answers is not None else None
    return lambda record: _owner(record, kind.owner) or fallback


def listing(kind: RadarBreak, user: User, now: datetime, *, page: int, owner: int | None = None,
            per_page: int = 25) -> dict:
    """One page of a kind, longest broken first (`core.pagination.page_of`; its rows are `Broken`)."""
    found = rows(kind, user, now, owner=owner).select_related(kind.owner).order_by("broken_since", "pk")
    result = page_of(found, page=page, per_page=per_page)
    owner_of = _owners(kind)
    result["rows"] = [Broken(kind, record, owner_of(record), _moment(record.broken_since), now)
                      for record in result["rows"]]
    return result


# The export lists at most this many records of each kind (the longest broken), so one download cannot hold a
# web worker for minutes; its Counts sheet says how many of each kind it lists.
EXPORT_ROWS_PER_KIND = 10_000


def every_row(user: User, now: datetime, *, owner: int | None = None, limit_per_kind: int = EXPORT_ROWS_PER_KIND):
    """Every broken record of every kind up to the limit (the Excel export), longest broken first within each kind."""
    every = kinds()
    limits = thresholds(every)
    for kind in every:
        found = rows(kind, user, now, owner=owner, limits=limits).select_related(kind.owner).order_by("broken_since", "pk")
        owner_of = _owners(kind)
        for record in found[:limit_per_kind].iterator(chunk_size=1000):
            yield Broken(kind, record, owner_of(record), _moment(record.broken_since), now)
