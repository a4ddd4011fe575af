"""Receivables page latency over 200k contracts' instalments: the `receivables` step of `make bench`, or alone
`python -m bench.receivables`.

Alone it uses the database the environment points at (DATABASE_URL, else a SQLite file under var/bench/); in
the suite, the suite's database. Generates contracts (three instalments each) with `gen_data` when there are
fewer than asked, on the deals there are (and customers and deals first when there are none).
Pages are rendered in-process through Django's test client, so the figures are the server's own time;
the login page is the same run's bare baseline. Budget: the receivables pages ≤ 300 ms (p95).
"""

import argparse
import sys
import time

from bench.pages import measure as measure_page
from bench.pages import measure_worst, say, setup

BUDGET_MS = 300
CONTRACTS = 200_000


def measure(contracts: int, repeats: int) -> list[dict]:
    """Generate up to `contracts` contracts if fewer are there, time the pages; the suite's result lines."""
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from closeloop.contracts.models import Contract, Instalment
    from closeloop.core.models import Role, User
    from closeloop.deals.models import Opportunity

    results = []
    have = Contract.objects.count()
    if have < contracts:
        started = time.monotonic()
        missing = contracts - have
        # Contracts go on the deals there are (several on one deal when there are fewer deals than contracts).
        deals = 0 if Opportunity.objects.exists() else missing
        call_command("gen_data", leads=0, customers=max(deals // 4, 1) if deals else 0, opportunities=deals,
                     contracts=missing, seed=20261206 + have, verbosity=0)
        seconds = time.monotonic() - started
        say(f"generated {missing:,} contracts in {seconds:.0f} s")
        results.append({"what": f"gen-data: {missing:,} contracts, 3 instalments each", "figure": seconds, "unit": "s"})
    receivable = Instalment.objects.filter(receivable=True).count()
    say(f"{connection.vendor}: {Contract.objects.count():,} contracts, {Instalment.objects.count():,} instalments, "
        f"{receivable:,} receivable")

    finance = User.objects.filter(role=Role.FINANCE, is_active=True).first() or User.objects.create_user(
        "bench_finance", "", "x", role=Role.FINANCE)
    manager = User.objects.filter(role=Role.SALES_MANAGER, reports__isnull=False).distinct().first()
    customer = Instalment.objects.filter(receivable=True).values_list("customer_id", flat=True).first()
    pages = [
        ("receivables", "/contracts/receivables/"),
        ("receivables, page 10 of customers", "/contracts/receivables/?page=10"),
        ("drill-down, 31-60 days", "/contracts/receivables/instalments/?bucket=d31_60"),
        ("drill-down, not yet due", "/contracts/receivables/instalments/?bucket=not_due"),
        ("drill-down, one customer", f"/contracts/receivables/instalments/?customer={customer}"),
    ]
    viewers = [user for user in (finance, manager) if user is not None]
    worst, worst_page, baseline = measure_worst([(user, pages) for user in viewers], repeats)
    for user in viewers:
        client = Client()
        client.force_login(user)
        measure_page(client, user, "contract list", "/contracts/", repeats)
    results.append({
        "what": f"receivables pages, {Contract.objects.count():,} contracts (worst p95)", "figure": worst, "unit": "ms",
        "baseline": baseline, "ratio": worst / baseline if baseline else None, "budget": f"<= {BUDGET_MS} ms",
        "status": "PASS" if worst <= BUDGET_MS else "FAIL",
        "note": f"worst: {worst_page}; {receivable:,} receivable instalments; baseline = the login page, anonymous",
    })
    return results


def suite_results(*, quick: bool) -> dict:
    """For `make bench` (`bench.suite`): on the suite's database, Django already set up."""
    return {"results": measure(CONTRACTS, 10 if quick else 20)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receivables", description=__doc__)
    parser.add_argument("--contracts", type=int, default=CONTRACTS)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    setup(f"receivables-{args.contracts}")
    for line in measure(args.contracts, args.repeats):
        say(f"{line['what']}: {line['figure']:,.0f} {line['unit']} {line.get('status', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
