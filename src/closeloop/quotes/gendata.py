"""The quotes app's part of `closeloop gen-data`: quotes on deals, each with one version, most sent and many
accepted or declined, a share through approval, so the dashboard's quote figures have volume. Bulk-written with
core's BulkWriter; each quote's current version is set in one statement afterwards."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from closeloop.core.gendata import BulkWriter, write_returning_ids
from closeloop.core.hooks import GenDataContext

# Status, weight: what became of a quote so far.
STATUSES = [("draft", 12), ("approved", 4), ("rejected", 2), ("sent", 30), ("accepted", 34), ("declined", 18)]
APPROVAL_SHARE = 0.35  # quotes past the draft that went through approval (a large discount, a low margin)
BATCH = 20_000
TAX = Decimal("0.13")


def generate(ctx: GenDataContext) -> None:
    total = ctx.options.quotes
    if not total:
        return
    from django.db import connection

    from closeloop.deals.models import Opportunity

    from .models import ApprovalRequest, ApprovalStatus, Quote, QuoteVersion

    deals = list(Opportunity._base_manager.order_by("pk").values_list("pk", "owner_id", "amount", "created_at",
                                                                      "name"))
    if not deals:
        ctx.log("quotes: not generated — no deals (use --opportunities).")
        return
    rng = random.Random(ctx.options.seed + 17)
    now = datetime.now(UTC)
    start = Quote._base_manager.count()
    quotes, versions, approvals = BulkWriter(Quote), BulkWriter(QuoteVersion), BulkWriter(ApprovalRequest)
    statuses = [s for s, weight in STATUSES for _ in range(weight)]
    written = 0
    while written < total:
        batch, plans = [], []
        for _ in range(min(BATCH, total - written)):
            deal_id, owner_id, amount, opened, name = rng.choice(deals)
            n = start + written + len(batch) + 1
            created = min(opened + timedelta(days=rng.expovariate(1 / 12)), now - timedelta(hours=rng.randrange(1, 72)))
            status = rng.choice(statuses)
            excl = (Decimal(amount or rng.randrange(10, 3000) * 1000) * Decimal(rng.uniform(0.85, 1.1))).quantize(
                Decimal("0.01"))
            tax = (excl * TAX).quantize(Decimal("0.01"))
            approved_at = None
            if status in ("approved", "rejected") or (status != "draft" and rng.random() < APPROVAL_SHARE):
                approved_at = min(created + timedelta(hours=rng.lognormvariate(1.5, 1.0)), now)
            sent = status in ("sent", "accepted", "declined")
            sent_at = min((approved_at or created) + timedelta(hours=rng.expovariate(1 / 20)), now) if sent else None
            decided_at = (min(sent_at + timedelta(days=rng.expovariate(1 / 6)), now)
                          if status in ("accepted", "declined") else None)
            batch.append({
                "opportunity_id": deal_id, "number": f"GQ-{n:08d}", "title": f"{name} 报价", "status": status,
                "public_key": f"{rng.getrandbits(160):040x}", "created_by_id": owner_id, "created_at": created,
                "updated_at": decided_at or sent_at or approved_at or created, "sent_at": sent_at,
                "decided_at": decided_at, "decided_by_name": "客户" if decided_at else "",
            })
            plans.append({
                "number": 1, "valid_until": (created + timedelta(days=30)).date(), "list_total": excl + tax,
                "total_excl_tax": excl, "tax_total": tax, "total_incl_tax": excl + tax, "cost_total": (excl * Decimal("0.6")).quantize(Decimal("0.01")),
                "margin_amount": (excl * Decimal("0.4")).quantize(Decimal("0.01")), "margin_pct": Decimal(40), "created_by_id": owner_id,
                "created_at": created, "sent_at": sent_at, "sent_by_id": owner_id if sent_at else None,
                "_approval": (approved_at, ApprovalStatus.REJECTED if status == "rejected" else ApprovalStatus.APPROVED,
                              deal_id, owner_id, created),
            })
        ids = write_returning_ids(quotes, batch)
        asked = [plan.pop("_approval") for plan in plans]
        versions.write({**plan, "quote_id": quote_id} for quote_id, plan in zip(ids, plans, strict=True))
        approvals.write({"kind": "quote", "target_id": quote_id, "title": row["title"], "url": f"/quotes/{quote_id}/",
                         "opportunity_id": deal_id, "status": decision, "submitted_by_id": owner_id,
                         "submitted_at": submitted, "decided_at": decided}
                        for quote_id, row, (decided, decision, deal_id, owner_id, submitted) in zip(
                            ids, batch, asked, strict=True) if decided is not None)
        written += len(batch)
        ctx.log(f"quotes: {written:,} / {total:,} (one version each)")
    # Each quote's version is its current one (one statement, not a save per quote).
    quote, version = Quote._meta.db_table, QuoteVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {quote} SET current_version_id = (SELECT MAX(v.id) FROM {version} v "  # noqa: S608
                       f"WHERE v.quote_id = {quote}.id) WHERE current_version_id IS NULL")
