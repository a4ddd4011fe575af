"""Substring search on lead company and contact names that an index serves, on both databases.

A name fragment is an `icontains` match, which no B-tree index serves: over a million leads, a
fragment that few leads contain scans the whole table (about a second). Trigram indexes serve it:

- PostgreSQL: `pg_trgm` GIN indexes on `UPPER(name)`, the expression Django's `icontains` compares,
  so the planner uses them for the unchanged query (migration 0006).
- SQLite: an FTS5 table with the trigram tokenizer over both names. Writing it row by row from an
  insert trigger would cut bulk inserts to a third of their speed (FTS5 flushes its buffer at every
  trigger statement; any insert trigger at all costs a third), so inserts are not watched: lead ids
  only grow (AUTOINCREMENT), and every lead above the highest indexed id is a candidate until
  indexed. Renames and deletes are noted by triggers in a queue table. `sync_sqlite_index` (a worker
  sweep, and the bench after generating data) indexes new and queued leads in bulk. A search takes
  the index's matches plus the unindexed and queued leads as candidates and still applies the
  `icontains` condition, so its results are exactly those of the plain substring match, whether or
  not the index has caught up.

Trigrams need three characters: shorter fragments keep the plain match. Django rebuilds a SQLite table
on some schema changes and drops its triggers with it, so `ensure_sqlite_index` runs after every
migrate and re-indexes every lead when a trigger was missing.
"""

from django.db import connection as default_connection
from django.db import transaction

FTS_TABLE = "leads_lead_name_index"
QUEUE_TABLE = "leads_lead_name_queue"
MIN_LENGTH = 3

STATE_TABLE = "leads_lead_name_state"

_TRIGGERS = {
    "leads_lead_name_queue_ad": """
        CREATE TRIGGER IF NOT EXISTS leads_lead_name_queue_ad AFTER DELETE ON leads_lead BEGIN
            INSERT OR IGNORE INTO leads_lead_name_queue(lead_id) VALUES (old.id);
        END""",
    "leads_lead_name_queue_au": """
        CREATE TRIGGER IF NOT EXISTS leads_lead_name_queue_au AFTER UPDATE OF company_name, contact_name ON leads_lead
        WHEN old.company_name IS NOT new.company_name OR old.contact_name IS NOT new.contact_name BEGIN
            INSERT OR IGNORE INTO leads_lead_name_queue(lead_id) VALUES (new.id);
        END""",
}

# PostgreSQL: (index name, column). Django's icontains compares UPPER("col"::text) LIKE UPPER(%s).
PG_INDEXES = [("lead_company_name_trgm", "company_name"), ("lead_contact_name_trgm", "contact_name")]

# Candidate ids for a fragment: what the index matches, leads renamed or deleted since, and leads added since.
CANDIDATES_SQL = (
    "SELECT rowid FROM leads_lead_name_index WHERE leads_lead_name_index MATCH %s "
    "UNION ALL SELECT lead_id FROM leads_lead_name_queue "
    "UNION ALL SELECT id FROM leads_lead WHERE id > (SELECT indexed_upto FROM leads_lead_name_state)"
)


def ensure_sqlite_index(connection=None) -> bool:
    """Create the index, its queue and triggers when missing; re-index every lead if any were. True if it did."""
    connection = connection or default_connection
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        if "leads_lead" not in present:
            return False
        if {FTS_TABLE, QUEUE_TABLE, STATE_TABLE, *_TRIGGERS} <= present:
            return False
        cursor.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS leads_lead_name_index "
            "USING fts5(company_name, contact_name, tokenize='trigram')"
        )
        cursor.execute("CREATE TABLE IF NOT EXISTS leads_lead_name_queue (lead_id INTEGER PRIMARY KEY)")
        cursor.execute("CREATE TABLE IF NOT EXISTS leads_lead_name_state (indexed_upto INTEGER NOT NULL)")
        for sql in _TRIGGERS.values():
            cursor.execute(sql)
        # Leads changed while a trigger was missing are unknown: index them all again, in one statement.
        cursor.execute("DELETE FROM leads_lead_name_index")
        cursor.execute(
            "INSERT INTO leads_lead_name_index(rowid, company_name, contact_name) "
            "SELECT id, company_name, contact_name FROM leads_lead"
        )
        cursor.execute("DELETE FROM leads_lead_name_queue")
        cursor.execute("DELETE FROM leads_lead_name_state")
        cursor.execute("INSERT INTO leads_lead_name_state (indexed_upto) SELECT coalesce(max(id), 0) FROM leads_lead")
    return True


def sync_sqlite_index(connection=None, *, batch: int = 20_000) -> int:
    """Index renamed, deleted and new leads in bulk; returns how many. A no-op on PostgreSQL."""
    connection = connection or default_connection
    if connection.vendor != "sqlite":
        return 0
    done = 0
    while True:
        # One short write transaction per batch, so intake never waits long for the lock.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SELECT max(lead_id), count(*) FROM "
                           "(SELECT lead_id FROM leads_lead_name_queue ORDER BY lead_id LIMIT %s)", [batch])
            last, count = cursor.fetchone()
            if count:
                cursor.execute("DELETE FROM leads_lead_name_index WHERE rowid IN "
                               "(SELECT lead_id FROM leads_lead_name_queue WHERE lead_id <= %s)", [last])
                # Queued leads above the mark are indexed with the new ones below.
                cursor.execute(
                    "INSERT INTO leads_lead_name_index(rowid, company_name, contact_name) "
                    "SELECT id, company_name, contact_name FROM leads_lead WHERE id IN "
                    "(SELECT lead_id FROM leads_lead_name_queue WHERE lead_id <= %s) "
                    "AND id <= (SELECT indexed_upto FROM leads_lead_name_state)", [last])
                cursor.execute("DELETE FROM leads_lead_name_queue WHERE lead_id <= %s", [last])
                done += count
                continue
            cursor.execute("SELECT max(id), count(*) FROM (SELECT id FROM leads_lead WHERE id > "
                           "(SELECT indexed_upto FROM leads_lead_name_state) ORDER BY id LIMIT %s)", [batch])
            last, count = cursor.fetchone()
            if not count:
                return done
            cursor.execute(
                "INSERT INTO leads_lead_name_index(rowid, company_name, contact_name) "
                "SELECT id, company_name, contact_name FROM leads_lead "
                "WHERE id > (SELECT indexed_upto FROM leads_lead_name_state) AND id <= %s", [last])
            cursor.execute("UPDATE leads_lead_name_state SET indexed_upto = %s", [last])
            done += count


def drop_sqlite_index(connection) -> None:
    with connection.cursor() as cursor:
        for name in _TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")  # noqa: S608 - our own constant names
        cursor.execute("DROP TABLE IF EXISTS leads_lead_name_index")
        cursor.execute("DROP TABLE IF EXISTS leads_lead_name_queue")
        cursor.execute("DROP TABLE IF EXISTS leads_lead_name_state")


def drop_first_sqlite_index(connection) -> None:
    """The first version indexed from triggers row by row (slow bulk inserts); migration 0007 removes it."""
    with connection.cursor() as cursor:
        for suffix in ("ai", "ad", "au"):
            cursor.execute(f"DROP TRIGGER IF EXISTS leads_lead_name_fts_{suffix}")  # noqa: S608 - constant names
        cursor.execute("DROP TABLE IF EXISTS leads_lead_name_fts")


def sqlite_phrase(text: str) -> str:
    """An FTS5 phrase matching `text` as a substring (quotes doubled, so any input is a literal)."""
    return '"' + text.replace('"', '""') + '"'


def on_post_migrate(sender, using="default", **kwargs):
    from django.db import connections

    ensure_sqlite_index(connections[using])
