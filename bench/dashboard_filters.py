"""The review dashboard filtered on custom fields (#13 × #12): `python -m bench.dashboard_filters [database name]` on a
database under var/bench/ (default `dashboard-1m`, a copy of the gen-data one: it writes values into it).

Gives every lead a single-choice `bench_grade` (A one in ten, B three, C six) and every deal a `bench_purchase` (招标
three in ten, 渠道 two, 直采 five) in one UPDATE each, switches both fields' indexes on (as an administrator would),
refreshes the two tables' statistics, then times this month's dashboard per viewer (administrator, the first manager
with reports, one of their reps): unfiltered, by the lead field, by the deal field, by both. The same run's baseline
is the unfiltered page; each line gives wall p50 / p95, the process's median CPU time (what means something on a
shared machine), and the filtered page over the unfiltered one. Then each section's own time for the administrator,
unfiltered and filtered by both, so a slow filtered page says which figure to look at.
"""

import os
import statistics
import sys
import time

from bench.pages import say, setup

LEAD_VALUE = "CASE WHEN id % 10 = 0 THEN 'A' WHEN id % 10 < 4 THEN 'B' ELSE 'C' END"
DEAL_VALUE = "CASE WHEN id % 10 < 3 THEN '招标' WHEN id % 10 < 5 THEN '渠道' ELSE '直采' END"
FILTERS = {"unfiltered": "", "lead grade = A (10%)": "&lead.cf.bench_grade=A",
           "deal purchase = 招标 (30%)": "&deal.cf.bench_purchase=招标",
           "both": "&lead.cf.bench_grade=A&deal.cf.bench_purchase=招标"}


def _field(target: str, key: str, label: str, options: str, table: str, value: str, admin):
    """The field (made if missing), a value on every record of `table` that has none, and its index on."""
    from django.db import connection, transaction

    from closeloop.core.customfields.services import custom_field_create, custom_field_index
    from closeloop.core.models import CustomField

    field = CustomField.objects.filter(target=target, key=key).first() or custom_field_create(
        target=target, key=key, field_type="choice", actor=admin, data={"label_zh": label, "options": options})
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"UPDATE {table} SET custom = coalesce(custom, '{{}}'::jsonb) || "  # noqa: S608
                           f"jsonb_build_object('{key}', {value}) WHERE custom IS NULL OR NOT custom ? '{key}'")
        else:
            cursor.execute(f"UPDATE {table} SET custom = json_set(coalesce(custom, '{{}}'), '$.{key}', {value}) "  # noqa: S608
                           f"WHERE custom IS NULL OR json_extract(custom, '$.{key}') IS NULL")
        updated = cursor.rowcount
    say(f"{key}: values written to {updated:,} rows of {table} in {time.monotonic() - started:.0f} s")
    if not field.indexed:
        started = time.monotonic()
        custom_field_index(field=field, indexed=True, actor=admin)
        field.refresh_from_db()
        say(f"{key}: index built in {time.monotonic() - started:.1f} s")
    if updated:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    return field


def _page(client, path: str, repeats: int) -> tuple[float, float, float]:
    """(wall p50, wall p95, median CPU) of `path` in ms, after one warm-up request."""
    client.get(path)
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    walls.sort()
    return statistics.median(walls), walls[max(0, int(len(walls) * 0.95) - 1)], statistics.median(cpus)


def _sections(user, lead_filters=(), deal_filters=()) -> str:
    from django.utils import timezone

    from closeloop.insights import dashboard

    start, end = dashboard.period_bounds("month", timezone.localdate())
    scope = dashboard.Scope(viewer=user, start=start, end=end, lead_filters=lead_filters, deal_filters=deal_filters)
    now = timezone.now()
    parts = {"sources": lambda: dashboard.lead_sources(scope), "funnel": lambda: dashboard.funnel(scope),
             "cycle": lambda: dashboard.cycle_times(scope), "sla": lambda: dashboard.first_contact_sla(scope, now),
             "lost": lambda: dashboard.lost_reasons(scope), "forecast": lambda: dashboard.forecast(scope),
             "accuracy": lambda: dashboard.forecast_accuracy(scope), "cash": lambda: dashboard.quote_to_cash(scope)}
    timings = []
    for name, part in parts.items():
        part()  # warm
        started = time.process_time()
        part()
        timings.append(f"{name} {(time.process_time() - started) * 1000:.0f}")
    return ", ".join(timings)


def measure(repeats: int) -> list[dict]:
    from django.test import Client

    from closeloop.core.models import Role, User
    from closeloop.deals.models import Opportunity
    from closeloop.leads.models import Lead

    admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    grade = _field("leads.Lead", "bench_grade", "客户等级", "A\nB\nC", "leads_lead", LEAD_VALUE, admin)
    purchase = _field("deals.Opportunity", "bench_purchase", "采购方式", "招标\n渠道\n直采", "deals_opportunity",
                      DEAL_VALUE, admin)
    manager = User.objects.filter(role=Role.SALES_MANAGER, reports__isnull=False).distinct().order_by("pk").first()
    rep = manager.reports.order_by("pk").first() if manager else None
    say(f"{Lead.objects.count():,} leads / {Opportunity.objects.count():,} deals; load {os.getloadavg()[0]:.1f}")
    say(f"{'dashboard, this month':32} {'user':10} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8} {'÷ unfilt. p95':>14} "
        f"{'÷ unfilt. CPU':>14}")
    worst = (0.0, "", 0.0, 0.0)
    for user in (admin, manager, rep):
        if user is None:
            continue
        client = Client()
        client.force_login(user)
        plain = None
        for label, query in FILTERS.items():
            p50, p95, cpu = _page(client, "/insights/?period=month" + query, repeats)
            plain = plain or (p95, cpu)
            say(f"{label:32} {user.username:10} {p50:8.0f} {p95:8.0f} {cpu:8.0f} {p95 / plain[0]:14.2f} "
                f"{cpu / plain[1]:14.2f}")
            if query and cpu / plain[1] >= worst[0]:
                worst = (cpu / plain[1], f"{label} as {user.username}", cpu, plain[1])
    both = (((grade, "eq", "A", "A"),), ((purchase, "eq", "招标", "招标"),))
    say(f"sections as {admin.username}, CPU ms, unfiltered: {_sections(admin)}")
    say(f"sections as {admin.username}, CPU ms, both filters: {_sections(admin, *both)}")
    load = os.getloadavg()[0]
    say(f"load {load:.1f}")
    return [{"what": "dashboard filtered on a lead and a deal custom field (worst CPU, median)", "figure": worst[2],
             "unit": "ms", "baseline": worst[3], "ratio": worst[0],
             "note": f"worst: {worst[1]}; baseline = the same viewer's unfiltered page's CPU; load {load:.1f}"}]


def suite_results(*, quick: bool) -> dict:
    return {"results": measure(5 if quick else 10)}


def main() -> int:
    setup(sys.argv[1] if len(sys.argv) > 1 else "dashboard-1m")
    for line in measure(5):
        say(f"{line['what']}: {line['figure']:.0f} {line['unit']}, {line['ratio']:.2f}× ({line['note']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
