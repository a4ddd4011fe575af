"""Trigram indexes for searching tickets by a fragment of the number, the subject or the customer's name (see
service/ticket_search.py). On SQLite the index is filled from the tickets there are (the backfill); on PostgreSQL
the GIN indexes are built over them."""

import logging

from django.db import migrations, transaction

from closeloop.service import ticket_search

logger = logging.getLogger(__name__)


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        ticket_search.ensure_sqlite_index(connection)
    elif connection.vendor == "postgresql":
        try:
            # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
            with transaction.atomic(using=connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - without the extension, ticket search stays correct, only slower
            logger.warning("pg_trgm is not available: ticket search will scan the tickets.")
            return
        for index, table, column in ticket_search.PG_INDEXES:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin (UPPER("{column}"::text) gin_trgm_ops)'
            )


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        ticket_search.drop_sqlite_index(connection)
    elif connection.vendor == "postgresql":
        for index, _table, _column in ticket_search.PG_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("service", "0013_custom_fields"), ("deals", "0015_contact_updated_at")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
