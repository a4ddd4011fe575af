"""The nightly sweep that refreshes the query planner's statistics."""

from django.db import connection

from closeloop.core.schedule import SWEEPS


def _analysed(table: str) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if not cursor.fetchone():
                return False
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
            return cursor.fetchone()[0] > 0
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0] >= 0  # -1: never analysed


def test_the_night_sweep_gives_the_planner_statistics_of_every_table(org, run_worker):
    sweep = SWEEPS["core.refresh_statistics"]
    assert sweep.cron == "40 3 * * *"
    if connection.vendor == "sqlite":  # PostgreSQL's autovacuum may have been first
        assert not _analysed("core_user")
    sweep.enqueue()
    run_worker()
    assert _analysed("core_user")
    assert _analysed("core_department")
