"""The breakpoint radar for other systems: `GET /api/insights/radar` — the counts per kind, and one page of one
kind's records, through the same visibility as the page."""

from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from closeloop.core.errors import ErrorOut, NotFound

from . import radar

router = Router()


class KindOut(Schema):
    key: str
    label: str
    count: int


class BrokenOut(Schema):
    kind: str
    record: str
    url: str
    owner_id: int | None
    owner: str | None
    broken_since: datetime
    hours_broken: int
    action: str
    action_url: str


class TrendOut(Schema):
    week: date  # the Monday
    # Records broken per kind at the week's last recount, of the owners whose records the caller sees (as `kinds`
    # counts them); the current week is `kinds`' counts, with what others share with the caller, past weeks without
    # it; every kind is null in a week without data (no recount in it: the worker was not running, or before the
    # history began), which is not the same as 0.
    counts: dict[str, int | None]


class RadarOut(Schema):
    as_of: datetime
    # When the counts per owner were taken by the worker's recount (null: counted live); the items are live.
    counts_as_of: datetime | None
    kinds: list[KindOut]
    kind: str | None
    items: list[BrokenOut]
    # The last weeks' counts, oldest first (empty before the worker's first recount kept a week).
    trend: list[TrendOut]
    page: int
    has_next: bool


@router.get("/radar", response={200: RadarOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
            summary="Records where the loop is broken now: counts per kind, and a page of one kind")
def get_radar(request, kind: str = Query("", max_length=60), owner: int | None = Query(None, ge=1, le=2**53),
              page: int = Query(1, ge=1, le=100_000)):
    now = timezone.now()
    counts, counted_at = radar.summary(request.user, now, owner=owner)
    chosen = None
    if kind:
        chosen = radar.kind_of(kind)
        if chosen is None:
            raise NotFound(_("No such kind of break."))
    listing = radar.listing(chosen, request.user, now, page=page, owner=owner) if chosen else None
    trend = radar.trend(request.user, now, owner=owner, current=counts)
    weeks = [{"week": week, "counts": {k.key: counts[i] for k, counts in trend["rows"]}}
             for i, week in enumerate(trend["weeks"])] if trend else []
    return {
        "trend": weeks,
        "as_of": now, "counts_as_of": counted_at, "kinds": [{"key": k.key, "label": str(k.label), "count": n} for k, n in counts],
        "kind": chosen.key if chosen else None, "page": page, "has_next": bool(listing and listing["has_next"]),
        "items": [{"kind": row.kind.key, "record": str(row.record), "url": row.url,
                   "owner_id": row.owner.pk if row.owner else None, "owner": str(row.owner) if row.owner else None,
                   "broken_since": row.since, "hours_broken": row.hours, "action": str(row.kind.action),
                   "action_url": row.action_url} for row in (listing["rows"] if listing else [])],
    }
