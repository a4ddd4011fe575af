"""Deal reads. Every one starts from `visible_to(user)`; a record outside it is a 404."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, FloatField, Func, Q, Sum
from django.http import Http404

from closeloop.core.money import quantize
from closeloop.core.visibility import owner_filter
from closeloop.leads import normalize

from .models import Customer, Opportunity, OpportunityStatus, Pipeline

SORTS = {
    "-updated_at": ("-updated_at", "-id"),
    "-amount": ("-amount", "-id"),
    "expected_close_date": ("expected_close_date", "id"),
    "next_follow_up_at": ("next_follow_up_at", "id"),
}


@dataclass
class OpportunityFilters:
    q: str = ""
    status: str = ""
    stage: str = ""
    pipeline: str = ""
    owner: str = ""  # a user id or "me"
    department: str = ""  # a team: a department id, with the departments under it
    sort: str = "-updated_at"


def opportunity_list(*, user, filters: OpportunityFilters):
    deals = Opportunity.objects.visible_to(user)
    if filters.q:
        text = filters.q.strip()
        deals = deals.filter(Q(name__icontains=text) | Q(customer__name__icontains=text))
    if filters.status in OpportunityStatus.values:
        deals = deals.filter(status=filters.status)
    if filters.stage.isdigit():
        deals = deals.filter(stage_id=int(filters.stage))
    if filters.pipeline.isdigit():
        deals = deals.filter(pipeline_id=int(filters.pipeline))
    deals = owner_filter(deals, user=user, owner=filters.owner, department=filters.department)
    return deals.order_by(*SORTS.get(filters.sort, SORTS["-updated_at"]))


def _cents(value) -> Decimal:
    return quantize(Decimal(value or 0) / 100)


def _fen(expression) -> Func:
    """A money expression rounded to whole fen, for summing.

    Sums of these stay exact on both databases: PostgreSQL adds numerics, and SQLite (which keeps
    decimals as floating point) adds doubles holding whole numbers, exact up to 2**53 fen (~90 trillion
    yuan). One ROUND per row costs a third of the former CAST/ROUND/CAST chain over a whole table.
    """
    return Func(expression, function="ROUND", output_field=FloatField())


def _money_sums() -> dict:
    return {
        "count": Count("*"),
        "amount_fen": Sum(_fen(F("amount") * 100)),
        # amount × probability% in fen = amount × probability.
        "weighted_fen": Sum(_fen(F("amount") * F("probability"))),
    }


TOTALS_CAP = 5_000


def money_totals(queryset, *, cap: int | None = None) -> dict:
    """Count, amount sum and probability-weighted sum of the listed deals, read from at most `cap` + 1 rows.

    Summing every visible deal costs a scan of all of them (hundreds of milliseconds over 200k deals on
    every list page); a filtered list short enough to read through gets exact totals, a longer one says
    "more than `cap`" (`capped`), and the board gives each stage's totals from its own index.
    """
    cap = TOTALS_CAP if cap is None else cap
    rows = queryset.order_by().values("amount", "probability")[: cap + 1]
    result = rows.aggregate(**_money_sums())
    if result["count"] > cap:
        return {"count": cap, "capped": True, "amount": None, "weighted": None}
    return {"count": result["count"], "capped": False, "amount": _cents(result["amount_fen"]),
            "weighted": _cents(result["weighted_fen"])}


def get_opportunity_for_user(user, pk) -> Opportunity:
    deal = (
        Opportunity.objects.visible_to(user)
        .select_related("customer", "owner", "stage", "pipeline", "lost_reason", "win_reason", "lead", "created_by")
        .filter(pk=pk).first()
    )
    if deal is None:
        raise Http404
    return deal


def get_customer_for_user(user, pk) -> Customer:
    customer = Customer.objects.visible_to(user).select_related("owner", "created_by").filter(pk=pk).first()
    if customer is None:
        raise Http404
    return customer


def customer_list(*, user, q: str = ""):
    customers = Customer.objects.visible_to(user).select_related("owner")
    if q:
        q = q.strip()
        condition = Q(name__icontains=q)
        if len(q) == 18:
            condition |= Q(credit_code=normalize.credit_code_key(q))
        customers = customers.filter(condition)
    return customers.order_by("-created_at", "-id")


def customer_pool(*, user, q: str = ""):
    """The public pool: customers nobody owns. Every selling role may browse and claim them."""
    if user.role not in ("sales_rep", "sales_manager", "admin") and not user.is_admin:
        return Customer.objects.none()
    customers = Customer.objects.pooled()
    if q:
        customers = customers.filter(name__icontains=q.strip())
    return customers.order_by("-pooled_at", "-id")


# ---------------------------------------------------------------------------------------------------
# Kanban


KANBAN_CARDS_PER_STAGE = 20


def kanban(*, user, pipeline: Pipeline, owner: str = "", department: str = "",
           per_stage: int = KANBAN_CARDS_PER_STAGE):
    """Columns of the board: per stage its top cards (one indexed query each) and its totals (one query)."""
    stages = list(pipeline.stages.order_by("position", "id"))
    deals = owner_filter(Opportunity.objects.visible_to(user).filter(pipeline=pipeline),
                         user=user, owner=owner, department=department)
    totals = {row["stage_id"]: row for row in deals.order_by().values("stage_id").annotate(**_money_sums())}
    columns = []
    for stage in stages:
        row = totals.get(stage.pk, {})
        cards = []
        if row.get("count"):
            cards = list(deals.filter(stage=stage).select_related("customer", "owner").order_by("-updated_at", "-id")
                         [:per_stage])
        columns.append({
            "stage": stage, "cards": cards, "count": row.get("count", 0),
            "amount": _cents(row.get("amount_fen")), "weighted": _cents(row.get("weighted_fen")),
        })
    return columns
