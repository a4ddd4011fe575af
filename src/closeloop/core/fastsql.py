"""Reading and inserting one record without the ORM's query building, for the few hot paths where the
profile shows Django building a statement costing more than the database running it (an API intake: the
token lookup, the idempotency lookup, loading the matched lead, the inserts under the write lock).

The statement text is built once per model and kept, so the database driver reuses its prepared
statement (sqlite3's statement cache; psycopg's prepared statements); values go through each field's own
`get_db_prep_save` on the way in and the backend's and field's converters on the way out, so a record
read or written here is the record the ORM would read or write. Callers keep the service's rules:
`insert` is `Model.save()` for a new record minus the signals, which only the configuration cache
listens to (`insert` tells it when a model it caches is written).

Statements run on the driver's own cursor (`run`), not through Django's cursor wrapper, whose bookkeeping
(connection lookups through the request-local proxy, rewriting `%s` to SQLite's `?` with a regular
expression on every call) cost ~10 µs a statement, more than SQLite takes to run most of them; an intake
runs a dozen. What the wrapper does that matters is kept: Django's exceptions (`IntegrityError`), the
refusal to run in a broken transaction, and, when queries are logged or wrapped (`assertNumQueries`, an
`execute_wrapper`), the wrapper itself, so those still see every statement.

Use it where a profile says so, beside the service it serves (`leads/services/intake_fast.py`), with a
test that the fast path writes the rows the ORM path writes.
"""

from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

from . import configcache

# Statement text in the driver's parameter style, by Django's text: a fixed set of statements (the callers
# build them from model names and fixed lookup lists), bounded anyway.
_NATIVE: dict[str, str] = {}
_NATIVE_MAX = 2_000


def _native(sql: str) -> str:
    native = _NATIVE.get(sql)
    if native is None:
        # What Django's SQLite cursor does to every statement, done once (sqlite3 wants `?`, Django writes `%s`).
        native = FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")
        if len(_NATIVE) < _NATIVE_MAX:
            _NATIVE[sql] = native
    return native


def run(sql: str, params: Sequence, *, fetch: str = "") -> object:
    """Run one statement with Django's parameter style (`%s`) on the default database and return
    `fetchone()` (fetch="one"), `fetchall()` ("all"), or the rows changed ("" — for writes)."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.queries_logged or conn.execute_wrappers:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if fetch == "one" else cursor.fetchall() if fetch == "all" else cursor.rowcount
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    conn.validate_thread_sharing()
    conn.validate_no_broken_transaction()
    with conn.wrap_database_errors:
        if conn.vendor == "sqlite":
            # The plain sqlite3 cursor (Django's own would rewrite the text again).
            cursor = conn.connection.cursor()
            sql = _native(sql)
        elif settings.CLOSELOOP_PG_PREPARED_STATEMENTS and conn.vendor == "postgresql":
            return _run_prepared(conn, sql, params, fetch)
        else:
            cursor = conn.create_cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone() if fetch == "one" else cursor.fetchall() if fetch == "all" else cursor.rowcount
        finally:
            cursor.close()


_INSERTS: dict[tuple[type, str], tuple[str, list]] = {}
_READERS: dict[tuple[type, str, str], tuple[str, list]] = {}


def insert_sql(model: type[models.Model], fields: Sequence[models.Field], *, returning_pk: bool = False) -> str:
    """`INSERT INTO table (columns of fields, in order) VALUES (%s, …)`, optionally `RETURNING` the primary key:
    the one INSERT builder, for `insert` here and the many-row inserts of `core.bulk`."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    returning = f" RETURNING {quote(model._meta.pk.column)}" if returning_pk else ""
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks}){returning}"  # noqa: S608 - names from the model


def _insert_statement(model: type[models.Model]) -> tuple[str, list]:
    key = (model, connection.vendor)
    found = _INSERTS.get(key)
    if found is None:
        fields = [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
        found = _INSERTS[key] = (insert_sql(model, fields, returning_pk=True), [(f, _preparer(f)) for f in fields])
    return found


# Fields whose database value is the Python value when it already has the plain type (their
# `get_db_prep_save` would only check that): for a lead's ~50 columns the generic call cost more than the INSERT.
_PLAIN = {models.CharField: (str,), models.TextField: (str,), models.IntegerField: (int,),
          models.PositiveIntegerField: (int,), models.PositiveSmallIntegerField: (int,),
          models.SmallIntegerField: (int,), models.BigIntegerField: (int,), models.BooleanField: (bool,),
          models.ForeignKey: (int,)}


def _preparer(field):
    plain = _PLAIN.get(type(field))
    if plain == (int,) and (connection.vendor != "sqlite" or (
            isinstance(field, models.ForeignKey)
            and type(field.target_field) not in (models.AutoField, models.BigAutoField))):
        # PostgreSQL's backend types integers for psycopg; a key to a non-integer primary key needs its field.
        plain = None

    def prepare(value):
        if value is None or (plain is not None and type(value) in plain):
            return value
        return field.get_db_prep_save(value, connection)

    return prepare


def insert(instance: models.Model) -> models.Model:
    """Save a new record in one INSERT, as `instance.save()` would (defaults, `auto_now`, values as the
    fields prepare them), and give it its primary key."""
    sql, fields = _insert_statement(type(instance))
    params = [prepare(f.pre_save(instance, True)) for f, prepare in fields]
    instance.pk = run(sql, params, fetch="one")[0]
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS
    configcache.model_changed(type(instance))
    return instance


_UPDATES: dict[tuple[type, tuple, str], tuple[str, list]] = {}


def update(model: type[models.Model], pk, values: dict) -> int:
    """`model.objects.filter(pk=pk).update(**values)` for plain values (no expressions) in one prepared
    UPDATE, each value prepared by its field; returns the rows changed."""
    names = tuple(values)
    key = (model, names, connection.vendor)
    found = _UPDATES.get(key)
    if found is None:
        meta = model._meta
        fields = [meta.get_field(name) for name in names]
        quote = connection.ops.quote_name
        sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608 - names from the model
        found = _UPDATES[key] = (sql, [_preparer(f) for f in fields])
    sql, preparers = found
    params = [prepare(values[name]) for name, prepare in zip(names, preparers, strict=True)]
    changed = run(sql, [*params, pk])
    configcache.model_changed(model)
    return changed


def _reader(model: type[models.Model], prefix: str) -> tuple[str, list]:
    """`alias.col, …` for every concrete column, with each column's converters from database values."""
    key = (model, prefix, connection.vendor)
    found = _READERS.get(key)
    if found is None:
        quote = connection.ops.quote_name
        fields = list(model._meta.concrete_fields)
        select = ", ".join(f"{prefix}.{quote(f.column)}" for f in fields)
        converters = []
        for f in fields:
            col = f.get_col(prefix)
            converters.append([*connection.ops.get_db_converters(col), *f.get_db_converters(connection)])
        found = _READERS[key] = (select, [(f.attname, col_converters, f.get_col(prefix))
                                          for f, col_converters in zip(fields, converters, strict=True)])
    return found


def columns(model: type[models.Model], prefix: str = "t") -> str:
    """The select list `load` reads for `model` under the table alias `prefix`."""
    return _reader(model, prefix)[0]


def width(model: type[models.Model]) -> int:
    return len(model._meta.concrete_fields)


def build(model: type[models.Model], row: Sequence, prefix: str = "t") -> models.Model:
    """A model instance from the columns `columns(model, prefix)` selected, converted as the ORM converts them."""
    _select, fields = _reader(model, prefix)
    conn = connections[DEFAULT_DB_ALIAS]  # the connection itself: the converters read it, the proxy costs per read
    values = []
    for (_attname, converters, col), value in zip(fields, row, strict=True):
        for converter in converters:
            value = converter(value, col, conn)
        values.append(value)
    return model.from_db(DEFAULT_DB_ALIAS, None, values)


def _run_prepared(conn, sql: str, params: Sequence, fetch: str) -> object:
    """PostgreSQL: the statement prepared on the server once per connection and then only executed.

    Django's cursors bind values on the client, so the server parsed and planned each of an intake's
    statements every time (`bench.intake_profile` on PostgreSQL: 2.9-3.0 ms of the server's CPU per intake,
    1.7 ms prepared). A server-binding cursor with `prepare=True` has psycopg prepare it on first use
    and keep it for the connection (Django keeps connections, CONN_MAX_AGE). Only for the fixed statements
    of this module's callers, whose values have their columns' types for the server to infer. The cursor
    reads timestamps in the connection's time zone, as `create_cursor` makes Django's own."""
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor, register_tzloader
    from psycopg.pq import Format

    if conn.connection.prepare_threshold is None:
        # Django turns psycopg's preparing off (None) for connection poolers; a threshold no other statement
        # reaches prepares only the ones asked for here (Django's own cursors bind on the client: never prepared).
        conn.connection.prepare_threshold = 2**31 - 1
    cursor = ServerBindingCursor(conn.connection)
    if conn.timezone != conn.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone:
        register_tzloader(conn.timezone, cursor)
    try:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone() if fetch == "one" else cursor.fetchall() if fetch == "all" else cursor.rowcount
    finally:
        cursor.close()


def fetch_one(sql: str, params: Iterable) -> tuple | None:
    return run(sql, list(params), fetch="one")


def fetch_all(sql: str, params: Iterable) -> list[tuple]:
    return run(sql, list(params), fetch="all")


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)
