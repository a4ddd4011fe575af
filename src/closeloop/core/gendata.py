"""Bulk loading for `closeloop gen-data`: rows written with the database's bulk path (SQLite
`executemany` in large transactions, PostgreSQL `COPY`), never through the ORM's per-row save, so a
million records load in minutes. The apps build their rows in their own `gen_data` hooks
(leads/gendata.py, deals/gendata.py ...) and write them with `BulkWriter`.
"""

import json
from datetime import UTC
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import fields as model_fields
from django.utils import timezone


class BulkWriter:
    """Inserts plain rows into one model's table with the fastest path the database offers."""

    def __init__(self, model):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.columns = [f.column for f in self.fields]
        self.vendor = connection.vendor
        self.fallback = {}
        now = timezone.now()
        for field in self.fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                # What a save would have written, when the app's rows leave it out.
                self.fallback[field.attname] = now
                continue
            if field.has_default() and not callable(field.default):
                self.fallback[field.attname] = field.default
            elif field.has_default():
                self.fallback[field.attname] = field.get_default()
            elif field.null:
                self.fallback[field.attname] = None
            else:
                self.fallback[field.attname] = ""
        self.converters = [self._converter(f) for f in self.fields]

    def _converter(self, field):
        if isinstance(field, model_fields.DateTimeField):
            if self.vendor == "sqlite":
                # Django keeps aware datetimes in SQLite as naive UTC text.
                return lambda v: None if v is None else v.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            return None
        if isinstance(field, model_fields.DecimalField):
            return lambda v: None if v is None else str(Decimal(v))
        if isinstance(field, model_fields.json.JSONField):
            return lambda v: json.dumps(v, ensure_ascii=False)
        if isinstance(field, model_fields.BooleanField) and self.vendor == "sqlite":
            return lambda v: None if v is None else int(v)
        return None

    def tuples(self, rows):
        names = [f.attname for f in self.fields]
        fallback = self.fallback
        conv = self.converters
        for row in rows:
            values = []
            for name, convert in zip(names, conv, strict=True):
                value = row.get(name, fallback[name])
                values.append(convert(value) if convert and value is not None else value)
            yield values

    def write(self, rows) -> int:
        table = connection.ops.quote_name(self.model._meta.db_table)
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        count = 0
        with transaction.atomic(), connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for values in self.tuples(rows):
                        copy.write_row(values)
                        count += 1
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                batch = list(self.tuples(rows))
                cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch)  # noqa: S608
                count = len(batch)
        return count


def write_returning_ids(writer: BulkWriter, batch: list[dict]) -> list[int]:
    """Write `batch` and return the new rows' ids in order. Bulk paths return no ids; the new rows are the
    highest ones, in insertion order (gen-data is the only writer while it runs)."""
    writer.write(batch)
    ids = list(writer.model._base_manager.order_by("-pk").values_list("pk", flat=True)[: len(batch)])
    ids.reverse()
    return ids
