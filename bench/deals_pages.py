"""Deal list, board and Today latency over 200k opportunities (`python -m bench.deals_pages`).

Uses the database the environment points at (DATABASE_URL, else a SQLite file under var/bench/);
generates customers and opportunities with `gen_data` when there are fewer than asked. Pages are
rendered in-process through Django's test client, so the figures are the server's own time.
"""

import argparse
import sys
import time

from bench.pages import HEADER, measure, say, setup


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.deals_pages", description=__doc__)
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    setup(f"deals-{args.opportunities}")
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from closeloop.core.models import Role, User
    from closeloop.deals.models import Opportunity, Stage

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
    say(HEADER)
    for user in (admin, manager, rep):
        if user is None:
            continue
        client = Client()
        client.force_login(user)
        for label, path in scenarios:
            measure(client, user, label, path, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
