"""The API's incremental sync of leads and customers at scale: `python -m bench.sync` on a copy of a gen-data
database (`DATABASE_URL=sqlite:///var/bench/<copy>.sqlite3`; it writes tokens into it), optionally `--compare`.

Two calls an integrator makes, as the administrator, a manager and a rep, through the real endpoints (token auth)
in-process: the first page of a full sync (`updated_since` far back: the oldest changes) and an incremental call
(a cursor an hour old: the few rows changed since). Each is a p95 over repeats, beside `GET /api/users/me` as the
same run's bare baseline, with the planner's plan of the keyset query. `--compare` first drops the
(updated_at, id) sync indexes and measures, then builds them again and measures: same run, same load.
"""

import argparse
import base64
import json
import os
import time
from datetime import UTC, datetime, timedelta

from bench.pages import say

INDEXES = {
    "lead_sync_idx": ("leads_lead", "updated_at, id"),
    "customer_sync_idx": ("deals_customer", "updated_at, id"),
}


def _cursor(stamp: datetime) -> str:
    text = json.dumps(["updated_at", stamp.astimezone(UTC).isoformat(), 0], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _p95(client, path: str, headers: dict, repeats: int) -> tuple[float, int]:
    answer = client.get(path, **headers)
    assert answer.status_code == 200, answer.content[:300]
    count = len(answer.json().get("items", []))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.get(path, **headers)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[max(0, int(len(times) * 0.95) - 1)], count


def _plans(users) -> None:
    from datetime import timedelta as delta

    from django.db import connection
    from django.db.models import Q
    from django.utils import timezone

    from closeloop.deals.selectors import customer_list
    from closeloop.leads.selectors import LeadFilters, lead_list

    stamp = timezone.now() - delta(days=3650)
    for user in users:
        for label, rows in (("leads", lead_list(user=user, filters=LeadFilters())),
                            ("customers", customer_list(user=user, q=""))):
            # The keyset as core.pagination.api_list writes it.
            query = rows.filter(updated_at__gte=stamp).filter(Q(updated_at__gt=stamp) | Q(pk__gt=0)).order_by(
                "updated_at", "pk")
            sql, params = query[:101].query.sql_with_params()
            with connection.cursor() as cursor:
                prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
                cursor.execute(prefix + sql, params)
                plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
            say(f"  plan {label} as {user.username}: {plan[:300]}")


def measure(users, repeats: int, label: str) -> dict:
    from django.test import Client

    from closeloop.core.services import api_token_create

    client = Client()
    results = {}
    far = "2000-01-01T00:00:00Z"
    recent = _cursor(datetime.now(UTC) - timedelta(hours=1))
    for user in users:
        raw, _token = api_token_create(user=user, name="bench-sync", actor=None)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        baseline, _count = _p95(client, "/api/users/me", headers, repeats)
        for kind, path in (("leads", "/api/leads/"), ("customers", "/api/deals/customers")):
            for call, query in (("full sync, first page", f"updated_since={far}"), ("incremental", f"cursor={recent}")):
                p95, count = _p95(client, f"{path}?{query}&page_size=100", headers, repeats)
                results[(user.username, kind, call)] = (p95, baseline)
                say(f"{label:>13} {user.username:>10} {kind:>9} {call:<22} p95 {p95:8.1f} ms  rows {count:3d}  "
                    f"baseline {baseline:5.1f} ms  ratio {p95 / baseline:7.1f}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compare", action="store_true", help="measure without the sync indexes, then with them")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    os.environ.setdefault("CLOSELOOP_DEV", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from closeloop.core.models import Role, User
    from closeloop.leads.models import Lead

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("createcachetable", verbosity=0)
    admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    manager = User.objects.filter(role=Role.SALES_MANAGER, reports__isnull=False).distinct().order_by("pk").first()
    rep = User.objects.filter(role=Role.SALES_REP, is_active=True).order_by("pk").first()
    users = [user for user in (admin, manager, rep) if user is not None]
    say(f"{Lead.objects.count():,} leads on {connection.vendor}; load {os.getloadavg()[0]:.1f}")
    before = None
    if args.compare:
        with connection.cursor() as cursor:
            for name in INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
        _plans(users)
        before = measure(users, args.repeats, "no index")
        with connection.cursor() as cursor:
            for name, (table, columns) in INDEXES.items():
                started = time.monotonic()
                cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")
                say(f"built {name} in {time.monotonic() - started:.1f} s")
            if connection.vendor == "sqlite":
                cursor.execute("ANALYZE leads_lead")
                cursor.execute("ANALYZE deals_customer")
    _plans(users)
    after = measure(users, args.repeats, "(updated_at,id)")
    if before:
        say("without → with the index, same run (p95):")
        for key, (p95, _baseline) in after.items():
            say(f"  {' '.join(key):<45} {before[key][0]:8.1f} → {p95:6.1f} ms  ({before[key][0] / p95:6.1f}×)")
    say(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
