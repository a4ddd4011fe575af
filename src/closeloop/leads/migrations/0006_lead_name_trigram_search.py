"""Trigram indexes for searching leads by a fragment of the company or contact name (see leads/name_search.py)."""

import logging

from django.db import migrations, transaction

from closeloop.leads import name_search

logger = logging.getLogger(__name__)


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        name_search.ensure_sqlite_index(connection)
    elif connection.vendor == "postgresql":
        try:
            # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
            with transaction.atomic(using=connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - without the extension, name search stays correct, only slower
            logger.warning("pg_trgm is not available: lead name search will scan the table.")
            return
        for index, column in name_search.PG_INDEXES:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS {index} ON leads_lead USING gin (UPPER("{column}"::text) gin_trgm_ops)'
            )


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        name_search.drop_sqlite_index(connection)
    elif connection.vendor == "postgresql":
        for index, _column in name_search.PG_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0005_drop_redundant_dedup_indexes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
