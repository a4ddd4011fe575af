"""PostgreSQL statistics on how a ticket's status and its resolved and closed times go together.

The open-ticket list filters on all three (status open, neither resolved nor closed). They say the same thing, but the
planner multiplies their selectivities as if they were independent: at 100k tickets it expected 1,458 open tickets
where there were 20,345, and so chose to read every open ticket the sales director sees and sort them (231 ms)
instead of walking `ticket_open_idx` newest first and stopping at the page's end (under 30 ms). A multivariate MCV
list over the three columns holds the open combinations ((new|in_progress|waiting), NULL, NULL) and gives the
planner the real count. SQLite has no such statistics and already walks the index; nothing to do there.
"""

from django.db import migrations

STATISTICS = "ticket_open_stats"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (mcv) ON status, resolved_at, closed_at FROM service_ticket"
    )
    # Filled by the next ANALYZE (autovacuum's, after enough changed rows); do it now so an existing database plans
    # well at once. It samples a fixed number of rows, so it stays short on a large table.
    schema_editor.execute("ANALYZE service_ticket")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [("service", "0015_ticket_resolved_index")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
