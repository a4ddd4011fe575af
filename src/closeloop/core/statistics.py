"""The query planner's statistics, refreshed every night.

SQLite plans a query from `sqlite_stat1`, which only `ANALYZE` writes; without it (a database that was never
analysed) or with it stale (a table that grew from a thousand rows to a million), the planner guesses, and a
guess can turn a dashboard's join into a scan per row: minutes instead of milliseconds on the same indexes.
`analysis_limit` makes it read a sample of each index (about a thousand rows) instead of every row, so the
run takes a moment at any size and holds the write lock only as long. PostgreSQL's autovacuum analyses on its
own; a nightly `ANALYZE` there is cheap insurance after bulk loads (imports), which autovacuum sees late.
"""

from django.db import connection, transaction

SAMPLE_ROWS = 1000


def statistics_refresh() -> str:
    """Refresh the statistics of every table; returns the database's vendor, for the job's log."""
    with transaction.atomic(), connection.cursor() as cursor:  # on SQLite: through the writers' queue
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit={SAMPLE_ROWS}")
        cursor.execute("ANALYZE")
    return connection.vendor
