"""Deletions for the API's sync: which records were deleted, so another system that mirrors a list by
`updated_since` and a cursor (core/pagination.py) can drop them too.

Each app names its synced kinds (`LoopApp.synced_kinds()`); core connects one post_delete receiver per model, so
every way a record goes (a service, a merge, a cascade from its parent, an administrator in the admin) leaves one
`Deletion` row in the same transaction. `GET /api/deleted/{kind}` lists them by (deleted_at, id) with the same
`updated_since`/cursor and settle window as the lists.

A caller is told only the deletions of records they could see when they were deleted: a pre_delete receiver asks
the kind's visibility (`visible_to`), while the record still exists, for each person who may call the API (anyone
who ever had a token: a sync runs only with one, and what was deleted before it could not be in their list) and
does not read every record of the kind anyway; their ids are kept on the `Deletion` (`seen_by`). Administrators and
the kind's company-wide roles (finance on quotes, service on tickets) are told every deletion of it. Kinds without
visibility rules (people, products), records without an owner (in a public pool, whose lists every rep syncs) and
deletions kept from before this was recorded are told to every caller.
The cost is one query per deleted record for each caller who does not see everything; a kind whose visibility is
its parent's (`SyncedKind.follows`: follow-ups, contacts) asks once per parent within one delete.

A record that leaves a caller's sight through a change of that one record (a lead, customer or deal reassigned to
another team, released to a pool, a collaboration or hand-off ended) is listed with the deletions, `why: "left"`:
the service that changes it wraps the change in `departures(record)`, which asks the same audience as a deletion
before and after, in the change's transaction, and writes one `Deletion(why="left")` naming who saw it before and
not after. Administrators and company-wide roles never lose sight, so are never told one. A record that comes
back into sight comes again through the list (the change that brought it back moved its `updated_at`). Not told
yet (docs/api-sync.md): the kinds that follow a parent (a lead's follow-ups, a customer's contacts).

A change that moves what a person sees over many records at once cannot be diffed record by record, and the
records that come into sight through it keep their old `updated_at`: a person moved to another department, a role
or a marketer's channels changed, a department moved under another (a manager's subtree), a person deactivated or
back, a bulk reassignment written as one update. Such a change calls `sight_changed` with the people whose sight
it may change, in its transaction: their `SyncEpoch` goes up, every sync cursor they were given before answers
410 `sync_expired` (core/pagination.py), and they read their lists again. Who: the person changed, and the sales
managers whose team (a department subtree) holds the person or department before or after the move but not both
(`team_change_audience`); for a reassignment, the old and new owners' lines (`owner_lines`). Nobody else: not the
person's teammates, not the other team's reps, not administrators and company-wide roles (who see every record).

Deletions are kept CLOSELOOP_API_DELETIONS_DAYS (90) days: a nightly sweep (`deletions_prune`) deletes older ones
and notes per kind how far back it pruned (`DeletionHorizon`). A sync whose position is older than that horizon
may have missed deletions and is answered 410 `sync_expired`: the integrator reads the whole list again (without
`updated_since`), then syncs on from the time it started. A position older than the retention whose deletions were
never pruned (a young installation) still syncs.
"""

import functools
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Literal

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.signals import post_delete, pre_delete
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from .errors import ErrorOut, Gone
from .hooks import SyncedKind, collect
from .pagination import ApiPage, SyncParams, api_list, sync_position


@functools.cache
def kinds() -> dict[str, SyncedKind]:
    return {kind.kind: kind for kind in collect("synced_kinds")}


def sees_every_deletion(model, user) -> bool:
    """Whether `user` is told every deletion of `model`: administrators, the kind's company-wide roles."""
    sees_all = getattr(model._default_manager.all(), "sees_all", None)
    return user.is_admin or bool(sees_all and sees_all(user))


def _audience(model, instance, follows, cache: dict) -> tuple[bool, str]:
    """(scoped, seen_by) of a record of `model` about to be deleted: the API's callers who can see it now, other
    than those told every deletion of the kind. A model without visibility rules is not scoped. A kind whose
    visibility is its parent's (`SyncedKind.follows`: a follow-up's record, a contact's customer) asks the parent's,
    once per parent in one delete (`cache`): a lead's follow-ups deleted with it cost no more than the lead."""
    target, pk = follows(instance) if follows else (model, instance.pk)
    key = (model, target, pk)
    if key in cache:
        return cache[key]
    queryset = target._default_manager.all() if target is not None else None
    if queryset is None or not hasattr(queryset, "visible_to"):
        cache[key] = (False, "")
        return cache[key]
    record = queryset.filter(pk=pk)
    owner = getattr(queryset, "owner_field", "")
    if owner and "__" not in owner:
        owner_id = (getattr(instance, f"{owner}_id", 0) if target is model
                    else record.values_list(f"{owner}_id", flat=True).first())
        if owner_id is None:
            # No owner: a lead or customer in a public pool, which the pools' lists show to every rep.
            cache[key] = (False, "")
            return cache[key]
    cache[key] = (True, _ids(_seers(model, record, _callers(cache))))
    return cache[key]


def _callers(cache: dict) -> list:
    """Who may call the API (anyone who ever had a token, active), asked once per `cache`."""
    from .models import ApiToken, User

    if "callers" not in cache:
        cache["callers"] = list(User.objects.filter(is_active=True, pk__in=ApiToken.objects.values("user_id")))
    return cache["callers"]


def _seers(model, record, callers) -> set[int]:
    """The ids of `callers` who see `record` (a one-record queryset) and are not told every deletion of `model`."""
    return {user.pk for user in callers if not sees_every_deletion(model, user) and record.visible_to(user).exists()}


def _ids(pks) -> str:
    return "," + "".join(f"{pk}," for pk in sorted(pks))


@functools.cache
def _by_model() -> dict:
    return {apps.get_model(kind.model): kind for kind in kinds().values() if kind.follows is None}


@contextmanager
def departures(record):
    """Wrap a change of one synced record that may take it out of some callers' sight (a new owner, a release to a
    pool, a collaborator or hand-off ended), inside the change's transaction: who among the API's callers sees it
    is asked before and after (the deletions' audience), and those who saw it before and not after are told it left
    (`Deletion(why="left")`, listed by `GET /api/deleted/{kind}`). Costs two `EXISTS` per caller who does not see
    every record; nothing for kinds without visibility rules or when no caller saw it."""
    from .models import Deletion

    model = type(record)._meta.concrete_model
    synced = _by_model().get(model)
    queryset = model._default_manager.filter(pk=record.pk)
    if synced is None or not hasattr(queryset, "visible_to"):
        yield
        return
    callers = _callers({})
    before = _seers(model, queryset, callers)
    yield
    left = before - _seers(model, queryset, callers) if before else set()
    if left:
        Deletion.objects.create(kind=synced.kind, record_id=record.pk, deleted_at=timezone.now(), scoped=True,
                                seen_by=_ids(left), why="left")


def sight_changed(user_ids) -> None:
    """What the people `user_ids` may see changed over many records at once: their sync epoch goes up, so the sync
    cursors they hold answer 410 `sync_expired` and they read their lists again. Call it inside the change's
    transaction (a rolled-back change bumps nothing); it costs two statements and a row per person first told."""
    from .models import SyncEpoch

    ids = {pk for pk in user_ids if pk is not None}
    if not ids:
        return
    now = timezone.now()
    SyncEpoch.objects.filter(user_id__in=ids).update(epoch=F("epoch") + 1, changed_at=now)
    known = set(SyncEpoch.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
    SyncEpoch.objects.bulk_create([SyncEpoch(user_id=pk, epoch=1, changed_at=now) for pk in sorted(ids - known)],
                                  ignore_conflicts=True)


def _departments_on(path: str | None) -> set[int]:
    """The departments a materialized path "/1/4/9/" runs through: the one at its end and those above it."""
    return {int(part) for part in (path or "").strip("/").split("/") if part.isdigit()}


def team_change_audience(old_path: str | None, new_path: str | None) -> set[int]:
    """The sales managers whose team changes when people (or a department's subtree) move from the department at
    `old_path` to the one at `new_path`: those whose own department is above (or is) exactly one of the two. A
    manager above both keeps the same team; one inside a moved subtree keeps theirs too."""
    from .models import Role, User

    changed = _departments_on(old_path) ^ _departments_on(new_path)
    if not changed:
        return set()
    return set(User.objects.filter(role=Role.SALES_MANAGER, department_id__in=changed).values_list("pk", flat=True))


def owner_lines(owner_ids) -> set[int]:
    """Who sees records through their owner being `owner_ids`: the owners and the sales managers above their
    departments. What a bulk reassignment written as one update passes to `sight_changed` (old and new owners)."""
    from .models import Department, Role, User

    owners = {pk for pk in owner_ids if pk is not None}
    paths = Department.objects.filter(members__pk__in=owners).values_list("path", flat=True)
    above = set().union(*(_departments_on(path) for path in paths))
    return owners | set(User.objects.filter(role=Role.SALES_MANAGER, department_id__in=above)
                        .values_list("pk", flat=True))


def _delete_cache(origin) -> dict:
    """What one delete (a record or a queryset, with its cascade) has asked already, kept on its origin."""
    cache = getattr(origin, "_closeloop_sync_cache", None)
    if cache is None:
        cache = {}
        try:
            origin._closeloop_sync_cache = cache
        except AttributeError:  # an origin that takes no attribute: ask again for each record
            pass
    return cache


def _receivers(synced: SyncedKind, model):
    def before(sender, instance, origin=None, **kwargs):
        # Asked while the record (and, in a cascade, its parent) still exists.
        instance._closeloop_sync_audience = _audience(model, instance, synced.follows, _delete_cache(origin))

    def record(sender, instance, **kwargs):
        from .models import Deletion

        scoped, seen_by = getattr(instance, "_closeloop_sync_audience", (False, ""))
        Deletion.objects.create(kind=synced.kind, record_id=instance.pk, deleted_at=timezone.now(), scoped=scoped,
                                seen_by=seen_by)

    return before, record


def connect() -> None:
    """Called once by core's ready(): every synced model's deletions are written down, with who could see them."""
    for kind in kinds().values():
        model = apps.get_model(kind.model)
        before, record = _receivers(kind, model)
        pre_delete.connect(before, sender=model, weak=False, dispatch_uid=f"closeloop.sync.deleting.{kind.kind}")
        post_delete.connect(record, sender=model, weak=False, dispatch_uid=f"closeloop.sync.deleted.{kind.kind}")


def deletions_prune(*, now=None, days: int | None = None, batch: int = 1000) -> int:
    """Delete each kind's deletions older than `days` (CLOSELOOP_API_DELETIONS_DAYS; 0: keep them for ever), a batch
    at a time along the sync index, and move the kind's horizon to the cutoff when any went; returns how many."""
    from .models import Deletion, DeletionHorizon

    days = settings.CLOSELOOP_API_DELETIONS_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    total = 0
    for kind in kinds():
        old = Deletion.objects.filter(kind=kind, deleted_at__lt=cutoff).order_by("deleted_at", "id")
        while ids := list(old.values_list("id", flat=True)[:batch]):
            with transaction.atomic():
                # The horizon first: a sync between two batches is already told to start again.
                DeletionHorizon.objects.update_or_create(kind=kind, defaults={"pruned_before": cutoff})
                total += Deletion.objects.filter(id__in=ids).delete()[0]
    return total


def check_not_expired(kind: str, params) -> None:
    """Refuse (410 `sync_expired`) a sync of `kind`'s deletions from before what is kept."""
    from .models import DeletionHorizon

    position = sync_position(params, "deleted_at")
    if position is None:
        return
    horizon = DeletionHorizon.objects.filter(kind=kind).values_list("pruned_before", flat=True).first()
    if horizon is not None and position[0] < horizon:
        raise Gone(_("Deletions before %(time)s are no longer kept, so this sync may have missed some. Read the whole "
                     "list again without updated_since, then sync on from when you started.")
                   % {"time": timezone.localtime(horizon).isoformat(timespec="seconds")},
                   code="sync_expired", kept_since=horizon.isoformat())


router = Router(tags=["sync"])


class DeletionOut(Schema):
    id: int = Field(description="The record's id.")
    deleted_at: datetime = Field(description="When it was deleted, or left your sight.")
    why: Literal["deleted", "left"] = Field(description="`deleted`, or `left`: the record still exists but a change "
                                            "of it (reassigned, released to a pool, a collaboration or hand-off "
                                            "ended) took it out of your sight. Drop both from a mirror.")

    @staticmethod
    def resolve_id(obj):
        return obj.record_id


class DeletionPage(ApiPage):
    items: list[DeletionOut]


# The kinds as the document's enum: this module is first imported by core's ready(), when every app is configured.
Kind = Literal[tuple(kinds())]


@router.get("/{kind}", response={200: DeletionPage, 401: ErrorOut, 410: ErrorOut, 422: ErrorOut},
            summary="The records of a list deleted, or that left your sight, since a time or a cursor",
            description="`kind` is a synced list: leads, customers, contacts, deals, activities, quotes, products, "
            "contracts, tickets, surveys, campaigns, users, saved_views. With `updated_since` or "
            "`cursor` the deletions come oldest first, as the lists' changes do; keep the last `next_cursor` beside "
            "the list's own. Only ids, and only of records you could see when they were deleted (administrators, "
            "finance for quotes and contracts and service for tickets and surveys: all). A lead, customer or deal "
            "that left your sight through a change of it (reassigned to another team, released to a pool, a "
            "collaboration or hand-off ended) comes here too, with `why` `left`; if it comes back into your sight, "
            "the list gives it again. "
            "Deletions are kept 90 days by default (CLOSELOOP_API_DELETIONS_DAYS): a sync from a position older "
            "than what was pruned is answered 410 with code `sync_expired`; read the whole list again, then sync "
            "on. So is a cursor given before what you may see changed over many records at once (your team, role or "
            "access changed, or your team's members): such a change moves no record, so nothing here tells it.")
def list_deletions(request, kind: Kind, params: Query[SyncParams]):
    from .models import Deletion

    check_not_expired(kind, params)
    rows = Deletion.objects.filter(kind=kind)
    if sees_every_deletion(apps.get_model(kinds()[kind].model), request.user):
        rows = rows.exclude(why="left")  # who sees every record never loses sight of one
    else:
        rows = rows.filter(Q(scoped=False) | Q(seen_by__contains=f",{request.user.pk},"))
    return api_list(rows.order_by("-deleted_at", "-id"), params, caller=request.user, key="deleted_at")
