"""The breakpoint radar's page (`/insights/radar/`): p95 per viewer, the `radar` step of `make bench`, or alone
`python -m bench.radar` on the receivables bench's database (add leads with `closeloop gen-data --leads`).

In-process through Django's test client (the server's own time), beside the login page as the same run's bare
baseline. Budget (DESIGN.md): the radar ≤ 300 ms at 1M leads / 200k deals; the issue asks it fast at 100k.
The worker's recount of the per-owner counts runs first (as `insights.radar_recount` would), timed apart.
"""

import sys
import time

from bench.pages import measure_worst, say, setup

BUDGET_MS = 300


def measure(repeats: int) -> list[dict]:
    from closeloop.core.models import Role, User
    from closeloop.insights import radar
    from closeloop.leads.models import Lead

    admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    manager = User.objects.filter(role=Role.SALES_MANAGER, reports__isnull=False).distinct().order_by("pk").first()
    rep = manager.reports.order_by("pk").first() if manager else None
    leads = Lead.objects.count()
    started = time.monotonic()
    kept = radar.recount()
    recount_seconds = time.monotonic() - started
    say(f"recount (the worker's sweep): {kept:,} counts per kind and owner in {recount_seconds:.1f} s")
    pages = [("radar", "/insights/radar/")] + [
        (f"radar: {kind.key}", f"/insights/radar/?kind={kind.key}") for kind in radar.kinds()[:4]]
    worst, worst_page, baseline = measure_worst(
        [(user, pages) for user in (admin, manager, rep) if user is not None], repeats)
    return [{
        "what": f"breakpoint radar recount over {leads:,} leads (the worker's sweep)", "figure": recount_seconds,
        "unit": "s", "note": f"{kept:,} counts per kind and owner, every {radar.RECOUNT_SECONDS // 60} minutes",
    }, {
        "what": f"breakpoint radar over {leads:,} leads (worst p95)", "figure": worst, "unit": "ms",
        "baseline": baseline, "ratio": worst / baseline if baseline else None, "budget": f"<= {BUDGET_MS} ms",
        "status": "PASS" if worst <= BUDGET_MS else "FAIL",
        "note": f"worst: {worst_page}; {len(radar.kinds())} kinds, counts per owner from the recount plus what the "
                "viewer sees beyond their owners, counted live; lists live; baseline = the login page",
    }]


def suite_results(*, quick: bool) -> dict:
    return {"results": measure(10 if quick else 20)}


def main() -> int:
    setup("receivables-200000")
    for line in measure(10):
        say(f"{line['what']}: {line['figure']:,.1f} {line['unit']} {line.get('status', '')} ({line['note']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
