"""The lists' search box in custom text values: a field an administrator marks “searchable” (可搜索) is looked in
by its record type's list search, as a substring, through visibility and field-level permission.

Searchable types are those whose stored value is text a person types and reads as stored: text, long text,
phone (stored E.164, `+8613812345678`: its digits are found as typed), email and URL. Choices are found by the
list's filter, a person field stores an id and numbers and dates are not text.

The condition is the list's own kind of match, on the stored value: `icontains`, so ASCII case does not matter on
SQLite and no case matters on PostgreSQL (as for the built-in names), OR-ed over the searchable fields the viewer
may see (a value they may not see never makes a record match). Trigram indexes serve it:

- PostgreSQL: a `pg_trgm` GIN index per searchable field on `UPPER((custom ->> 'key')::text)`, the expression
  the condition compares, made when the switch is turned on and dropped when it is turned off or the field's
  type stops being searchable.
- SQLite: one FTS5 trigram index per record type (core's generic one, `core/text_search.py`) over the record's
  searchable values, one row per record. Its name carries the set of fields it covers, so a changed set gets a
  new index: the switch makes it empty (every record a candidate: the plain match) and drops the old one; the
  worker's sweep (`core.sync_custom_search`, every minute, and enqueued by the switch) fills it in batches and
  then keeps it up with new records, while triggers queue records whose values change or that are deleted.

The index only narrows the candidates; the condition is applied to them, so the results are exactly the plain
substring match's, whether or not the index has caught up and whichever fields it covers.
"""

import hashlib
import logging

from django.apps import apps
from django.db import connection as default_connection
from django.db import transaction
from django.db.models import BooleanField, CharField, Expression, Q
from django.db.models.expressions import RawSQL
from django.db.models.lookups import IContains

from .. import configcache, text_search
from ..models import CustomField
from ..models import CustomFieldType as T
from . import indexes, registry

logger = logging.getLogger(__name__)

SEARCHABLE_TYPES = frozenset({T.TEXT, T.LONG_TEXT, T.PHONE, T.EMAIL, T.URL})
# Above this many candidates, matches are dense enough that walking the list's own order finds a page sooner
# than reading every candidate (as the lead name search).
CANDIDATES_LIMIT = 5_000
# PostgreSQL: a word with more candidates than this has its count guessed before it is read up to the limit.
FEW_CANDIDATES = 500
PREFIX = "cfs_"


class CustomText(Expression):
    """A record's stored text of one custom field: SQLite `JSON_EXTRACT` (a JSON string's text), PostgreSQL
    `->>`."""

    output_field = CharField()

    def __init__(self, key: str, *, unindexed: bool = False):
        super().__init__()
        self.key = indexes._checked(key)
        # PostgreSQL: `|| ''` (the same text, NULL stays NULL) is not the trigram index's expression, so the
        # planner walks the list's own order with the condition as a filter.
        self.unindexed = unindexed

    def _column(self, compiler) -> str:
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name(alias)}.{compiler.connection.ops.quote_name('custom')}"

    def as_sqlite(self, compiler, connection):
        return f"JSON_EXTRACT({self._column(compiler)}, '$.\"{self.key}\"')", []

    def as_postgresql(self, compiler, connection):
        if self.unindexed:
            return f"(({self._column(compiler)} ->> '{self.key}') || '')", []
        return f"({self._column(compiler)} ->> '{self.key}')", []

    def as_sql(self, compiler, connection):
        raise NotImplementedError(connection.vendor)


def is_searchable(field: CustomField) -> bool:
    return bool(field.searchable) and field.type in SEARCHABLE_TYPES


def indexed_fields(target: str) -> list[CustomField]:
    """The fields a record type's index covers: searchable ones, hidden too (showing one again needs no new index;
    the condition leaves hidden fields out)."""
    return sorted((field for field in registry.definitions(target, include_hidden=True) if is_searchable(field)),
                  key=lambda field: field.key)


def searched_fields(target: str, user) -> list[CustomField]:
    """The fields `user`'s search looks in: searchable, shown, and visible to them."""
    return [field for field in registry.visible_fields(target, user) if is_searchable(field)]


def condition(fields, text: str, *, unindexed: bool = False) -> Q:
    """The plain substring match over `fields`' values (what a search finds, index or not)."""
    match = Q()
    for field in fields:
        match |= Q(IContains(CustomText(field.key, unindexed=unindexed), text))
    return match


def matching(target: str, text: str, user) -> Q | None:
    """Records of `target` one of whose searchable values `user` may see contains `text`; None when they search no
    field (or `text` is empty). On SQLite narrowed by the record type's trigram index when that pays."""
    text = (text or "").strip()
    fields = searched_fields(target, user)
    if not text or not fields:
        return None
    exact = condition(fields, text)
    if len(text) < text_search.MIN_LENGTH:
        return exact
    if default_connection.vendor == "postgresql":
        return _pg_matching(target, fields, text)
    if default_connection.vendor != "sqlite":
        return exact
    index = sqlite_index(target)
    if index is None or not _present(index):
        return exact
    if text_search.count_candidates(index, text, CANDIDATES_LIMIT) > CANDIDATES_LIMIT:
        return exact
    return Q(pk__in=RawSQL(index.candidates_sql, [text_search.phrase(text)])) & exact


def _pg_matching(target: str, fields, text: str) -> Q:
    """PostgreSQL: the candidates' ids read first through the fields' GIN indexes, up to CANDIDATES_LIMIT; more
    walk the list's order with the condition as a filter. (Given the condition alone, the planner guessed 100
    matches for a word 10,000 of a million leads hold, read them all through the index and sorted them: 116 ms,
    where walking the list's order took 13.) The lookups are the substring match itself (the expression Django's
    `icontains` compares, with its escaping), so nothing is compared again.

    A word is first read up to FEW_CANDIDATES: more, and the share of the table those rows spanned tells how many
    there are (`_estimate`); only a word that may be under CANDIDATES_LIMIT is then read up to it. Reading 5,001
    candidates of a 1% word cost as much as walking to its page, and of a 10% word (read by a scan) 3–5× that."""
    pattern = f"%{default_connection.ops.prep_for_like_query(text)}%"
    table = default_connection.ops.quote_name(_table(target))
    # Our own names: the table's, and keys checked against KEY_PATTERN. The field's number and the row's block
    # (`ctid`'s first part) are for `_estimate`.
    lookups = " UNION ALL ".join(
        f"SELECT id, {number}, (ctid::text::point)[0]::bigint FROM {table} "  # noqa: S608
        f"WHERE UPPER((\"custom\" ->> '{indexes._checked(field.key)}')::text) LIKE UPPER(%s)"
        for number, field in enumerate(fields))
    few = min(FEW_CANDIDATES, CANDIDATES_LIMIT)
    with default_connection.cursor() as cursor:
        cursor.execute(f"{lookups} LIMIT %s", [pattern] * len(fields) + [few + 1])  # noqa: S608
        rows = cursor.fetchall()
        if len(rows) > few:
            cursor.execute("SELECT pg_relation_size(%s) / current_setting('block_size')::bigint", [_table(target)])
            if _estimate(rows, cursor.fetchone()[0]) > CANDIDATES_LIMIT:
                return condition(fields, text, unindexed=True)
            cursor.execute(f"{lookups} LIMIT %s", [pattern] * len(fields) + [CANDIDATES_LIMIT + 1])  # noqa: S608
            rows = cursor.fetchall()
    # Counted as rows, not distinct ids: a record matching in two fields is two rows, and a cut-off list of rows
    # may hold fewer distinct ids than the limit while missing some.
    if len(rows) > CANDIDATES_LIMIT:
        return condition(fields, text, unindexed=True)
    return Q(AnyId({row[0] for row in rows}))


def _estimate(rows, blocks: int) -> float:
    """How many rows the lookups would give uncut, from a cut-off read of them: `(id, field's number, block)` in
    the order read. A field's lookup reads the table in block order (a bitmap heap scan, or a scan that may start
    anywhere and wrap), so the fields read to the end count as they are and the cut one by the share of the table
    its rows spanned. Only a guess of the cost: either way the list finds the same records."""
    last = rows[-1][1]
    done = sum(1 for row in rows if row[1] != last)
    cut = [row[2] for row in rows if row[1] == last]
    if len(cut) < 2 or blocks <= 0:
        return done + len(cut)
    span = (cut[-1] - cut[0]) % blocks + 1
    return done + (len(cut) - 1) * blocks / span


class AnyId(Expression):
    """PostgreSQL: the record's id is one of `ids`, as `id = ANY(array)`: one parameter (thousands of `IN (%s, ...)`
    cost Django and the planner far more), and unlike `IN (SELECT unnest(...))` the primary key's index serves it
    inside an OR with the list's own name search (a bitmap OR; the subquery made every rare word read the list's
    whole order, 1.9 s at a million leads)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, ids):
        super().__init__()
        self.ids = sorted(ids)

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name(alias)}.{connection.ops.quote_name('id')} = ANY(%s::bigint[])", [self.ids]


def also(built_in: Q, target: str, text: str, user) -> Q:
    """A list's own search condition, or a searchable custom value `user` may see containing `text`."""
    custom = matching(target, text, user)
    return built_in if custom is None else built_in | custom


# SQLite: one FTS5 trigram index per record type over its searchable values.


def _table(target: str) -> str:
    return apps.get_model(target)._meta.db_table


def sqlite_index(target: str, fields: list[CustomField] | None = None) -> text_search.TrigramIndex | None:
    """The record type's index for its searchable fields (or `fields`); None when it has none."""
    fields = indexed_fields(target) if fields is None else fields
    if not fields:
        return None
    table = _table(target)
    keys = sorted(field.key for field in fields)
    digest = hashlib.sha1(",".join(keys).encode(), usedforsecurity=False).hexdigest()[:8]
    name = f"{PREFIX}{table}_{digest}"
    text = " || char(10) || ".join(f"coalesce(JSON_EXTRACT(custom, '$.\"{indexes._checked(key)}\"'), '')"
                                   for key in keys)
    # Our own names: the table's, and keys checked against KEY_PATTERN.
    triggers = {
        f"{name}_ad": (f"CREATE TRIGGER IF NOT EXISTS {name}_ad AFTER DELETE ON {table} BEGIN "  # noqa: S608
                       f"INSERT OR IGNORE INTO {name}_queue(row_id) VALUES (old.id); END"),
        f"{name}_au": (f"CREATE TRIGGER IF NOT EXISTS {name}_au AFTER UPDATE OF custom ON {table} "  # noqa: S608
                       f"WHEN old.custom IS NOT new.custom BEGIN "
                       f"INSERT OR IGNORE INTO {name}_queue(row_id) VALUES (new.id); END"),
    }
    return text_search.TrigramIndex(name=name, table=table, columns=("value",),
                                    select=f"SELECT id, {text} FROM {table}", triggers=triggers)  # noqa: S608


def _present(index, connection=None) -> bool:
    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s)", [index.fts, index.state])
        return cursor.fetchone()[0] == 2


def _others(table: str, keep: str, connection) -> list[str]:
    """The names of a table's indexes of other field sets (left by an earlier set)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE %s ESCAPE '\\'",
                       [f"{PREFIX}{table}_%_state".replace("_", "\\_")])
        states = [row[0] for row in cursor.fetchall()]
    return [state[: -len("_state")] for state in states if state[: -len("_state")] != keep]


def _drop_named(name: str, connection) -> None:
    with connection.cursor() as cursor:
        for trigger in (f"{name}_ad", f"{name}_au"):
            cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for table in (f"{name}_index", f"{name}_queue", f"{name}_state"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _refresh_sqlite(target: str, connection) -> text_search.TrigramIndex | None:
    """Make the record type's current index when missing, empty (filled by `sync`), and drop other sets'. Writes
    (in one transaction) only when something is to change: the sweep calls it every minute."""
    table = _table(target)
    if table not in connection.introspection.table_names():
        return None
    index = sqlite_index(target)
    stale = _others(table, index.name if index else "", connection)
    missing = index is not None and not _present(index, connection)
    if stale or missing:
        with transaction.atomic(using=connection.alias):
            for name in stale:
                _drop_named(name, connection)
            if missing:
                text_search.create_empty(index, connection)
    return index


# PostgreSQL: a pg_trgm GIN index per searchable field.


def pg_index_name(target: str, key: str) -> str:
    return f"cft_{_table(target)}_{indexes._checked(key)}"[:63]


def _pg_index(target: str, key: str, on: bool, connection) -> None:
    name = pg_index_name(target, key)
    with connection.cursor() as cursor:
        if not on:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
            return
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {connection.ops.quote_name(_table(target))} '
                               f"USING gin (UPPER((\"custom\" ->> '{indexes._checked(key)}')::text) gin_trgm_ops)")
        except Exception:  # noqa: BLE001 - without pg_trgm the search stays exact, only slower
            logger.warning("pg_trgm is not available: the search in custom field %s.%s will scan.", target, key)


def field_changed(field: CustomField, *, was_searchable: bool, connection=None) -> None:
    """Bring the record type's search index in line with `field`'s switch and type (the definition services call
    it in their transaction, after saving the field)."""
    connection = connection or default_connection
    now = is_searchable(field)
    if now == was_searchable:
        return
    if connection.vendor == "postgresql":
        _pg_index(field.target, field.key, now, connection)
    elif connection.vendor == "sqlite":
        configcache.clear("core.custom_fields")  # the field as saved in this transaction
        _refresh_sqlite(field.target, connection)
        transaction.on_commit(_enqueue_sync, using=connection.alias)


def _enqueue_sync() -> None:
    from ..tasks import sync_custom_search

    sync_custom_search.enqueue()


def sync(connection=None, *, batch: int = 20_000) -> int:
    """Bring every record type's SQLite index up to date (making a missing one and filling it); returns how many
    records it indexed. A no-op on PostgreSQL."""
    connection = connection or default_connection
    if connection.vendor != "sqlite":
        return 0
    done = 0
    for target in registry.targets():
        index = _refresh_sqlite(target, connection)
        if index is not None:
            done += text_search.sync(index, connection, batch=batch)
    return done


def ensure(connection=None) -> int:
    """After a migrate: re-create what a table rebuild dropped (triggers), re-indexing that record type, on SQLite;
    the per-field indexes on PostgreSQL. Returns how many record types it repaired."""
    connection = connection or default_connection
    repaired = 0
    if connection.vendor == "postgresql":
        for target in registry.targets():
            for field in indexed_fields(target):
                _pg_index(target, field.key, True, connection)
        return 0
    if connection.vendor != "sqlite":
        return 0
    for target in registry.targets():
        index = sqlite_index(target)
        if index is not None and _present(index, connection) and text_search.ensure(index, connection):
            repaired += 1
    return repaired


def on_post_migrate(sender, using="default", **kwargs):
    from django.db import connections

    if "core_customfield" not in connections[using].introspection.table_names():
        return
    ensure(connections[using])
