"""One way to page through a list: the page number from the request, then one page of rows.

Lists over a million visible rows page without COUNT(*) (counting them costs more than the page
itself): one row past the page says whether there is a next one. Short lists (users, notifications)
may ask for the count, to say "page 2 of 3".

The JSON API's record lists also sync (`api_list`): given `updated_since` or a `cursor`, a list runs in the
order of (updated_at, id) from that point, and each page gives the `next_cursor` to go on from, an opaque
position after its last row. Another system keeps the cursor and asks again later, and gets every row changed
since, each once per change: a keyset over (updated_at, id) neither skips nor repeats rows when others are
written between two pages, as an offset would. One race is left to close: a change is stamped when its
service runs but seen when its transaction commits, so a row stamped before a cursor's position could
appear after the cursor passed it. Pages therefore hold back rows stamped in the last
CLOSELOOP_API_SYNC_SETTLE_SECONDS (a service's transaction is far shorter; the window also covers clocks of
several app servers a little apart): such a row comes in the next call.

A cursor also carries the caller's sync epoch when it was given (`SyncEpoch`, core/sync.py): a change that
moves what a person may see over many records at once (their team, their role, a manager's subtree) bumps it, and
a cursor from an older epoch is answered 410 `sync_expired`, as a position older than the kept deletions is: records
came into or left their sight without a change of their own to carry them.
"""

import base64
import binascii
import json
import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema

from .apischema import IsoDateTime
from .errors import Gone, invalid


def page_number(request, name: str = "page") -> int:
    """The requested page, 1 for anything that is not a positive number."""
    try:
        return max(1, int(request.GET.get(name, "1")))
    except ValueError:
        return 1


def page_of(rows, *, page: int, per_page: int = 25, count: bool = False) -> dict:
    """One page of a queryset (or list): `rows`, `number`, `has_previous`, `has_next`, `previous`, `next`,
    and `pages` (the number of pages) when `count` is asked for."""
    page = max(1, page)
    pages = None
    if count:
        total = len(rows) if isinstance(rows, list) else rows.count()
        pages = max(1, math.ceil(total / per_page))
        page = min(page, pages)
    window = list(rows[(page - 1) * per_page: page * per_page + 1])
    return {
        "rows": window[:per_page],
        "number": page,
        "has_previous": page > 1,
        "has_next": len(window) > per_page,
        "previous": page - 1,
        "next": page + 1,
        "pages": pages,
    }


def paginate(request, rows, *, per_page: int = 25, count: bool = False) -> dict:
    """`page_of` for the page the request asks for."""
    return page_of(rows, page=page_number(request), per_page=per_page, count=count)


def query_without_page(request) -> str:
    """The request's query string without its page number, for the pager's links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def api_page(rows, *, page: int, page_size: int, item=None) -> dict:
    """One page for the JSON API: `items` (each passed through `item` when given), `page`, `page_size`,
    `has_next`."""
    result = page_of(rows, page=page, per_page=page_size)
    items = result["rows"] if item is None else [item(row) for row in result["rows"]]
    return {"items": items, "page": result["number"], "page_size": page_size, "has_next": result["has_next"]}


def kept_parameters(request, names, *, prefixes=()) -> list[tuple[str, str]]:
    """The query's values for `names`, and for the names starting with one of `prefixes` (custom field filters,
    `cf.` or `deal.cf.`), that a list's form keeps as hidden fields (the dashboard's drill-downs narrow a list by
    what its form does not show)."""
    kept = [(name, request.GET[name]) for name in names if request.GET.get(name)]
    if prefixes:
        # A multiple-choice filter's several options (a repeated parameter) kept as one, joined by commas.
        kept += [(name, ",".join(value for value in request.GET.getlist(name) if value)) for name in request.GET
                 if name not in names and name.startswith(tuple(prefixes)) and any(request.GET.getlist(name))]
    return kept


class ApiPage(Schema):
    """What every API list answers besides its `items`."""

    page: int
    page_size: int
    has_next: bool
    next_cursor: str | None = Field(None, description="When syncing (`updated_since` or `cursor` sent): where to go on "
                                    "from. Follow it while `has_next`, keep it, and send it again later to get what "
                                    "changed since. Null when not syncing. Answered 410 `sync_expired` once what you "
                                    "may see changed over many records at once (your team, role or access; your "
                                    "team's members): read the list again, then sync on.")


class PageParams(Schema):
    page: int = Field(1, ge=1, le=100_000, description="Ignored when syncing.")
    page_size: int = Field(25, ge=1, le=200)


class SyncParams(PageParams):
    updated_since: IsoDateTime | None = Field(None, description="Sync: the rows changed at or after this time, oldest "
                                              "change first (by updated_at, then id).")
    cursor: str | None = Field(None, max_length=200, description="Sync: go on from a page's `next_cursor`.")


def _encode(key: str, stamp: datetime, pk: int, epoch: int = 0) -> str:
    text = json.dumps([key, stamp.astimezone(UTC).isoformat(), pk, epoch], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, key: str) -> tuple[datetime, int, int]:
    """(time, id, epoch) of a cursor; one given before cursors carried an epoch has epoch 0."""
    try:
        name, stamp, pk, *rest = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        epoch = int(rest[0]) if rest else 0
        position = datetime.fromisoformat(stamp).astimezone(UTC), int(pk), epoch
        if name != key or len(rest) > 1 or not 0 <= position[1] < 2**63 or not 0 <= epoch < 2**31:
            raise ValueError(name)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise invalid("cursor", _("This cursor does not come from this list; start again with updated_since.")) from None
    return position


def sync_position(params, key: str = "updated_at") -> tuple[datetime, int] | None:
    """Where a sync asks to go on from, as (`key`'s time, id), from its `cursor` or `updated_since`; None when
    `params` do not ask to sync. A cursor from another list is refused naming it."""
    since, cursor = getattr(params, "updated_since", None), getattr(params, "cursor", None)
    if since is None and not cursor:
        return None
    if cursor:
        return _decode(cursor, key)[:2]
    try:
        return since.astimezone(UTC), 0
    except OverflowError:
        # Year 1 or 9999 in a far time zone: before or after every record.
        return (datetime.min if since.year < 5000 else datetime.max).replace(tzinfo=UTC), 0


def check_epoch(params, caller, key: str = "updated_at") -> int:
    """The caller's sync epoch, after refusing (410 `sync_expired`) a cursor given under another one: what they may
    see changed over many records at once since (core/sync.py, `sight_changed`). Read before the page's rows, so a
    change committed while the page is read makes the next call start again rather than go on past it."""
    from .models import SyncEpoch

    epoch = (SyncEpoch.objects.filter(user_id=caller.pk).values_list("epoch", flat=True).first() or 0
             if caller is not None and caller.pk else 0)
    cursor = getattr(params, "cursor", None)
    if cursor and _decode(cursor, key)[2] != epoch:
        raise Gone(_("What you may see changed since this sync started (your team, your role, your access or a "
                     "reassignment of many records), so records may have come into or left your sight without "
                     "changing. Read the whole list again without updated_since, then sync on from when you "
                     "started."), code="sync_expired", reason="sight_changed")
    return epoch


def api_list(rows, params, *, caller, key: str = "updated_at", item=None) -> dict:
    """One page of an API list (`ApiPage` with `items`): by page number in the list's own order, or, when
    `params` asks to sync (`SyncParams`), from `updated_since` or `cursor` in the order of (`key`, id) (see the
    module's docstring). `key` is a timestamp every change of the row moves (`created_at` for rows never changed).
    `caller` is who asks (the request's user): their cursors carry their sync epoch."""
    position = sync_position(params, key)
    if position is None:
        return api_page(rows, page=params.page, page_size=params.page_size, item=item)
    epoch = check_epoch(params, caller, key)
    stamp, pk = position
    settled = timezone.now() - timedelta(seconds=settings.CLOSELOOP_API_SYNC_SETTLE_SECONDS)
    # (key, id) > (stamp, pk), written as a range on `key` and a filter within it: as an OR of two branches SQLite
    # read both branches whole (a MULTI-INDEX OR) and sorted them, 4 s a page at 1M leads (BENCHMARKS.md).
    after = rows.filter(**{f"{key}__gte": stamp, f"{key}__lte": settled}).filter(
        Q(**{f"{key}__gt": stamp}) | Q(pk__gt=pk))
    window = list(after.order_by(key, "pk")[:params.page_size + 1])
    page = window[:params.page_size]
    if page:
        last = page[-1]
        next_cursor = _encode(key, getattr(last, key), last.pk, epoch)
    else:
        next_cursor = _encode(key, stamp, pk, epoch)
    return {"items": page if item is None else [item(row) for row in page], "page": 1, "page_size": params.page_size,
            "has_next": len(window) > params.page_size, "next_cursor": next_cursor}
