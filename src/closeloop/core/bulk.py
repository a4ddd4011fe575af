"""Rows inserted with one `executemany`, for bulk writes where the ORM's `bulk_create` costs more than the
database: ~10x for an import chunk's leads, audit entries and first-contact tasks.

The caller builds the rows as `{attname: value}` (a model instance's `__dict__` will do, so field defaults are
the model's own); no signals are sent and nothing is read back. The statement is `core.fastsql`'s INSERT (one
builder for both); the values are prepared per column here, not per value as `fastsql.insert` does: a chunk's
plain columns are taken in one C call per row.
"""

from operator import itemgetter

from django.db import DEFAULT_DB_ALIAS, connection, connections

from . import fastsql

_PLAIN_TYPES = {
    "CharField", "TextField", "EmailField", "ForeignKey", "BigAutoField", "AutoField", "IntegerField",
    "SmallIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField", "BigIntegerField", "BooleanField",
}


def _converter(field, db):
    """How a non-plain column's value goes to the database (plain text and numbers go as they are)."""
    name = field.attname
    if field.get_internal_type() == "DateTimeField":
        adapted: dict = {}  # a chunk shares a few timestamp objects; adapt each once (by identity: hashing is slow)

        def datetime_value(values):
            value = values.get(name)
            if value is None:
                return None
            key = id(value)
            if key not in adapted:
                adapted[key] = field.get_db_prep_save(value, db)
            return adapted[key]

        return datetime_value
    if field.get_internal_type() == "JSONField":
        # What `JSONField.get_db_prep_save` does for a plain value (None is SQL NULL), without its layers.
        adapt, encoder = db.ops.adapt_json_value, field.encoder

        def json_value(values):
            value = values.get(name)
            return None if value is None else adapt(value, encoder)

        return json_value
    return lambda values: field.get_db_prep_save(values.get(name), db)


def executemany_insert(model, rows: list[dict], *, with_pk: bool) -> None:
    """INSERT rows given as {attname: value} (a model instance's __dict__ will do) with one executemany."""
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    plain = [f for f in fields if f.get_internal_type() in _PLAIN_TYPES]
    adapted = [f for f in fields if f.get_internal_type() not in _PLAIN_TYPES]
    ordered = plain + adapted  # the column list follows the values: plain ones first, taken in one C call
    take_plain = itemgetter(*[f.attname for f in plain])
    db = connections[DEFAULT_DB_ALIAS]  # the real connection: the `connection` proxy costs a lookup per use
    converters = [_converter(f, db) for f in adapted]
    sql = fastsql.insert_sql(model, ordered)
    params = [take_plain(row) + tuple(convert(row) for convert in converters) for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
