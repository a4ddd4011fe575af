"""The breakpoint radar (流程断点雷达): every record where the loop is broken right now.

The kinds of break come from the apps through the `radar_breaks` hook (core.hooks.RadarBreak), so an app added
above contracts (service: deliveries, tickets, surveys) adds its own without a change here. Each kind is one
query over the records the viewer may see (the apps' `visible_to`): the counts are one COUNT per kind, the list
of a kind is that query ordered by how long it has been broken and paged without counting.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from closeloop.core.hooks import RadarBreak, collect
from closeloop.core.models import User
from closeloop.core.pagination import page_of

from .services import thresholds


def kinds() -> list[RadarBreak]:
    return sorted(collect("radar_breaks"), key=lambda kind: (kind.order, kind.key))


def kind_of(key: str) -> RadarBreak | None:
    return next((kind for kind in kinds() if kind.key == key), None)


def rows(kind: RadarBreak, user: User, now: datetime, *, owner: int | None = None, limits: dict | None = None):
    """The records broken in this way that `user` may see (of one owner when given); `limits` are the
    thresholds by kind (`services.thresholds`, read once per page)."""
    limits = limits if limits is not None else thresholds([kind])
    found = kind.rows(user, now, limits[kind.key])
    if owner is not None:
        found = found.filter(**{f"{kind.owner}_id": owner})
    return found


def counts(user: User, now: datetime, *, owner: int | None = None) -> list[tuple[RadarBreak, int]]:
    """Every kind with how many records are broken in this way (one COUNT each)."""
    every = kinds()
    limits = thresholds(every)
    return [(kind, rows(kind, user, now, owner=owner, limits=limits).count()) for kind in every]


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


def listing(kind: RadarBreak, user: User, now: datetime, *, page: int, owner: int | None = None,
            per_page: int = 25) -> dict:
    """One page of a kind, longest broken first (`core.pagination.page_of`; its rows are `Broken`)."""
    found = rows(kind, user, now, owner=owner).select_related(kind.owner).order_by("broken_since", "pk")
    result = page_of(found, page=page, per_page=per_page)
    result["rows"] = [Broken(kind, record, _owner(record, kind.owner), _moment(record.broken_since), now)
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
        for record in found[:limit_per_kind].iterator(chunk_size=1000):
            yield Broken(kind, record, _owner(record, kind.owner), _moment(record.broken_since), now)
