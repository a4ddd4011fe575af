"""Receivables page latency over 200k contracts' instalments (`python -m bench.receivables`).

Uses the database the environment points at (DATABASE_URL, else a SQLite file under var/bench/); generates
customers, deals and contracts (three instalments each) with `gen_data` when there are fewer than asked.
Pages are rendered in-process through Django's test client, so the figures are the server's own time;
the login page is the same run's bare baseline. Budget: the receivables pages ≤ 300 ms (p95).
"""

import argparse
import sys
import time

from bench.pages import HEADER, measure, say, setup

BUDGET_MS = 300


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receivables", description=__doc__)
    parser.add_argument("--contracts", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    setup(f"receivables-{args.contracts}")
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from closeloop.contracts.models import Contract, Instalment
    from closeloop.core.models import Role, User

    have = Contract.objects.count()
    if have < args.contracts:
        started = time.monotonic()
        deals = args.contracts - have
        call_command("gen_data", leads=0, customers=max(deals // 4, 1), opportunities=deals, contracts=deals,
                     seed=20261206 + have, verbosity=0)
        say(f"generated {deals:,} contracts in {time.monotonic() - started:.0f} s")
    say(f"{connection.vendor}: {Contract.objects.count():,} contracts, {Instalment.objects.count():,} instalments, "
        f"{Instalment.objects.filter(receivable=True).count():,} receivable")

    finance = User.objects.filter(role=Role.FINANCE, is_active=True).first() or User.objects.create_user(
        "bench_finance", "", "x", role=Role.FINANCE)
    manager = User.objects.filter(role=Role.SALES_MANAGER, reports__isnull=False).distinct().first()
    customer = Instalment.objects.filter(receivable=True).values_list("customer_id", flat=True).first()
    pages = [
        ("receivables", "/contracts/receivables/"),
        ("receivables, page 10 of customers", "/contracts/receivables/?page=10"),
        ("drill-down, 31-60 days", "/contracts/receivables/instalments/?bucket=d31_60"),
        ("drill-down, one customer", f"/contracts/receivables/instalments/?customer={customer}"),
    ]
    say(HEADER)
    worst = 0.0
    for user in (finance, manager):
        if user is None:
            continue
        client = Client()
        client.force_login(user)
        # The bare baseline: the login page as an anonymous visitor sees it, in the same run.
        measure(Client(), user, "login page, anonymous (baseline)", "/login/", args.repeats)
        for label, path in pages:
            worst = max(worst, measure(client, user, label, path, args.repeats))
        measure(client, user, "contract list", "/contracts/", args.repeats)
    say(f"receivables pages, worst p95: {worst:.0f} ms (budget {BUDGET_MS} ms): {'ok' if worst <= BUDGET_MS else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
