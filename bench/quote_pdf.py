"""Quote PDF rendering: p95 for a 50-line quote, beside a 1-line quote rendered in the same run (the
fixed cost of a PDF: fonts, page layout) and the 50-line quote's HTML alone (the template's share).

Runs inside the bench database in a transaction that is rolled back, so nothing it makes stays.
Alone: `python -m bench.quote_pdf` (with the environment `python -m bench` sets up).
"""

import os
import sys
import time

RENDERS = 20
LINES = 50
BUDGET_MS = 2000


class _Discard(Exception):
    """Raised to roll the bench's quotes back."""


def _percentile(values, p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _timed(render, repeats: int) -> list[float]:
    render()  # the first render loads fonts and warms caches; a worker pays it once
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        render()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure(repeats: int = RENDERS) -> dict:
    from django.core.files.storage import default_storage
    from django.db import transaction
    from django.utils import timezone

    from closeloop.core.models import Channel, User
    from closeloop.deals.models import Opportunity
    from closeloop.quotes import catalog, services
    from closeloop.quotes.pdf import kept_pdf_name, quote_html, quote_pdf

    figures = {}
    try:
        with transaction.atomic():
            admin = User.objects.filter(is_superuser=True).order_by("pk").first()
            deal = Opportunity.objects.select_related("owner").order_by("pk").first()
            if admin is None or deal is None:
                raise RuntimeError("the bench database has no administrator or no deal")
            products = [catalog.product_save(actor=admin, channel=Channel.SYSTEM, data={
                "code": f"BENCH-{n:03d}", "name": f"基准测试产品{n}号（含安装调试）", "category": "基准", "unit": "套",
                "list_price": f"{1000 + 37 * n}", "cost": f"{400 + 11 * n}", "tax_rate": "13" if n % 3 else "6"})
                for n in range(LINES)]
            big = services.quote_create(opportunity=deal, actor=deal.owner, channel=Channel.SYSTEM, title="50行报价")
            for n, product in enumerate(products):
                services.quote_line_add(quote=big, actor=deal.owner, channel=Channel.SYSTEM, data={
                    "product": product.pk, "quantity": str(1 + n % 7), "discount_pct": str(n % 4 * 5),
                    "description": "含一年质保，免费远程支持"})
            small = services.quote_create(opportunity=deal, actor=deal.owner, channel=Channel.SYSTEM, title="1行报价")
            services.quote_line_add(quote=small, actor=deal.owner, channel=Channel.SYSTEM,
                                    data={"product": products[0].pk})
            big.refresh_from_db()
            small.refresh_from_db()
            big_version, small_version = big.current_version, small.current_version
            figures["pdf_50"] = _timed(lambda: quote_pdf(big_version), repeats)
            figures["pdf_1"] = _timed(lambda: quote_pdf(small_version), repeats)
            figures["html_50"] = _timed(lambda: quote_html(big_version), repeats)
            figures["bytes_50"] = len(quote_pdf(big_version))
            # Once sent, a version is frozen and its PDF is rendered once and kept: what a later request costs.
            big_version.sent_at = timezone.now()
            kept = kept_pdf_name(big_version)
            try:
                figures["kept_50"] = _timed(lambda: quote_pdf(big_version), repeats)
            finally:
                default_storage.delete(kept)
            raise _Discard
    except _Discard:
        pass
    return {
        "p95_50": _percentile(figures["pdf_50"], 95), "p95_1": _percentile(figures["pdf_1"], 95),
        "p95_html": _percentile(figures["html_50"], 95), "kib": figures["bytes_50"] / 1024, "renders": repeats,
        "p95_kept": _percentile(figures["kept_50"], 95),
    }


def result_lines(figures: dict) -> list[dict]:
    ok = figures["p95_50"] <= BUDGET_MS
    return [
        {"what": f"quote PDF, {LINES} lines (p95 of {figures['renders']} renders)", "figure": figures["p95_50"],
         "unit": "ms", "baseline": figures["p95_1"], "ratio": figures["p95_50"] / figures["p95_1"],
         "budget": f"<= {BUDGET_MS} ms", "status": "PASS" if ok else "FAIL",
         "note": f"baseline: a 1-line quote; HTML alone {figures['p95_html']:.0f} ms; {figures['kib']:.0f} KiB"},
        {"what": f"quote PDF, {LINES} lines, sent version (kept after its first render)", "figure": figures["p95_kept"],
         "unit": "ms", "baseline": figures["p95_50"], "ratio": figures["p95_kept"] / figures["p95_50"],
         "budget": f"<= {BUDGET_MS} ms", "status": "PASS" if figures["p95_kept"] <= BUDGET_MS else "FAIL",
         "note": "baseline: rendering the same version (a draft) in this run"},
    ]


def main() -> dict:
    return {"results": result_lines(measure())}


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    import django

    django.setup()
    for line in main()["results"]:
        sys.stdout.write(f"{line}\n")
