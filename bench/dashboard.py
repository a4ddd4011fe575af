"""The review dashboard (`/insights/`): p95 per viewer (administrator, a manager, one of their reps) over this month
and this quarter, the `dashboard` step of `make bench`, or alone `python -m bench.dashboard [database name]` on a
database under var/bench/ (default `dashboard-1m`; build one with `closeloop gen-data`).

In-process through Django's test client (the server's own time). The same run's baseline is the raw SQL of the
page's slowest query, run alone through the database cursor: what the page costs beyond its heaviest query. Each
section's own time is printed for the administrator, so a slow page says which figure to look at.
Budget (DESIGN.md): ≤ 500 ms at 1M leads / 200k deals / 2M activities.
"""

import sys
import time
from datetime import timedelta

from bench.pages import HEADER, say, setup
from bench.pages import measure as measure_page

BUDGET_MS = 500


def _slowest_query(client, path) -> tuple[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    slowest = max(queries.captured_queries, key=lambda query: float(query["time"]))
    return slowest["sql"], float(slowest["time"]) * 1000


def _raw_p95(sql: str, repeats: int) -> float:
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        for _ in range(repeats + 1):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    timings = sorted(timings[1:])
    return timings[max(0, int(len(timings) * 0.95) - 1)]


def _sections(user) -> None:
    from django.utils import timezone

    from closeloop.insights import dashboard

    start, end = dashboard.period_bounds("month", timezone.localdate())
    scope = dashboard.Scope(viewer=user, start=start, end=end)
    now = timezone.now()
    parts = {"sources": lambda: dashboard.lead_sources(scope), "funnel": lambda: dashboard.funnel(scope),
             "cycle": lambda: dashboard.cycle_times(scope), "handoffs": lambda: dashboard.handoff_times(scope),
             "sla": lambda: dashboard.first_contact_sla(scope, now), "lost": lambda: dashboard.lost_reasons(scope),
             "forecast": lambda: dashboard.forecast(scope), "cash": lambda: dashboard.quote_to_cash(scope),
             "service": lambda: dashboard.service(scope, now), "targets": lambda: dashboard.achievement(scope)}
    timings = []
    for name, part in parts.items():
        started = time.perf_counter()
        part()
        timings.append(f"{name} {(time.perf_counter() - started) * 1000:.0f}")
    say(f"sections as {user.username} (ms): " + ", ".join(timings))


def _digest(manager, repeats: int) -> dict:
    """Time to build and render one manager's weekly digest (last week), as the Monday sweep does for each
    manager: no budget of its own (a sweep, not a page), so the result says what the sweep costs per manager."""
    from django.utils import timezone

    from closeloop.core.visibility import team_owner_ids
    from closeloop.insights import digest

    week = digest.week_of(timezone.localdate()) - timedelta(days=7)
    timings = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        digest.digest_render(digest.digest_build(manager, week))
        timings.append((time.perf_counter() - started) * 1000)
    timings = sorted(timings[1:])
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    say(f"weekly digest of {manager.username} (build and render, p95 of {repeats}): {p95:.0f} ms")
    return {"what": f"weekly digest of one manager ({manager.username}: {len(team_owner_ids(manager))}"
                    " people), build and render", "figure": p95, "unit": "ms",
            "note": "the Monday sweep's cost per manager; no budget (a sweep, not a page)"}


def measure(repeats: int) -> list[dict]:
    from django.test import Client

    from closeloop.core.models import Role, User
    from closeloop.deals.models import Opportunity
    from closeloop.followup.models import Activity
    from closeloop.leads.models import Lead

    admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    manager = User.objects.filter(role=Role.SALES_MANAGER, reports__isnull=False).distinct().order_by("pk").first()
    rep = manager.reports.order_by("pk").first() if manager else None
    sizes = f"{Lead.objects.count():,} leads / {Opportunity.objects.count():,} deals / {Activity.objects.count():,} activities"
    say(sizes)
    _sections(admin)
    say(HEADER)
    worst, worst_page, slowest = 0.0, "", ("", 0.0)
    for user in (admin, manager, rep):
        if user is None:
            continue
        client = Client()
        client.force_login(user)
        for label, path in (("dashboard, this month", "/insights/"),
                            ("dashboard, this quarter", "/insights/?period=quarter")):
            p95 = measure_page(client, user, label, path, repeats)
            if p95 >= worst:
                worst, worst_page = p95, f"{label} as {user.username}"
                slowest = _slowest_query(client, path)
    baseline = _raw_p95(slowest[0], repeats) if slowest[0] else None
    say(f"slowest query of the worst page ({slowest[1]:.0f} ms in the page): {slowest[0][:300]}")
    digest_line = _digest(manager, max(3, repeats // 2)) if manager else None
    return [*([digest_line] if digest_line else []), {
        "what": f"dashboard over {sizes} (worst p95)", "figure": worst, "unit": "ms", "baseline": baseline,
        "ratio": worst / baseline if baseline else None, "budget": f"<= {BUDGET_MS} ms",
        "status": "PASS" if worst <= BUDGET_MS else "FAIL",
        "note": f"worst: {worst_page}; baseline = the raw SQL of that page's slowest query alone",
    }]


def suite_results(*, quick: bool) -> dict:
    return {"results": measure(5 if quick else 10)}


def main() -> int:
    setup(sys.argv[1] if len(sys.argv) > 1 else "dashboard-1m")
    for line in measure(5):
        baseline = f", baseline {line['baseline']:,.1f} ms, ratio {line['ratio']:.1f}" if line.get("baseline") else ""
        say(f"{line['what']}: {line['figure']:,.1f} {line['unit']} {line.get('status', '')}{baseline} ({line['note']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
