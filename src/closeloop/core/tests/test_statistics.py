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


def test_the_statistics_count_every_row_of_an_index_that_starts_with_nulls(org, make_lead, run_worker):
    """A sample of an index's first rows (`analysis_limit`) sees only the NULLs it starts with: the planner then
    thinks an owner has as many leads as nobody does. The sweep reads every row."""
    from closeloop.leads.models import Lead

    lead = make_lead(owner=org.owner)
    fields = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields if not f.primary_key}
    Lead.objects.bulk_create([Lead(**{**fields, "owner_id": None}) for _ in range(1100)])
    SWEEPS["core.refresh_statistics"].enqueue()
    run_worker()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 'lead_owner_status_idx'")
            rows, per_owner, *_rest = cursor.fetchone()[0].split()
        assert int(rows) == Lead.objects.count() == 1101
        assert int(per_owner) == 551  # 1,101 leads over two owner values (NULL and the owner), rounded up
