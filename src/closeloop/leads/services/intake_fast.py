"""The intake's hot lookups as prepared statements (`core.fastsql`), beside the service they serve.

An API intake's profile at 100k leads (BENCHMARKS.md, intake) showed Django building these statements
costing many times what the database takes to run them: the idempotency lookup, loading the lead a
duplicate check points at (with its owner) and the round-robin cursor under its lock. Each reads exactly
what the ORM query it replaces read; `leads/tests/test_intake_fast.py` checks that a run of submissions
through the fast path writes the same rows and audit entries as the ORM path.
"""

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from closeloop.core import fastsql
from closeloop.followup.models import Activity, ActivityKind

from ..models import IdempotencyRecord, Lead
from ..quality import AssignmentRule


def idempotency_record(*, user_id: int, key: str) -> IdempotencyRecord | None:
    """The first answer stored under this user's Idempotency-Key, if any."""
    row = fastsql.fetch_one(
        f"SELECT {fastsql.columns(IdempotencyRecord)} FROM {fastsql.table(IdempotencyRecord)} t "  # noqa: S608
        "WHERE t.user_id = %s AND t.key = %s", [user_id, key])
    return fastsql.build(IdempotencyRecord, row) if row is not None else None


def lead_with_owner(pk: int) -> Lead | None:
    """The lead with its owner loaded (`select_related("owner")`), or None when it is gone."""
    user_model = get_user_model()
    width = fastsql.width(Lead)
    row = fastsql.fetch_one(
        f"SELECT {fastsql.columns(Lead, 't')}, {fastsql.columns(user_model, 'u')} FROM {fastsql.table(Lead)} t "  # noqa: S608
        f"LEFT JOIN {fastsql.table(user_model)} u ON u.id = t.owner_id WHERE t.id = %s", [pk])
    if row is None:
        return None
    lead = fastsql.build(Lead, row[:width], "t")
    # A lead without owner leaves the user's columns NULL: no owner to attach (the ORM caches None).
    lead.owner = fastsql.build(user_model, row[width:], "u") if lead.owner_id is not None else None
    return lead


def locked_cursor(rule_pk: int) -> tuple[bool, int | None]:
    """(whether the rule is still there, who it last assigned), its row locked for the transaction on
    PostgreSQL (`select_for_update`); SQLite's IMMEDIATE transaction already serializes writers."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    row = fastsql.fetch_one(
        f"SELECT last_assigned_id FROM {fastsql.table(AssignmentRule)} WHERE id = %s{lock}", [rule_pk])  # noqa: S608
    return (row is not None, row[0] if row is not None else None)


def move_cursor(rule_pk: int, owner_pk: int) -> None:
    fastsql.run(f"UPDATE {fastsql.table(AssignmentRule)} SET last_assigned_id = %s WHERE id = %s",  # noqa: S608
                [owner_pk, rule_pk])


def touch_count(lead: Lead) -> int:
    """The lead's touches, as `scoring.touch_count` counts them."""
    record_type = ContentType.objects.get_for_model(Lead).pk
    row = fastsql.fetch_one(
        f"SELECT COUNT(*) FROM {fastsql.table(Activity)} WHERE record_type_id = %s AND record_id = %s "  # noqa: S608
        "AND kind = %s", [record_type, lead.pk, ActivityKind.TOUCH.value])
    return row[0]


def save_score(lead: Lead) -> None:
    """What `scoring.rescore_lead` writes after scoring: score, grade, explanation and a new `updated_at`
    (in the database only, as its `update()` does)."""
    fastsql.update(Lead, lead.pk, {"score": lead.score, "grade": lead.grade, "score_details": lead.score_details,
                                   "updated_at": timezone.now()})
