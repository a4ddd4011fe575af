"""Deal list, board and Today latency over 200k opportunities (`python -m bench.deals_pages`).

Uses the database the environment points at (DATABASE_URL, else a SQLite file under var/bench/);
generates customers and opportunities with `gen_data` when there are fewer than asked. Pages are
rendered in-process through Django's test client, so the figures are the server's own time.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.deals_pages", description=__doc__)
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    if "DATABASE_URL" not in os.environ:
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / f'deals-{args.opportunities}.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    os.environ.setdefault("CLOSELOOP_DEV", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from closeloop.core.models import Role, User
    from closeloop.deals.models import Opportunity, Stage

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    have = Opportunity.objects.count()
    if have < args.opportunities:
        started = time.monotonic()
        call_command("gen_data", leads=0, customers=args.opportunities // 5, opportunities=args.opportunities - have,
                     seed=20261122 + have, verbosity=0)
        say(f"generated {args.opportunities - have:,} opportunities in {time.monotonic() - started:.0f} s")
    say(f"{connection.vendor}: {Opportunity.objects.count():,} opportunities")

    admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser("bench_admin", "", "x")
    manager = User.objects.filter(role=Role.SALES_MANAGER, reports__isnull=False).distinct().first()
    rep = User.objects.filter(role=Role.SALES_REP, owned_opportunities__isnull=False).first()
    stage = Stage.objects.filter(pipeline__is_default=True, is_won=False, is_lost=False).first()
    scenarios = [
        ("deal list", "/deals/"),
        ("deal list, stage filter", f"/deals/?stage={stage.pk}"),
        ("deal list, open, largest first, page 20", "/deals/?status=open&sort=-amount&page=20"),
        ("deal list, search", "/deals/?q=CRM"),
        ("kanban board", "/deals/board/"),
        ("today", "/follow-up/today/"),
    ]
    say(f"{'page':45} {'user':10} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for user in (admin, manager, rep):
        if user is None:
            continue
        client = Client()
        client.force_login(user)
        for label, path in scenarios:
            client.get(path)  # warm caches and connections
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            with CaptureQueriesContext(connection) as queries:
                client.get(path)
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            say(f"{label:45} {user.username:10} {statistics.median(times):8.1f} {p95:8.1f} {len(queries):8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
