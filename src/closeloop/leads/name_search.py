"""Substring search on lead company and contact names that an index serves, on both databases.

A name fragment is an `icontains` match, which no B-tree index serves: over a million leads, a
fragment that few leads contain scans the whole table (about a second). Trigram indexes serve it (the SQLite
index is core's generic one, `core/text_search.py`):

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

from closeloop.core import text_search

FTS_TABLE = "leads_lead_name_index"
QUEUE_TABLE = "leads_lead_name_queue"
STATE_TABLE = "leads_lead_name_state"
MIN_LENGTH = text_search.MIN_LENGTH

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

# The index itself is core's generic SQLite trigram index (core/text_search.py), over both names.
INDEX = text_search.TrigramIndex(
    name="leads_lead_name", table="leads_lead", columns=("company_name", "contact_name"),
    select="SELECT id, company_name, contact_name FROM leads_lead", triggers=_TRIGGERS, key="lead_id")

# PostgreSQL: (index name, column). Django's icontains compares UPPER("col"::text) LIKE UPPER(%s).
PG_INDEXES = [("lead_company_name_trgm", "company_name"), ("lead_contact_name_trgm", "contact_name")]

# Candidate ids for a fragment: what the index matches, leads renamed or deleted since, and leads added since.
CANDIDATES_SQL = INDEX.candidates_sql


def ensure_sqlite_index(connection=None) -> bool:
    """Create the index, its queue and triggers when missing; re-index every lead if any were. True if it did."""
    return text_search.ensure(INDEX, connection)


def sync_sqlite_index(connection=None, *, batch: int = 20_000) -> int:
    """Index renamed, deleted and new leads in bulk; returns how many. A no-op on PostgreSQL."""
    return text_search.sync(INDEX, connection, batch=batch)


def drop_sqlite_index(connection) -> None:
    text_search.drop(INDEX, connection)


def drop_first_sqlite_index(connection) -> None:
    """The first version indexed from triggers row by row (slow bulk inserts); migration 0007 removes it."""
    with connection.cursor() as cursor:
        for suffix in ("ai", "ad", "au"):
            cursor.execute(f"DROP TRIGGER IF EXISTS leads_lead_name_fts_{suffix}")  # noqa: S608 - constant names
        cursor.execute("DROP TABLE IF EXISTS leads_lead_name_fts")


sqlite_phrase = text_search.phrase


def on_post_migrate(sender, using="default", **kwargs):
    from django.db import connections

    ensure_sqlite_index(connections[using])
