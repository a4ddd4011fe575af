"""The contracts app's part of `closeloop gen-data`: contracts on deals with three-instalment payment plans,
signed, in performance, completed or still drafts, some instalments paid and many overdue, so the
receivables page has a realistic spread of ages at benchmark scale. Bulk-written with core's BulkWriter;
the derived columns the receivables read (outstanding, receivable, owner, customer) are set as the services
would set them, and the receivables summaries are rebuilt at the end."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from closeloop.core.gendata import BulkWriter, write_returning_ids
from closeloop.core.hooks import GenDataContext

# Status, weight: most generated contracts are owed money now (signed or in performance).
STATUSES = [("active", 55), ("signed", 15), ("completed", 15), ("approved", 5), ("draft", 5), ("terminated", 5)]
SHARES = [(Decimal("0.3"), "首付款"), (Decimal("0.4"), "上线款"), (Decimal("0.3"), "验收款")]
BATCH = 20_000


def generate(ctx: GenDataContext) -> None:
    total = ctx.options.contracts
    if not total:
        return
    from closeloop.deals.models import Opportunity

    from .models import Contract, Instalment

    deals = list(Opportunity._base_manager.order_by("pk").values_list("pk", "customer_id", "owner_id", "amount")
                 [: max(total, 1)])
    if not deals:
        ctx.log("contracts: not generated — no deals (use --opportunities).")
        return
    # A contract is made from its deal's accepted quote when there is one (gen-data's quotes come first), as in a
    # live system: contracts without quotes teach SQLite's statistics that the quote index says nothing.
    from closeloop.quotes.models import Quote, QuoteStatus

    accepted = {deal: (quote, version) for deal, quote, version in Quote._base_manager.filter(
        status=QuoteStatus.ACCEPTED).order_by("opportunity_id", "pk").values_list(
        "opportunity_id", "pk", "current_version_id")}
    rng = random.Random(ctx.options.seed + 7)
    today = datetime.now(UTC).date()
    start = Contract._base_manager.count()
    contracts, instalments = BulkWriter(Contract), BulkWriter(Instalment)
    statuses = [s for s, weight in STATUSES for _ in range(weight)]
    written = 0
    while written < total:
        batch, plans = [], []
        for _ in range(min(BATCH, total - written)):
            deal_id, customer_id, owner_id, deal_amount = deals[(start + written + len(batch)) % len(deals)]
            amount = Decimal(deal_amount or rng.randrange(10, 3000) * 1000).quantize(Decimal("0.01"))
            status = rng.choice(statuses)
            signed = today - timedelta(days=rng.randrange(0, 400))
            created = datetime.combine(signed - timedelta(days=rng.randrange(3, 30)), datetime.min.time(), UTC)
            owed = status in ("signed", "active")
            n = start + written + len(batch) + 1
            rows, paid_total, left = [], Decimal(0), amount
            for position, (share, title) in enumerate(SHARES):
                part = left if position == len(SHARES) - 1 else (amount * share).quantize(Decimal("0.01"))
                left -= part
                due = signed + timedelta(days=7 + position * rng.randrange(30, 120))
                paid = part if status == "completed" or (owed and due < today and rng.random() < 0.5) else Decimal(0)
                paid_total += paid
                rows.append({"position": position, "title": title, "condition": "on_date", "due_date": due,
                             "percentage": share * 100, "amount": part, "paid_amount": paid,
                             "outstanding": part - paid, "receivable": owed and part > paid, "owner_id": owner_id,
                             "customer_id": customer_id, "paid_on": due if paid else None})
            batch.append({
                "number": f"GD-{n:08d}", "title": "批量生成合同", "opportunity_id": deal_id, "customer_id": customer_id,
                "owner_id": owner_id, "status": status, "party_b": "客户", "amount": amount, "paid_amount": paid_total,
                "invoiced_amount": Decimal(0), "created_by_id": owner_id, "created_at": created, "updated_at": created,
                "sign_date": signed if status in ("signed", "active", "completed") else None,
                "signed_via": "scan" if status in ("signed", "active", "completed") else "",
                "quote_id": accepted.get(deal_id, (None, None))[0],
                "quote_version_id": accepted.get(deal_id, (None, None))[1],
            })
            plans.append(rows)
        ids = write_returning_ids(contracts, batch)
        instalments.write({**row, "contract_id": contract_id} for contract_id, rows in zip(ids, plans, strict=True)
                          for row in rows)
        written += len(batch)
        ctx.log(f"contracts: {written:,} / {total:,} (with {len(SHARES)} instalments each)")
    # Bulk rows bypass the services that keep the receivables summaries: rebuild them, as the nightly sweep would.
    from .receivable_summary import recount

    ctx.log(f"contracts: receivables summaries rebuilt ({recount():,} rows)")
