"""Deletions for the API's sync: which records were deleted, so another system that mirrors a list by
`updated_since` and a cursor (core/pagination.py) can drop them too.

Each app names its synced kinds (`LoopApp.synced_kinds()`); core connects one post_delete receiver per model, so
every way a record goes (a service, a merge, a cascade from its parent, an administrator in the admin) leaves one
`Deletion` row in the same transaction. `GET /api/deleted/{kind}` lists them by (deleted_at, id) with the same
`updated_since`/cursor and settle window as the lists.

What is not reported: a record that only left the caller's sight (reassigned to another team, claimed from a pool,
a hand-off ended) is not deleted and does not come; its next change does not reach that caller either. An
integrator that needs to know asks for the record by id (404: no longer theirs) or compares a full list now and
then. Deletions are listed to every caller by id alone, with no other field: the record is gone, so whether the
caller saw it can no longer be asked.
"""

import functools
from datetime import datetime
from typing import Literal

from django.apps import apps
from django.db.models.signals import post_delete
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from .errors import ErrorOut
from .hooks import SyncedKind, collect
from .pagination import ApiPage, SyncParams, api_list


@functools.cache
def kinds() -> dict[str, SyncedKind]:
    return {kind.kind: kind for kind in collect("synced_kinds")}


def _receiver(kind: str):
    def record(sender, instance, **kwargs):
        from .models import Deletion

        Deletion.objects.create(kind=kind, record_id=instance.pk, deleted_at=timezone.now())

    return record


def connect() -> None:
    """Called once by core's ready(): every synced model's deletions are written down."""
    for kind in kinds().values():
        post_delete.connect(_receiver(kind.kind), sender=apps.get_model(kind.model), weak=False,
                            dispatch_uid=f"closeloop.sync.deleted.{kind.kind}")



router = Router(tags=["sync"])


class DeletionOut(Schema):
    id: int = Field(description="The deleted record's id.")
    deleted_at: datetime

    @staticmethod
    def resolve_id(obj):
        return obj.record_id


class DeletionPage(ApiPage):
    items: list[DeletionOut]


# The kinds as the document's enum: this module is first imported by core's ready(), when every app is configured.
Kind = Literal[tuple(kinds())]


@router.get("/{kind}", response={200: DeletionPage, 401: ErrorOut, 422: ErrorOut},
            summary="The records of a list deleted since a time or a cursor",
            description="`kind` is a synced list: leads, customers, contacts, deals, activities, quotes, products, "
            "contracts, tickets, surveys, campaigns, users, saved_views. With `updated_since` or "
            "`cursor` the deletions come oldest first, as the lists' changes do; keep the last `next_cursor` beside "
            "the list's own. Only ids: whether you saw the record can no longer be asked. A record that only left "
            "your sight (reassigned, claimed from a pool) is not listed here; ask for it by id (404) to find out.")
def list_deletions(request, kind: Kind, params: Query[SyncParams]):
    from .models import Deletion

    rows = Deletion.objects.filter(kind=kind).order_by("-deleted_at", "-id")
    return api_list(rows, params, key="deleted_at")
