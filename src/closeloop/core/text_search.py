"""Substring search that an index serves on SQLite: an FTS5 table with the trigram tokenizer, kept by a queue.

A fragment is an `icontains` match, which no B-tree index serves: over a million rows, a fragment that few rows
contain scans the whole table. On PostgreSQL, `pg_trgm` GIN indexes serve the plain condition (each app's
migration makes them). On SQLite, a `TrigramIndex` is an FTS5 table with the trigram tokenizer over some text
columns of a table (or of a join), named by its `name`:

- `<name>_index` (the FTS5 table; its rowid is the source row's id), `<name>_queue` (ids whose text changed or
  that were deleted) and `<name>_state` (`indexed_upto`: the highest id indexed).
- Writing the index row by row from an insert trigger would cut bulk inserts to a third of their speed (FTS5
  flushes its buffer at every trigger statement), so inserts are not watched: ids only grow (AUTOINCREMENT), and
  every row above `indexed_upto` is a candidate until indexed. Changes and deletes are noted by triggers in the
  queue. `sync` (a worker sweep, and gen-data after a bulk load) indexes new and queued rows in bulk.
- A search takes the index's matches plus the unindexed and queued rows as candidates (`candidates_sql`) and
  still applies the `icontains` condition, so its results are exactly those of the plain substring match,
  whether or not the index has caught up.

Trigrams need three characters (`MIN_LENGTH`): shorter fragments need another path. Django rebuilds a SQLite
table on some schema changes and drops its triggers with it, so `ensure` runs after every migrate (each app's
`post_migrate`) and re-indexes every row when a trigger was missing.
"""

from dataclasses import dataclass, field

from django.db import connection as default_connection
from django.db import transaction

MIN_LENGTH = 3


@dataclass(frozen=True)
class TrigramIndex:
    """One SQLite trigram index. `table` is the source table (its `id` the FTS rowid); `select` reads the indexed
    columns as `SELECT <id>, <text>, ... FROM ...` (a join may bring another table's text), with `id_column`
    naming the id in it; `triggers` ({name: CREATE TRIGGER IF NOT EXISTS ...}) queue changed and deleted ids
    into `<name>_queue(<key>)`."""

    name: str  # "leads_lead_name"
    table: str  # "leads_lead"
    columns: tuple[str, ...]  # the FTS columns, in the order `select` reads them
    select: str
    triggers: dict = field(default_factory=dict)
    id_column: str = "id"
    key: str = "row_id"  # the queue's column

    @property
    def fts(self) -> str:
        return f"{self.name}_index"

    @property
    def queue(self) -> str:
        return f"{self.name}_queue"

    @property
    def state(self) -> str:
        return f"{self.name}_state"

    @property
    def candidates_sql(self) -> str:
        """Candidate ids for a phrase (one parameter, `phrase(text)`): what the index matches, rows changed or
        deleted since, and rows added since."""
        return (f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s "  # noqa: S608 - our own constant names
                f"UNION ALL SELECT {self.key} FROM {self.queue} "
                f"UNION ALL SELECT id FROM {self.table} WHERE id > (SELECT indexed_upto FROM {self.state})")

    def _insert(self, where: str) -> str:
        return f"INSERT INTO {self.fts}(rowid, {', '.join(self.columns)}) {self.select} {where}"


def phrase(text: str) -> str:
    """An FTS5 phrase matching `text` as a substring (quotes doubled, so any input is a literal)."""
    return '"' + text.replace('"', '""') + '"'


def ensure(index: TrigramIndex, connection=None) -> bool:
    """Create the index, its queue, state and triggers when missing; re-index every row if any were. True if it
    did. A no-op on PostgreSQL."""
    connection = connection or default_connection
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        if index.table not in present:
            return False
        if {index.fts, index.queue, index.state, *index.triggers} <= present:
            return False
        cursor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {index.fts} "
                       f"USING fts5({', '.join(index.columns)}, tokenize='trigram')")
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {index.queue} ({index.key} INTEGER PRIMARY KEY)")
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {index.state} (indexed_upto INTEGER NOT NULL)")
        for sql in index.triggers.values():
            cursor.execute(sql)
        # Rows changed while a trigger was missing are unknown: index them all again, in one statement.
        cursor.execute(f"DELETE FROM {index.fts}")  # noqa: S608 - our own constant names
        cursor.execute(index._insert(""))
        cursor.execute(f"DELETE FROM {index.queue}")  # noqa: S608
        cursor.execute(f"DELETE FROM {index.state}")  # noqa: S608
        cursor.execute(f"INSERT INTO {index.state} (indexed_upto) SELECT coalesce(max(id), 0) FROM {index.table}")  # noqa: S608
    return True


def create_empty(index: TrigramIndex, connection=None) -> None:
    """Create the index with nothing indexed yet (every row a candidate), its queue and triggers, for `sync` to
    fill in batches: at a million rows `ensure`'s one statement would hold the write lock for seconds."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {index.fts} "
                       f"USING fts5({', '.join(index.columns)}, tokenize='trigram')")
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {index.queue} ({index.key} INTEGER PRIMARY KEY)")
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {index.state} (indexed_upto INTEGER NOT NULL)")
        for sql in index.triggers.values():
            cursor.execute(sql)
        cursor.execute(f"DELETE FROM {index.fts}")  # noqa: S608 - our own constant names
        cursor.execute(f"DELETE FROM {index.queue}")  # noqa: S608
        cursor.execute(f"DELETE FROM {index.state}")  # noqa: S608
        cursor.execute(f"INSERT INTO {index.state} (indexed_upto) VALUES (0)")  # noqa: S608


def sync(index: TrigramIndex, connection=None, *, batch: int = 20_000) -> int:
    """Index changed, deleted and new rows in bulk; returns how many. A no-op on PostgreSQL."""
    connection = connection or default_connection
    if connection.vendor != "sqlite":
        return 0
    fts, queue, state, key, row_id = index.fts, index.queue, index.state, index.key, index.id_column
    done = 0
    while True:
        # One short write transaction per batch, so intake never waits long for the lock.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"SELECT max({key}), count(*) FROM (SELECT {key} FROM {queue} ORDER BY {key} LIMIT %s)",  # noqa: S608
                           [batch])
            last, count = cursor.fetchone()
            if count:
                cursor.execute(f"DELETE FROM {fts} WHERE rowid IN (SELECT {key} FROM {queue} WHERE {key} <= %s)",  # noqa: S608
                               [last])
                # Queued rows above the mark are indexed with the new ones below.
                queued = (f"WHERE {row_id} IN (SELECT {key} FROM {queue} WHERE {key} <= %s) "  # noqa: S608
                          f"AND {row_id} <= (SELECT indexed_upto FROM {state})")  # noqa: S608
                cursor.execute(index._insert(queued), [last])
                cursor.execute(f"DELETE FROM {queue} WHERE {key} <= %s", [last])  # noqa: S608
                done += count
                continue
            cursor.execute(f"SELECT max(id), count(*) FROM (SELECT id FROM {index.table} WHERE id > "  # noqa: S608
                           f"(SELECT indexed_upto FROM {state}) ORDER BY id LIMIT %s)", [batch])
            last, count = cursor.fetchone()
            if not count:
                return done
            added = f"WHERE {row_id} > (SELECT indexed_upto FROM {state}) AND {row_id} <= %s"  # noqa: S608
            cursor.execute(index._insert(added), [last])
            cursor.execute(f"UPDATE {state} SET indexed_upto = %s", [last])  # noqa: S608
            done += count


def drop(index: TrigramIndex, connection) -> None:
    with connection.cursor() as cursor:
        for name in index.triggers:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")  # noqa: S608 - our own constant names
        for table in (index.fts, index.queue, index.state):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608


def count_candidates(index: TrigramIndex, text: str, limit: int, connection=None) -> int:
    """How many candidates a fragment has, counted up to `limit` + 1 (SQLite)."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({index.candidates_sql} LIMIT %s)",  # noqa: S608
                       [phrase(text), limit + 1])
        return cursor.fetchone()[0]
