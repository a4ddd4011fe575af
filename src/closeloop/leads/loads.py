"""Open leads per owner (`OwnerLoad`), kept by triggers on the lead table and checked by a nightly recount.

Least-load assignment needs each candidate's open leads. Counting them on every intake cost ~1 ms at 100k
leads and grew with the table; the counters cost one indexed upsert in the write that changes a lead's
owner or open state. Triggers, not service code, keep them: a lead opens, changes hands or closes through
many paths (intake, import, the pool and its sweep, edits and status actions, merges, conversion to a deal,
hand-offs, bulk `update()`s, gen-data), and a trigger runs in the writing statement's own transaction for
all of them. `recount()` (the `leads.recount_loads` sweep) compares the counters with a real count, fixes
what differs and logs it, so drift (a restore, a trigger dropped by a table rebuild) does not last.
"""

import logging

from django.db import connection as default_connection
from django.db import transaction

from closeloop.core import fastsql

from .assignment import OPEN_STATUSES

log = logging.getLogger(__name__)

TABLE = "leads_ownerload"
_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)

# SQLite: one trigger per event. UPSERT inside a trigger needs SQLite 3.24 (2018).
_SQLITE_TRIGGERS = {
    "leads_ownerload_insert": f"""
        CREATE TRIGGER IF NOT EXISTS leads_ownerload_insert AFTER INSERT ON leads_lead
        WHEN NEW.owner_id IS NOT NULL AND NEW.status IN ({_OPEN})
        BEGIN
            INSERT INTO {TABLE} (owner_id, open_leads) VALUES (NEW.owner_id, 1)
            ON CONFLICT (owner_id) DO UPDATE SET open_leads = open_leads + 1;
        END""",  # noqa: S608 - constants
    "leads_ownerload_update": f"""
        CREATE TRIGGER IF NOT EXISTS leads_ownerload_update AFTER UPDATE OF owner_id, status ON leads_lead
        WHEN OLD.owner_id IS NOT NEW.owner_id OR (OLD.status IN ({_OPEN})) != (NEW.status IN ({_OPEN}))
        BEGIN
            UPDATE {TABLE} SET open_leads = open_leads - 1
            WHERE owner_id = OLD.owner_id AND OLD.status IN ({_OPEN});
            INSERT INTO {TABLE} (owner_id, open_leads) SELECT NEW.owner_id, 1
            WHERE NEW.owner_id IS NOT NULL AND NEW.status IN ({_OPEN})
            ON CONFLICT (owner_id) DO UPDATE SET open_leads = open_leads + 1;
        END""",  # noqa: S608 - constants
    "leads_ownerload_delete": f"""
        CREATE TRIGGER IF NOT EXISTS leads_ownerload_delete AFTER DELETE ON leads_lead
        WHEN OLD.owner_id IS NOT NULL AND OLD.status IN ({_OPEN})
        BEGIN
            UPDATE {TABLE} SET open_leads = open_leads - 1 WHERE owner_id = OLD.owner_id;
        END""",  # noqa: S608 - constants
}

_POSTGRES_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION leads_ownerload_track() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.owner_id IS NOT NULL AND OLD.status IN ({_OPEN}) THEN
            UPDATE {TABLE} SET open_leads = open_leads - 1 WHERE owner_id = OLD.owner_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.owner_id IS NOT NULL AND NEW.status IN ({_OPEN}) THEN
            INSERT INTO {TABLE} (owner_id, open_leads) VALUES (NEW.owner_id, 1)
            ON CONFLICT (owner_id) DO UPDATE SET open_leads = {TABLE}.open_leads + 1;
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql"""  # noqa: S608 - constants
_POSTGRES_TRIGGERS = {
    "leads_ownerload_insert_delete": """
        CREATE TRIGGER leads_ownerload_insert_delete AFTER INSERT OR DELETE ON leads_lead
        FOR EACH ROW EXECUTE FUNCTION leads_ownerload_track()""",
    "leads_ownerload_update": """
        CREATE TRIGGER leads_ownerload_update AFTER UPDATE OF owner_id, status ON leads_lead
        FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION leads_ownerload_track()""",
}


def _present(cursor, vendor: str) -> set[str]:
    if vendor == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'leads_lead'")
    else:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'leads_lead'::regclass AND NOT tgisinternal")
    return {row[0] for row in cursor.fetchall()}


def ensure_triggers(connection=None) -> bool:
    """Create the counters' triggers when missing (a new database; SQLite drops a table's triggers when a
    migration rebuilds it) and recount, since writes made without them were not counted. True if it did."""
    connection = connection or default_connection
    if connection.vendor not in ("sqlite", "postgresql"):
        return False
    triggers = _SQLITE_TRIGGERS if connection.vendor == "sqlite" else _POSTGRES_TRIGGERS
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if "leads_lead" not in tables or TABLE not in tables:
            return False
        missing = set(triggers) - _present(cursor, connection.vendor)
        if not missing:
            return False
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES_FUNCTION)
        for name in sorted(missing):
            cursor.execute(triggers[name])
        _recount(cursor, quiet=True)
    return True


def drop_triggers(schema_editor) -> None:
    """For the migration's way back."""
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "sqlite":
            for name in _SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        elif schema_editor.connection.vendor == "postgresql":
            for name in _POSTGRES_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON leads_lead")
            cursor.execute("DROP FUNCTION IF EXISTS leads_ownerload_track()")


def _recount(cursor, *, quiet: bool = False) -> list[tuple[int, int, int]]:
    """Set every counter to the real count; [(owner id, counter, count)] for those that differed."""
    cursor.execute(
        f"SELECT owner_id, COUNT(*) FROM leads_lead WHERE owner_id IS NOT NULL AND status IN ({_OPEN}) "  # noqa: S608
        "GROUP BY owner_id")
    counted = dict(cursor.fetchall())
    cursor.execute(f"SELECT owner_id, open_leads FROM {TABLE}")  # noqa: S608 - constant table name
    kept = dict(cursor.fetchall())
    drift = sorted((owner, kept.get(owner, 0), counted.get(owner, 0))
                   for owner in set(counted) | set(kept) if kept.get(owner, 0) != counted.get(owner, 0))
    stale = [owner for owner in kept if owner not in counted]
    if stale:
        cursor.execute(f"DELETE FROM {TABLE} WHERE owner_id IN ({', '.join(['%s'] * len(stale))})", stale)  # noqa: S608
    fixes = [(owner, count) for owner, _kept, count in drift if count]
    if fixes:
        cursor.executemany(
            f"INSERT INTO {TABLE} (owner_id, open_leads) VALUES (%s, %s) "  # noqa: S608 - constant table name
            "ON CONFLICT (owner_id) DO UPDATE SET open_leads = excluded.open_leads", fixes)
    if drift and not quiet:
        log.warning("Open-lead counters drifted for %d owner(s), fixed from a recount: %s", len(drift),
                    ", ".join(f"user {owner} had {kept_n}, counted {count}" for owner, kept_n, count in drift[:20]))
    return drift


def recount(connection=None) -> list[tuple[int, int, int]]:
    """Compare every owner's counter with a count of their open leads, fix and log what differs.

    Runs in one transaction that locks the lead table's writers on SQLite (IMMEDIATE) and the counter rows on
    PostgreSQL, so no write lands between the count and the fix."""
    connection = connection or default_connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
        return _recount(cursor)


def open_loads(owner_ids) -> dict[int, int]:
    """{owner id: open leads} from the counters (owners without a row have none)."""
    ids = list(owner_ids)
    if not ids:
        return {}
    return dict(fastsql.fetch_all(
        f"SELECT owner_id, open_leads FROM {TABLE} WHERE owner_id IN ({', '.join(['%s'] * len(ids))})", ids))  # noqa: S608


def on_post_migrate(sender, using="default", **kwargs):
    from django.db import connections

    ensure_triggers(connections[using])
