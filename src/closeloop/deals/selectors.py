"""Deal reads. Every one starts from `visible_to(user)`; a record outside it is a 404."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import chain

from django.db.models import Count, F, FloatField, Func, Q, Sum
from django.http import Http404
from django.utils import timezone

from closeloop.core.audit import audit_trail
from closeloop.core.money import quantize
from closeloop.followup.models import Activity, Reminder
from closeloop.leads import normalize
from closeloop.leads.models import Lead, LeadStatus

from .models import (
    Customer,
    Handoff,
    HandoffStatus,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    StageHistory,
)

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
    if filters.owner == "me":
        deals = deals.filter(owner=user)
    elif filters.owner.isdigit():
        deals = deals.filter(owner_id=int(filters.owner))
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
        .select_related("customer", "owner", "stage", "pipeline", "lost_reason", "lead", "created_by")
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


def kanban(*, user, pipeline: Pipeline, owner: str = "", per_stage: int = KANBAN_CARDS_PER_STAGE):
    """Columns of the board: per stage its top cards (one indexed query each) and its totals (one query)."""
    stages = list(pipeline.stages.order_by("position", "id"))
    deals = Opportunity.objects.visible_to(user).filter(pipeline=pipeline)
    if owner == "me":
        deals = deals.filter(owner=user)
    elif owner.isdigit():
        deals = deals.filter(owner_id=int(owner))
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


# ---------------------------------------------------------------------------------------------------
# Timelines


@dataclass
class TimelineItem:
    at: object
    kind: str  # "audit", "activity", "stage", "comment"
    item: object
    on_lead: bool = False  # an activity of the lead the deal came from


def opportunity_timeline(deal: Opportunity, *, limit: int = 200) -> list[TimelineItem]:
    """Audit entries, activities, stage history and comments of the deal, with the lead's history before it."""
    audits = list(audit_trail(deal)[:limit])
    activities = list(Activity.objects.for_record(deal).select_related("actor")[:limit])
    lead_activities = []
    if deal.lead_id:
        audits += list(audit_trail(deal.lead)[:limit])
        lead_activities = list(Activity.objects.for_record(deal.lead).select_related("actor")[:limit])
    stages = list(StageHistory.objects.filter(opportunity=deal).select_related("stage", "entered_by"))
    comments = list(deal.comments.select_related("author"))
    items = chain(
        (TimelineItem(a.created_at, "audit", a) for a in audits),
        (TimelineItem(a.created_at, "activity", a) for a in activities),
        (TimelineItem(a.created_at, "activity", a, on_lead=True) for a in lead_activities),
        (TimelineItem(s.entered_at, "stage", s) for s in stages),
        (TimelineItem(c.created_at, "comment", c) for c in comments),
    )
    return sorted(items, key=lambda i: i.at, reverse=True)[:limit]


def customer_timeline(customer: Customer, *, limit: int = 200) -> list[TimelineItem]:
    audits = list(audit_trail(customer)[:limit])
    # The customer's own follow-ups and those on its deals.
    activities = list(
        (Activity.objects.for_record(customer) | Activity.objects.for_records(Opportunity, customer.opportunities.values("pk")))
        .select_related("actor")[:limit])
    items = chain(
        (TimelineItem(a.created_at, "audit", a) for a in audits),
        (TimelineItem(a.created_at, "activity", a) for a in activities),
    )
    return sorted(items, key=lambda i: i.at, reverse=True)[:limit]


def lead_activities(lead: Lead):
    return Activity.objects.for_record(lead).select_related("actor")[:50]


# ---------------------------------------------------------------------------------------------------
# Today


@dataclass
class TodayItem:
    kind: str  # "follow_up", "new_lead", "escalation", "handoff"
    record: object
    due_at: object
    overdue: bool
    note: str = ""

    @property
    def record_type(self) -> str:
        return type(self.record)._meta.model_name

    @property
    def record_label(self) -> str:
        return str(type(self.record)._meta.verbose_name)


TODAY_LIMIT = 50


def today_items(*, user, now=None) -> list[TodayItem]:
    """One list for a rep's day: due and overdue follow-ups, new leads, hand-offs to confirm, escalations."""
    now = now or timezone.now()
    end_of_day = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    items: list[TodayItem] = []
    # New leads first: assigned to me, not contacted yet; due when their first contact is due.
    new_leads = Lead.objects.filter(owner=user, status=LeadStatus.ASSIGNED, last_activity_at__isnull=True)
    new_ids = set()
    for lead in new_leads.order_by("-assigned_at")[:TODAY_LIMIT]:
        new_ids.add(lead.pk)
        due = lead.next_follow_up_at or lead.assigned_at
        items.append(TodayItem("new_lead", lead, due, bool(due and due < now)))
    for model in (Lead, Customer, Opportunity):
        rows = model.objects.filter(owner=user, next_follow_up_at__lte=end_of_day)
        if model is Opportunity:
            rows = rows.filter(status=OpportunityStatus.OPEN).select_related("customer")
        elif model is Lead:
            rows = rows.exclude(status__in=[LeadStatus.CONVERTED, LeadStatus.MERGED, LeadStatus.DISQUALIFIED])
        for record in rows.order_by("next_follow_up_at")[:TODAY_LIMIT]:
            if model is Lead and record.pk in new_ids:
                continue
            items.append(TodayItem("follow_up", record, record.next_follow_up_at, record.next_follow_up_at < now))
    for handoff in (Handoff.objects.filter(assignee=user, status=HandoffStatus.PENDING)
                    .select_related("opportunity", "requested_by").order_by("due_at")[:TODAY_LIMIT]):
        items.append(TodayItem("handoff", handoff.opportunity, handoff.due_at, handoff.due_at < now, note=handoff.title))
    escalations = Reminder.objects.filter(recipient=user, level=1, sent_at__gte=now - timedelta(days=7))
    for reminder in escalations.order_by("-sent_at")[:TODAY_LIMIT]:
        items.append(TodayItem("escalation", reminder, reminder.due_at, True, note=reminder.message))
    items.sort(key=lambda i: (not i.overdue, i.due_at or now))
    return items
