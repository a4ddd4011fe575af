"""Deal reads. Every one starts from `visible_to(user)`; a record outside it is a 404."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Q
from django.http import Http404
from django.utils import timezone

from closeloop.core.customfields import indexes
from closeloop.core.customfields import search as custom_search
from closeloop.core.inputs import day_start
from closeloop.core.money import from_fen, sum_fen
from closeloop.core.visibility import owner_filter
from closeloop.followup.tags import with_tag
from closeloop.leads import normalize
from closeloop.leads.models import Lead

from .models import Customer, Opportunity, OpportunityStatus, Pipeline, Stage, StageHistory

SORTS = {
    "-updated_at": ("-updated_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-amount": ("-amount", "-id"),
    "amount": ("amount", "id"),
    "expected_close_date": ("expected_close_date", "id"),
    "-expected_close_date": ("-expected_close_date", "-id"),
    "next_follow_up_at": ("next_follow_up_at", "id"),
    "-next_follow_up_at": ("-next_follow_up_at", "-id"),
}


@dataclass
class OpportunityFilters:
    q: str = ""
    status: str = ""
    stage: str = ""
    pipeline: str = ""
    owner: str = ""  # a user id, "me" or "team"
    department: str = ""  # a team: a department id, with the departments under it
    tag: str = ""  # a tag's id
    sort: str = "-updated_at"
    # The review's drill-downs (insights): the lead's source, created on these days (the deal, or the lead it came
    # from), reached a stage (entered it or a later one other than lost), lost for a reason, won or lost on these
    # days, expected to close in a month.
    source: str = ""
    created_from: str = ""
    created_to: str = ""
    lead_from: str = ""
    lead_to: str = ""
    reached: str = ""
    lost_reason: str = ""
    closed_from: str = ""
    closed_to: str = ""
    close_month: str = ""  # "2027-01", or "none" for deals without a date
    # Left a stage (a stay in it ended) on these days: the cycle time's drill-down.
    left: str = ""
    left_from: str = ""
    left_to: str = ""
    overdue: str = ""  # "1": open, with the next follow-up past due
    # Custom field filters, (field, operator, stored value, text) from core.customfields.indexes: on the deal's own
    # fields (`cf.<key>`), and on the fields of the lead it came from (`lead.cf.<key>`, the review's lead sources).
    custom: tuple = ()
    lead_custom: tuple = ()


def opportunity_list(*, user, filters: OpportunityFilters):
    deals = Opportunity.objects.visible_to(user)
    if filters.q:
        text = filters.q.strip()
        deals = deals.filter(custom_search.also(Q(name__icontains=text) | Q(customer__name__icontains=text),
                                                Opportunity._meta.label, text, user))
    if filters.status in OpportunityStatus.values:
        deals = deals.filter(status=filters.status)
    if filters.stage.isdigit():
        deals = deals.filter(stage_id=int(filters.stage))
    if filters.pipeline.isdigit():
        deals = deals.filter(pipeline_id=int(filters.pipeline))
    deals = owner_filter(deals, user=user, owner=filters.owner, department=filters.department)
    if filters.tag:
        deals = with_tag(deals, filters.tag)
    return _review_filters(deals, filters).order_by(*SORTS.get(filters.sort, SORTS["-updated_at"]))


def _review_filters(deals, filters: OpportunityFilters):
    if filters.source.isdigit():
        deals = deals.filter(lead__source_id=int(filters.source))
    if start := day_start(filters.created_from):
        deals = deals.filter(created_at__gte=start)
    if end := day_start(filters.created_to, days_after=1):
        deals = deals.filter(created_at__lt=end)
    if start := day_start(filters.lead_from):
        deals = deals.filter(lead__created_at__gte=start)
    if end := day_start(filters.lead_to, days_after=1):
        deals = deals.filter(lead__created_at__lt=end)
    if filters.reached.isdigit() and (stage := Stage.objects.filter(pk=int(filters.reached)).first()):
        later = Q(stage=stage) if stage.is_lost else Q(stage__pipeline=stage.pipeline_id, stage__is_lost=False,
                                                       stage__position__gte=stage.position)
        deals = deals.filter(pk__in=StageHistory.objects.filter(later).values("opportunity_id"))
    if filters.lost_reason.isdigit():
        deals = deals.filter(lost_reason_id=int(filters.lost_reason))
    if start := day_start(filters.closed_from):
        deals = deals.filter(Q(won_at__gte=start) | Q(lost_at__gte=start))
    if end := day_start(filters.closed_to, days_after=1):
        deals = deals.filter(Q(won_at__lt=end) | Q(lost_at__lt=end))
    if filters.close_month == "none":
        deals = deals.filter(expected_close_date__isnull=True)
    elif month := _month(filters.close_month):
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        deals = deals.filter(expected_close_date__gte=month, expected_close_date__lt=following)
    if filters.left.isdigit():
        stays = StageHistory.objects.filter(stage_id=int(filters.left), exited_at__isnull=False)
        if start := day_start(filters.left_from):
            stays = stays.filter(exited_at__gte=start)
        if end := day_start(filters.left_to, days_after=1):
            stays = stays.filter(exited_at__lt=end)
        deals = deals.filter(pk__in=stays.values("opportunity_id"))
    if filters.overdue == "1":
        deals = deals.filter(status=OpportunityStatus.OPEN, next_follow_up_at__lt=timezone.now())
    # Served by the fields' expression indexes when an administrator switched them on.
    deals = indexes.through(indexes.apply_filters(deals, filters.custom), "lead", Lead, filters.lead_custom)
    return deals


def _month(text: str) -> date | None:
    try:
        return date.fromisoformat(f"{text}-01") if len(text) == 7 else None
    except ValueError:
        return None


def _money_sums() -> dict:
    return {
        "count": Count("*"),
        "amount_fen": sum_fen(F("amount") * 100),
        # amount × probability% in fen = amount × probability.
        "weighted_fen": sum_fen(F("amount") * F("probability")),
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
    return {"count": result["count"], "capped": False, "amount": from_fen(result["amount_fen"]),
            "weighted": from_fen(result["weighted_fen"])}


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


CUSTOMER_SORTS = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "next_follow_up_at": ("next_follow_up_at", "id"),
    "-next_follow_up_at": ("-next_follow_up_at", "-id"),
}


def customer_list(*, user, q: str = "", owner: str = "", department: str = "", created_from: str = "",
                  created_to: str = "", sort: str = "-created_at"):
    """Customers `user` may see; the dashboard's drill-downs narrow them to an owner ("me", "team" or an id) or a
    team, created on these local days; in `sort`'s order (CUSTOMER_SORTS, newest first by default)."""
    customers = owner_filter(Customer.objects.visible_to(user).select_related("owner"), user=user, owner=owner,
                             department=department)
    if start := day_start(created_from):
        customers = customers.filter(created_at__gte=start)
    if end := day_start(created_to, days_after=1):
        customers = customers.filter(created_at__lt=end)
    if q:
        q = q.strip()
        condition = Q(name__icontains=q)
        if len(q) == 18:
            condition |= Q(credit_code=normalize.credit_code_key(q))
        customers = customers.filter(custom_search.also(condition, Customer._meta.label, q, user))
    return customers.order_by(*CUSTOMER_SORTS.get(sort, CUSTOMER_SORTS["-created_at"]))


def customer_pool(*, user, q: str = ""):
    """The public pool: customers nobody owns. Every selling role may browse and claim them."""
    if user.role not in ("sales_rep", "sales_manager", "admin") and not user.is_admin:
        return Customer.objects.none()
    customers = Customer.objects.pooled()
    if q:
        customers = customers.filter(custom_search.also(Q(name__icontains=q.strip()), Customer._meta.label, q, user))
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
            "amount": from_fen(row.get("amount_fen")), "weighted": from_fen(row.get("weighted_fen")),
        })
    return columns
