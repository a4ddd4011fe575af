"""The receivables summaries (`ReceivableDay`, `ReceivableCustomer`): kept by delta, recounted by a sweep.

`plans.sync_instalments` is the one place an instalment's derived values change (and `payment_plan_save` the
one place instalments are removed); both hand this module what the instalments contributed before and after,
and the difference is added to the summary rows with one `INSERT … ON CONFLICT DO UPDATE SET x = x + delta`
per key. Adding is atomic in the database, so two payments on two contracts of the same rep or customer,
committed in any order, both count (a recount from the instalments inside each transaction would not: each
would miss the other's uncommitted change). Rows that fall to zero instalments stay until the next recount.

`recount()` rebuilds both tables from the instalments (the daily sweep, and `gen-data` after a bulk load); the
tests check that after any sequence of services the kept rows equal a recount.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import connection, transaction

from .models import Instalment, ReceivableCustomer, ReceivableDay

# Where an instalment without a due date is filed: never overdue (see ReceivableDay).
NO_DUE_DATE = date(9999, 12, 31)

# (owner id, customer id, due date, outstanding) of one receivable instalment.
Contribution = tuple[int, int, date, Decimal]


def contribution(instalment: Instalment) -> Contribution | None:
    """What `instalment` adds to the summaries as it stands in memory; None when it is not receivable."""
    if not instalment.receivable or not instalment.pk:
        return None
    return (instalment.owner_id, instalment.customer_id, instalment.due_date or NO_DUE_DATE,
            Decimal(instalment.outstanding))


def contributions(instalments) -> list[Contribution]:
    return [c for c in (contribution(i) for i in instalments) if c is not None]


def _deltas(before: list[Contribution], after: list[Contribution]):
    days, customers = defaultdict(lambda: [Decimal(0), 0]), defaultdict(lambda: [Decimal(0), 0])
    for sign, rows in ((-1, before), (1, after)):
        for owner, customer, due, amount in rows:
            for table, key in ((days, (owner, due)), (customers, (owner, customer))):
                table[key][0] += sign * amount
                table[key][1] += sign
    changed = lambda table: sorted((key, value) for key, value in table.items() if value != [0, 0])  # noqa: E731
    return changed(days), changed(customers)


def _upsert(table: str, keys: tuple[str, str], rows) -> None:
    # Keys in sorted order: two transactions adding to the same rows take their locks in the same order.
    sql = (f"INSERT INTO {table} ({keys[0]}, {keys[1]}, outstanding, instalments) VALUES (%s, %s, %s, %s) "  # noqa: S608
           f"ON CONFLICT ({keys[0]}, {keys[1]}) DO UPDATE SET outstanding = {table}.outstanding + excluded.outstanding, "
           f"instalments = {table}.instalments + excluded.instalments")
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(a, b, amount, count) for (a, b), (amount, count) in rows])


def apply(before: list[Contribution], after: list[Contribution]) -> None:
    """Add the difference between what some instalments contributed `before` and `after` a change."""
    days, customers = _deltas(before, after)
    if days:
        _upsert(ReceivableDay._meta.db_table, ("owner_id", "due_date"), days)
    if customers:
        _upsert(ReceivableCustomer._meta.db_table, ("owner_id", "customer_id"), customers)


def recount() -> int:
    """Rebuild both summaries from the receivable instalments; returns the number of summary rows."""
    day, customer, instalment = (ReceivableDay._meta.db_table, ReceivableCustomer._meta.db_table,
                                 Instalment._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Payments wait for the rebuild instead of adding to rows it is about to replace.
            cursor.execute(f"LOCK TABLE {day}, {customer} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {day}")  # noqa: S608
        cursor.execute(f"DELETE FROM {customer}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {day} (owner_id, due_date, outstanding, instalments) "  # noqa: S608
            f"SELECT owner_id, COALESCE(due_date, %s), SUM(outstanding), COUNT(*) FROM {instalment} "
            f"WHERE receivable GROUP BY owner_id, COALESCE(due_date, %s)", [NO_DUE_DATE, NO_DUE_DATE])
        rows = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {customer} (owner_id, customer_id, outstanding, instalments) "  # noqa: S608
            f"SELECT owner_id, customer_id, SUM(outstanding), COUNT(*) FROM {instalment} "
            f"WHERE receivable GROUP BY owner_id, customer_id")
        return rows + cursor.rowcount
