"""Substring search on lead company and contact names that an index serves, on both databases.

A name fragment is an `icontains` match, which no B-tree index serves: over a million leads, a
fragment that few leads contain scans the whole table (about a second). Trigram indexes serve it:

- PostgreSQL: `pg_trgm` GIN indexes on `UPPER(name)`, the expression Django's `icontains` compares,
  so the planner uses them for the unchanged query (migration 0006).
- SQLite: an FTS5 table with the trigram tokenizer over both names, kept in step by triggers (so bulk
  imports and raw inserts are indexed too). It narrows the candidates; the `icontains` condition is
  still applied, so the results are exactly those of the plain match.

Trigrams need three characters: shorter fragments keep the plain match. Django rebuilds a SQLite table
on some schema changes and drops its triggers with it, so `ensure_sqlite_index` runs after every
migrate and rebuilds the index when a trigger was missing.
"""

from django.db import connection as default_connection

FTS_TABLE = "leads_lead_name_fts"
MIN_LENGTH = 3

_TRIGGERS = {
    "leads_lead_name_fts_ai": """
        CREATE TRIGGER IF NOT EXISTS leads_lead_name_fts_ai AFTER INSERT ON leads_lead BEGIN
            INSERT INTO leads_lead_name_fts(rowid, company_name, contact_name)
            VALUES (new.id, new.company_name, new.contact_name);
        END""",
    "leads_lead_name_fts_ad": """
        CREATE TRIGGER IF NOT EXISTS leads_lead_name_fts_ad AFTER DELETE ON leads_lead BEGIN
            INSERT INTO leads_lead_name_fts(leads_lead_name_fts, rowid, company_name, contact_name)
            VALUES ('delete', old.id, old.company_name, old.contact_name);
        END""",
    "leads_lead_name_fts_au": """
        CREATE TRIGGER IF NOT EXISTS leads_lead_name_fts_au AFTER UPDATE OF company_name, contact_name ON leads_lead
        WHEN old.company_name IS NOT new.company_name OR old.contact_name IS NOT new.contact_name BEGIN
            INSERT INTO leads_lead_name_fts(leads_lead_name_fts, rowid, company_name, contact_name)
            VALUES ('delete', old.id, old.company_name, old.contact_name);
            INSERT INTO leads_lead_name_fts(rowid, company_name, contact_name)
            VALUES (new.id, new.company_name, new.contact_name);
        END""",
}

# PostgreSQL: (index name, column). Django's icontains compares UPPER("col"::text) LIKE UPPER(%s).
PG_INDEXES = [("lead_company_name_trgm", "company_name"), ("lead_contact_name_trgm", "contact_name")]


def ensure_sqlite_index(connection=None) -> bool:
    """Create the FTS table and its triggers when missing; rebuild the index if any were. True if rebuilt."""
    connection = connection or default_connection
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        tables = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
        if "leads_lead" not in tables:
            return False
        missing = FTS_TABLE not in tables or any(name not in tables for name in _TRIGGERS)
        if not missing:
            return False
        cursor.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS leads_lead_name_fts USING fts5("
            "company_name, contact_name, content='leads_lead', content_rowid='id', tokenize='trigram')"
        )
        for sql in _TRIGGERS.values():
            cursor.execute(sql)
        # Rows written while a trigger was missing are not in the index: read it again from the table.
        cursor.execute("INSERT INTO leads_lead_name_fts(leads_lead_name_fts) VALUES ('rebuild')")
    return True


def drop_sqlite_index(connection) -> None:
    with connection.cursor() as cursor:
        for name in _TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")  # noqa: S608 - our own constant names
        cursor.execute("DROP TABLE IF EXISTS leads_lead_name_fts")


def sqlite_phrase(text: str) -> str:
    """An FTS5 phrase matching `text` as a substring (quotes doubled, so any input is a literal)."""
    return '"' + text.replace('"', '""') + '"'


def on_post_migrate(sender, using="default", **kwargs):
    from django.db import connections

    ensure_sqlite_index(connections[using])
