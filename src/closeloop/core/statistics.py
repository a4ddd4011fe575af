"""The query planner's statistics, refreshed every night.

SQLite plans a query from `sqlite_stat1`, which only `ANALYZE` writes; without it (a database that was never
analysed) or with it stale (a table that grew from a thousand rows to a million), the planner guesses, and a
guess can turn a dashboard's join into a scan per row: minutes instead of milliseconds on the same indexes.
Every index is read whole, one table per transaction (so the write lock is held for one table at a time: about
4 s for a million leads under load). `analysis_limit` was tried and is wrong for us: it reads the *first* rows of
each index, and an index on a nullable column (the lead's owner) starts with its NULLs, so at 1M leads it
recorded ~1,000 leads per owner from 127k unowned ones and SQLite sorted every unowned lead for the radar's
25-row list (2.3 s instead of milliseconds). PostgreSQL's autovacuum analyses on its own; a nightly `ANALYZE`
there is cheap insurance after bulk loads (imports), which autovacuum sees late.
"""

from django.db import connection, transaction


def statistics_refresh() -> str:
    """Refresh the statistics of every table; returns the database's vendor, for the job's log."""
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit=0")  # every row: see the module's docstring
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        tables = [name for (name,) in cursor.fetchall()]
    for table in tables:
        with transaction.atomic(), connection.cursor() as cursor:  # through the writers' queue, a table at a time
            cursor.execute(f'ANALYZE "{table}"')
    return connection.vendor
