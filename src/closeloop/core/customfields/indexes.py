"""Filtering records on a custom field's value, and the expression index that serves it.

The filter and the index use one expression, written here for each database with the field's key inlined
(keys are `[a-z][a-z0-9_]*`, checked when a field is created): SQLite `JSON_EXTRACT(custom, '$."key"')`,
PostgreSQL `(custom -> 'key')`. Django's own key lookups pass the key as a bound parameter on SQLite, which
no expression index can match, so the lists filter through `value_filter` instead.

An administrator switches an index on per field (`custom_field_index`): `CREATE INDEX IF NOT EXISTS`, run by
the service rather than a migration since fields are data, not schema; the same statement on both databases.

Multiple choice is stored as a list (in the options' order) and filters by “has any of the chosen options”
(`cf.<key>=A,B`, or the parameter repeated). Its index differs per database:
- PostgreSQL: a GIN index on `(custom -> 'key')`, which serves the containment operator `?|`.
- SQLite: a side table per field of (option, record id), filled from the records when the index is switched on
  and kept by triggers on insert, on an update of `custom` and on delete (every write path: services, imports,
  bulk inserts). A filter counts its candidates there, capped: a few are read as ids, many are probed one by one
  while the list walks its own order (the rule of the custom text search). Without the index the records' JSON is
  read (`json_each`), the same answer.
"""

import json
import re

from django.apps import apps
from django.db import connection
from django.db.models import BooleanField, Exists, Expression, Field, OuterRef, lookups
from django.utils.translation import gettext as _

from ..models import CustomFieldType as T

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Operators a list filter may use on a value; ranges only where the stored form is in order.
OPERATORS = {"eq": lookups.Exact, "gte": lookups.GreaterThanOrEqual, "lte": lookups.LessThanOrEqual}
ORDERED_TYPES = {T.INTEGER, T.DECIMAL, T.MONEY, T.DATE, T.DATETIME}
INDEXABLE_TYPES = set(T.values) - {T.LONG_TEXT}
# Above this many records holding one of the chosen options (SQLite's side table), a multiple-choice filter probes
# each row the list walks in its own order instead of reading every candidate's id first.
CANDIDATES_LIMIT = 5_000
# At most this many options in one multiple-choice filter (bounded input; a field rarely has more).
OPTIONS_LIMIT = 50


def _checked(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"not a custom field key: {key!r}")
    return key


class CustomValue(Expression):
    """A record's stored value of one custom field, as the expression index holds it."""

    output_field = Field()

    def __init__(self, key: str, column: str = "custom"):
        super().__init__()
        self.key = _checked(key)
        self.column = column

    def _column(self, compiler) -> str:
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name(alias)}.{connection.ops.quote_name(self.column)}"

    def as_sqlite(self, compiler, connection):
        return f"JSON_EXTRACT({self._column(compiler)}, '$.\"{self.key}\"')", []

    def as_postgresql(self, compiler, connection):
        return f"({self._column(compiler)} -> '{self.key}')", []

    def as_sql(self, compiler, connection):
        raise NotImplementedError(connection.vendor)


class StoredValue(Expression):
    """A value in its stored form, as the database compares it with `CustomValue`."""

    output_field = Field()

    def __init__(self, value):
        super().__init__()
        self.value = value

    def as_sqlite(self, compiler, connection):
        # JSON_EXTRACT gives text, integers, reals, and 1/0 for JSON true/false.
        return "%s", [int(self.value) if isinstance(self.value, bool) else self.value]

    def as_postgresql(self, compiler, connection):
        return "%s::jsonb", [json.dumps(self.value, ensure_ascii=False)]

    def as_sql(self, compiler, connection):
        raise NotImplementedError(connection.vendor)


class HasAnyOption(Expression):
    """True for a record whose multiple-choice value holds one of `options` (SQLite: `side`, the field's side
    table when it has one, probed for this record; else the record's own JSON)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, key: str, options, side: str | None = None):
        super().__init__()
        self.key = _checked(key)
        self.options = list(options)
        self.side = side

    def _alias(self, compiler) -> str:
        return compiler.quote_name(compiler.query.get_initial_alias())

    def as_sqlite(self, compiler, connection):
        marks = ", ".join(["%s"] * len(self.options))
        alias = self._alias(compiler)
        if self.side:
            return (f"EXISTS (SELECT 1 FROM {connection.ops.quote_name(self.side)} AS cfm WHERE cfm.option IN "  # noqa: S608
                    f"({marks}) AND cfm.record_id = {alias}.{connection.ops.quote_name('id')})"), self.options
        column = f"{alias}.{connection.ops.quote_name('custom')}"
        return (f"EXISTS (SELECT 1 FROM json_each({column}, '$.\"{self.key}\"') AS j "  # noqa: S608
                f"WHERE j.value IN ({marks}))"), self.options

    def as_postgresql(self, compiler, connection):
        alias = self._alias(compiler)
        return f"({alias}.{connection.ops.quote_name('custom')} -> '{self.key}') ?| %s::text[]", [self.options]

    def as_sql(self, compiler, connection):
        raise NotImplementedError(connection.vendor)


def _side_ids(side: str, options):
    """The ids of the records of a side table holding one of `options` (a subquery), and whether they are few
    (at most CANDIDATES_LIMIT) — counted, capped, in the side table's own index."""
    from django.db.models.expressions import RawSQL

    marks = ", ".join(["%s"] * len(options))
    quoted = connection.ops.quote_name(side)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {quoted} WHERE option IN ({marks}) "  # noqa: S608
                       f"LIMIT {CANDIDATES_LIMIT + 1})", list(options))
        few = cursor.fetchone()[0] <= CANDIDATES_LIMIT
    return RawSQL(f"SELECT record_id FROM {quoted} WHERE option IN ({marks})", list(options)), few  # noqa: S608


def any_filter(queryset, field, options, *, probe: bool = False):
    """`queryset` narrowed to records whose multiple-choice `field` holds one of `options`. `probe`: the caller
    asks about one record at a time (`through`), so no candidates are counted."""
    options = list(options)
    if not options:
        return queryset.none()
    side = side_table(queryset.model, field.key) if connection.vendor == "sqlite" and field.indexed else None
    if side and not probe and side_present(side):
        ids, few = _side_ids(side, options)
        if few:
            return queryset.filter(pk__in=ids)
    elif side and not side_present(side):
        side = None
    return queryset.filter(HasAnyOption(field.key, options, side=side))


def value_filter(queryset, field, value, operator: str = "eq", *, probe: bool = False):
    """`queryset` narrowed to records whose `field` (a CustomField) has `value` (stored form), or is at least /
    at most it (`gte` / `lte`, for numbers, dates and times); for multiple choice, holds one of the options in the
    list `value`."""
    if field.type == T.MULTI_CHOICE:
        if operator != "eq":
            raise ValueError("multiple choice values are not ordered")
        return any_filter(queryset, field, value or [], probe=probe)
    if operator != "eq" and field.type not in ORDERED_TYPES:
        raise ValueError(f"{field.type} values are not ordered")
    return queryset.filter(OPERATORS[operator](CustomValue(field.key), StoredValue(value)))


def index_name(model, key: str) -> str:
    return f"cf_{model._meta.db_table}_{_checked(key)}"[:63]


# The lists' default order, newest first: the index holds it after the value, so a filtered list reads its page
# in order from the index (a rare value's 20th page without scanning the newest records for matches, a common one
# without sorting its matches).
LIST_ORDER = ("created_at", "id")


def side_table(model, key: str) -> str:
    """SQLite: the side table of a multiple-choice field's (option, record id) pairs."""
    return f"cfm_{model._meta.db_table}_{_checked(key)}"[:63]


def side_present(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [name])
        return cursor.fetchone() is not None


def _side_sql(model, key: str) -> list[str]:
    """SQLite: the side table of a multiple-choice field, filled from the records, and the triggers that keep it
    (the options of a record's old value out, of its new value in; bounded by a field's options)."""
    quote = connection.ops.quote_name
    side, table, pk = quote(side_table(model, key)), quote(model._meta.db_table), quote(model._meta.pk.column)
    path = f"'$.\"{_checked(key)}\"'"
    trigger = side_table(model, key)
    insert = f"INSERT OR IGNORE INTO {side} (option, record_id)"

    def added(row: str) -> str:
        return f"{insert} SELECT value, {row}.{pk} FROM json_each({row}.custom, {path}) WHERE value IS NOT NULL;"  # noqa: S608

    def removed(row: str) -> str:
        return (f"DELETE FROM {side} WHERE record_id = {row}.{pk} "  # noqa: S608
                f"AND option IN (SELECT value FROM json_each({row}.custom, {path}));")

    return [
        f"CREATE TABLE {side} (option TEXT NOT NULL, record_id INTEGER NOT NULL, PRIMARY KEY (option, record_id)) "
        "WITHOUT ROWID",
        f"{insert} SELECT j.value, t.{pk} FROM {table} AS t, json_each(t.custom, {path}) AS j "  # noqa: S608
        "WHERE t.custom IS NOT NULL AND j.value IS NOT NULL",
        f"CREATE TRIGGER {quote(trigger + '_ai')} AFTER INSERT ON {table} WHEN NEW.custom IS NOT NULL "
        f"BEGIN {added('NEW')} END",
        f"CREATE TRIGGER {quote(trigger + '_au')} AFTER UPDATE OF custom ON {table} "
        f"BEGIN {removed('OLD')} {added('NEW')} END",
        f"CREATE TRIGGER {quote(trigger + '_ad')} AFTER DELETE ON {table} BEGIN {removed('OLD')} END",
    ]


def _side_drop(model, key: str) -> list[str]:
    quote = connection.ops.quote_name
    trigger = side_table(model, key)
    return [*(f"DROP TRIGGER IF EXISTS {quote(trigger + suffix)}" for suffix in ("_ai", "_au", "_ad")),
            f"DROP TABLE IF EXISTS {quote(side_table(model, key))}"]


def _index_sql(model, key: str, multi: bool = False) -> str:
    quote = connection.ops.quote_name
    if multi:
        return (f"CREATE INDEX IF NOT EXISTS {quote(index_name(model, key))} ON {quote(model._meta.db_table)} "
                f"USING gin ((custom -> '{_checked(key)}'))")
    column = quote("custom")
    if connection.vendor == "postgresql":
        expression = f"({column} -> '{_checked(key)}')"
    else:
        expression = f"JSON_EXTRACT({column}, '$.\"{_checked(key)}\"')"
    names = {field.name for field in model._meta.concrete_fields}
    order = "".join(f", {quote(name)} DESC" for name in LIST_ORDER if name in names) if "created_at" in names else ""
    return (f"CREATE INDEX IF NOT EXISTS {quote(index_name(model, key))} ON {quote(model._meta.db_table)} "
            f"({expression}{order})")


def index_create(target: str, key: str, field_type: str | None = None) -> None:
    """Build the field's index (again: an index of an earlier form, the value alone, is replaced). A multiple-choice
    field (`field_type`) gets its GIN index (PostgreSQL) or side table (SQLite) instead of the value's."""
    model = apps.get_model(target)
    index_drop(target, key)
    multi = field_type == T.MULTI_CHOICE
    with connection.cursor() as cursor:
        if multi and connection.vendor == "sqlite":
            for statement in _side_sql(model, key):
                cursor.execute(statement)
        else:
            deferred = connection.vendor == "postgresql"
            if deferred:
                # PostgreSQL builds no index on a table with foreign-key checks still pending in the transaction
                # (rows written before the switch, in the same transaction): check them now, then defer again.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(_index_sql(model, key, multi=multi))
            if deferred:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def indexes_rebuild(fields) -> int:
    """Rebuild the index of every `(target, key)` in `fields` in the current form (the upgrade's migration, for
    indexes switched on before they held the list's order). A target whose app or table is gone is passed by:
    there is nothing to filter. Returns how many were rebuilt."""
    tables = set(connection.introspection.table_names())
    rebuilt = 0
    for target, key in fields:
        try:
            model = apps.get_model(target)
        except (LookupError, ValueError):
            continue
        if model._meta.db_table in tables:
            index_create(target, key)
            rebuilt += 1
    return rebuilt


def index_drop(target: str, key: str) -> None:
    model = apps.get_model(target)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(index_name(model, key))}")
        if connection.vendor == "sqlite":
            for statement in _side_drop(model, key):
                cursor.execute(statement)


def index_exists(target: str, key: str) -> bool:
    model = apps.get_model(target)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return index_name(model, key) in constraints or (
        connection.vendor == "sqlite" and side_present(side_table(model, key)))


QUERY_PREFIX = "cf."


def filters_from_query(fields, query, *, problems: dict | None = None, target: str = "") -> list[tuple]:
    """A list's custom field filters from its query string: `cf.<key>=value` (equal), `cf.<key>.gte=` / `.lte=`
    (at least / at most, for numbers, dates and times), for `fields` (those the viewer may see: filtering on
    another would tell its values). Returns `(field, operator, stored value, text)`. A page's list passes by what
    it cannot use (a value that is not one of its field's type, a key it does not know); given `problems` (a
    dict, the API's), each such parameter is also put there by name with what is wrong, for a 422 naming it; given
    `target` (the API list's record type), an unknown key's message names the call that lists its fields."""
    from . import types

    by_key = {field.key: field for field in fields if field.type in INDEXABLE_TYPES}
    refuse = problems.__setitem__ if problems is not None else (lambda name, message: None)
    chosen = []
    for name in query:
        if not name.startswith(QUERY_PREFIX):
            continue
        key, _dot, operator = name[len(QUERY_PREFIX):].partition(".")
        operator = operator or "eq"
        field = by_key.get(key)
        if field is None:
            # One message for a key that does not exist and one the viewer may not see: no field is told.
            # The field list answers only with its record type: the hint names the call that works as typed.
            refuse(name, _("No custom field “%(key)s” you can filter on; see GET /api/custom-fields/?target=%(target)s.")
                   % {"key": key[:40], "target": target} if target else
                   _("No custom field “%(key)s” you can filter on; see GET /api/custom-fields/.") % {"key": key[:40]})
            continue
        if operator not in OPERATORS or (operator != "eq" and field.type not in ORDERED_TYPES):
            refuse(name, _("“%(field)s” filters on its value (cf.%(key)s=…)%(ranges)s.") % {
                "field": field.label, "key": key,
                "ranges": _(", or a range (.gte, .lte)") if field.type in ORDERED_TYPES else ""})
            continue
        if field.type == T.MULTI_CHOICE:
            # Repeated (a form's several choices) or joined (`A,B`, a link's): any of them.
            texts = query.getlist(name) if hasattr(query, "getlist") else query[name]
            texts = list(texts) if isinstance(texts, list | tuple) else [texts]
            unknown = []
            value = options_chosen(field, texts, unknown=unknown)
            if unknown:
                refuse(name, _("Not among the options: %(values)s. Choose from %(options)s.")
                       % {"values": "、".join(unknown[:10]), "options": "、".join(field.options)})
            if value:
                chosen.append((field, operator, value, ",".join(value)))
            continue
        text = query[name]
        if isinstance(text, list | tuple):
            text = text[-1] if text else ""
        if not str(text).strip():
            continue
        try:
            value = types.parse(field, str(text)[:200])
        except types.ValueProblem as problem:
            refuse(name, str(problem))
            continue
        chosen.append((field, operator, value, str(text)[:200]))
    return chosen


def options_chosen(field, texts, *, unknown: list | None = None) -> list[str]:
    """The options of `field` among `texts` (each an option, or options joined by commas), in the options' order;
    a text that is no option is passed by, as a single choice's is (and added to `unknown` when given)."""
    from . import types

    wanted = set()
    for text in texts[:OPTIONS_LIMIT]:
        text = str(text)[:2000].strip()
        if text in field.options:
            wanted.add(text)
            continue
        for item in types.LIST_SEPARATORS.split(text)[:OPTIONS_LIMIT]:
            try:
                wanted.update(types.parse(field, item) or [])
            except types.ValueProblem:
                if unknown is not None:
                    unknown.append(item.strip()[:100])
                continue
    return [option for option in field.options if option in wanted]


def apply_filters(queryset, chosen):
    for field, operator, value, _text in chosen:
        queryset = value_filter(queryset, field, value, operator)
    return queryset


def apply_filters_listed(queryset, chosen):
    """`queryset` narrowed by the filters `chosen`, each on an indexed field as `id IN (SELECT id … WHERE <value> =
    …)`: the list of ids read from the field's index alone (it holds the id after the value), then one probe per
    row. For a query that walks many rows of another index (every overdue lead), that is cheaper than reading
    each row's JSON: 210 instead of 570 ms CPU for a value of 100k of a million leads, on SQLite."""
    for field, operator, value, text in chosen:
        side = side_table(queryset.model, field.key) if field.type == T.MULTI_CHOICE and field.indexed and (
            connection.vendor == "sqlite") else None
        if side and side_present(side) and value:
            queryset = queryset.filter(pk__in=_side_ids(side, value)[0])
        elif field.indexed:
            listed = value_filter(queryset.model._default_manager.all(), field, value, operator).values("pk")
            queryset = queryset.filter(pk__in=listed)
        else:
            queryset = apply_filters(queryset, [(field, operator, value, text)])
    return queryset


def related_filters(fields, query, prefix: str) -> list[tuple]:
    """Filters on a related record's custom fields, `<prefix>cf.<key>=value` (a deal's fields on the quotes list:
    `deal.cf.industry=制造业`), read as `filters_from_query` reads a list's own."""
    lists = hasattr(query, "getlist")  # a query string's repeated values: a multiple choice's several options
    return filters_from_query(fields, {name[len(prefix):]: query.getlist(name) if lists else query[name]
                                       for name in query if name.startswith(prefix + QUERY_PREFIX)})


def through(queryset, path: str, model, chosen):
    """`queryset` narrowed to the records whose `path` (a foreign key to `model`) is a record that the filters
    `chosen` on `model`'s custom fields keep. Visibility stays `queryset`'s own.

    `EXISTS (… WHERE id = <path> AND <value> = …)`, one primary-key probe per row the rest of the query keeps, rather
    than `path IN (SELECT id … WHERE <value> = …)`: SQLite built that list first, every lead of a common value (a
    tenth of a million took 200 ms) however few records the period kept."""
    if not chosen:
        return queryset
    probed = model._default_manager.filter(pk=OuterRef(path))
    for field, operator, value, _text in chosen:
        probed = value_filter(probed, field, value, operator, probe=True)
    return queryset.filter(Exists(probed))


def query_params(chosen, prefix: str = "") -> dict[str, str]:
    """The query-string parameters that give the filters `chosen` again (with `prefix` for a related record's
    fields): what a link to another list carries."""
    return {f"{prefix}{QUERY_PREFIX}{field.key}" + ("" if operator == "eq" else f".{operator}"): text
            for field, operator, _value, text in chosen}


def list_fields(records, target: str, user, query) -> tuple:
    """A record list's custom fields: `records` narrowed by the `cf.<key>` filters of `query` on the fields `user`
    may see, the columns it shows (those of them an administrator marked “shown in the list”), and the filters it
    offers, `(field, chosen text)`, on those of the columns whose index is switched on."""
    from . import registry

    visible = registry.visible_fields(target, user)
    chosen = filters_from_query(visible, query)
    texts = {(field.key, operator): text for field, operator, _value, text in chosen}
    columns = [field for field in visible if field.list_column]
    offered = [(field, texts.get((field.key, "eq"), "")) for field in columns
               if field.indexed and field.type in INDEXABLE_TYPES]
    return apply_filters(records, chosen), columns, offered
