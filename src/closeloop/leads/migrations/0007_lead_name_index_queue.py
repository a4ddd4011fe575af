"""SQLite: replace the row-by-row trigger-fed name index of 0006 with the queued one (see leads/name_search.py).

Writing the FTS index from a trigger made every bulk insert of leads about three times slower.
"""

from django.db import migrations

from closeloop.leads import name_search


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        name_search.drop_first_sqlite_index(schema_editor.connection)
        name_search.ensure_sqlite_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("leads", "0006_lead_name_trigram_search")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
