"""Receivables page latency over 200k contracts' instalments (`python -m bench.receivables`).

Uses the database the environment points at (DATABASE_URL, else a SQLite file under var/bench/); generates
customers, deals and contracts (three instalments each) with `gen_data` when there are fewer than asked.
Pages are rendered in-process through Django's test client, so the figures are the server's own time;
beside them, the same run's bare page (the login page) as a baseline. Budget: the receivables page ≤ 300 ms.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 300


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receivables", description=__doc__)
    parser.add_argument("--contracts", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    if "DATABASE_URL" not in os.environ:
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / f'receivables-{args.contracts}.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    os.environ.setdefault("CLOSELOOP_DEV", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from closeloop.contracts.models import Contract, Instalment
    from closeloop.core.models import Role, User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
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
    scenarios = [
        ("login page (bare baseline)", "/login/", None),
        ("receivables", "/contracts/receivables/", "rows"),
        ("receivables, page 10 of customers", "/contracts/receivables/?page=10", "rows"),
        ("drill-down, 31-60 days", "/contracts/receivables/instalments/?bucket=d31_60", "rows"),
        ("drill-down, one customer", f"/contracts/receivables/instalments/?customer={customer}", "rows"),
        ("contract list", "/contracts/", "rows"),
    ]
    say(f"{'page':40} {'user':14} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    worst = 0.0
    for user in (finance, manager):
        if user is None:
            continue
        client = Client()
        client.force_login(user)
        for label, path, _kind in scenarios:
            client.get(path)  # warm caches and connections
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code in (200, 302), (path, response.status_code)
            with CaptureQueriesContext(connection) as queries:
                client.get(path)
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            if path.startswith("/contracts/receivables/"):
                worst = max(worst, p95)
            say(f"{label:40} {user.username:14} {statistics.median(times):8.1f} {p95:8.1f} {len(queries):8d}")
    say(f"receivables pages, worst p95: {worst:.0f} ms (budget {BUDGET_MS} ms): {'ok' if worst <= BUDGET_MS else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
