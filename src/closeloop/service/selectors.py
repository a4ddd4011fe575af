"""Delivery, ticket and survey reads. Every one starts from the records' `visible_to(user)`; a delivery or ticket
outside it is a 404."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth, TruncQuarter, TruncWeek
from django.http import Http404
from django.utils import timezone

from closeloop.core.customfields import search as custom_search
from closeloop.core.inputs import day_start
from closeloop.core.visibility import owners_named

from . import ticket_search
from .models import LOW_NPS, Delivery, DeliveryStatus, Milestone, Survey, Ticket

# A ticket's number as `tickets.ticket_create` gives it: GD-<year>-<00042>.
TICKET_NUMBER = re.compile(r"GD-\d{4}-\d{5,}", re.IGNORECASE)


def delivery_list(*, user, status: str = "", q: str = "", customer: int | None = None):
    deliveries = Delivery.objects.visible_to(user)
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    if q:
        deliveries = deliveries.filter(custom_search.also(Q(title__icontains=q) | Q(customer__name__icontains=q)
                                                          | Q(contract__number__icontains=q),
                                                          Delivery._meta.label, q, user))
    if customer is not None:
        deliveries = deliveries.filter(customer_id=customer)
    return (deliveries.select_related("customer", "owner", "contract")
            .annotate(milestone_count=Count("milestones", distinct=True),
                      milestones_done=Count("milestones", filter=Q(milestones__done_date__isnull=False), distinct=True))
            .order_by("-created_at", "-id"))


def get_delivery_for_user(user, pk) -> Delivery:
    delivery = (Delivery.objects.visible_to(user)
                .select_related("customer", "owner", "contract", "contract__owner", "recorded_by", "created_by")
                .filter(pk=pk).first())
    if delivery is None:
        raise Http404
    return delivery


def get_milestone_for_user(user, delivery_pk, pk) -> Milestone:
    delivery = get_delivery_for_user(user, delivery_pk)
    milestone = delivery.milestones.select_related("owner").filter(pk=pk).first()
    if milestone is None:
        raise Http404
    milestone.delivery = delivery
    return milestone


@dataclass
class TicketReview:
    """The review dashboard's drill-downs into the ticket list: the dashboard's line (`line`: "me", "team" or a user
    id; tickets assigned to them or for a customer they own), one assignee, opened or resolved on these local days,
    the first response or the resolution in time ("met") or not ("missed")."""

    line: str = ""
    assignee: str = ""
    opened_from: str = ""
    opened_to: str = ""
    resolved_from: str = ""
    resolved_to: str = ""
    response: str = ""
    resolution: str = ""


def response_outcome(outcome: str, now=None) -> Q:
    """The first response came by its due time ("met"), or after it or not yet with the time passed ("missed")."""
    if outcome == "met":
        return Q(first_responded_at__isnull=False, first_responded_at__lte=F("first_response_due_at"))
    return Q(first_response_due_at__isnull=False) & (
        Q(first_responded_at__gt=F("first_response_due_at"))
        | Q(first_responded_at__isnull=True, first_response_due_at__lt=now or timezone.now()))


def resolution_outcome(outcome: str) -> Q:
    """A resolved ticket was resolved by its due time ("met") or after it ("missed")."""
    if outcome == "met":
        return Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_due_at"))
    return Q(resolved_at__isnull=False, resolved_at__gt=F("resolution_due_at"))


def ticket_line(user, line: str) -> Q | None:
    """Tickets of the owners a dashboard's line names: assigned to them, or for a customer they own."""
    owners = owners_named(user, line)
    return None if owners is None else Q(owner__in=owners) | Q(customer__owner__in=owners)


def _ticket_review(tickets, user, review: TicketReview):
    if (line := ticket_line(user, review.line)) is not None:
        tickets = tickets.filter(line)
    if review.assignee == "none":
        tickets = tickets.filter(owner__isnull=True)
    elif review.assignee.isdigit() and int(review.assignee) < 2**63:
        tickets = tickets.filter(owner_id=int(review.assignee))
    for column, first, last in (("created_at", review.opened_from, review.opened_to),
                                ("resolved_at", review.resolved_from, review.resolved_to)):
        if start := day_start(first):
            tickets = tickets.filter(**{f"{column}__gte": start})
        if end := day_start(last, days_after=1):
            tickets = tickets.filter(**{f"{column}__lt": end})
    if review.response in ("met", "missed"):
        tickets = tickets.filter(response_outcome(review.response))
    if review.resolution in ("met", "missed"):
        tickets = tickets.filter(resolution_outcome(review.resolution))
    return tickets


def ticket_list(*, user, status: str = "", q: str = "", customer: int | None = None, mine: bool = False,
                priority: str = "", review: TicketReview | None = None):
    from .models import OPEN_TICKET_STATUSES, Ticket, TicketPriority, TicketStatus

    tickets = Ticket.objects.visible_to(user)
    if review is not None:
        tickets = _ticket_review(tickets, user, review)
    if status == "open":
        # Open tickets are neither resolved nor closed (reopening clears both): the terms of the open-list indexes.
        tickets = tickets.filter(status__in=OPEN_TICKET_STATUSES, resolved_at__isnull=True, closed_at__isnull=True)
    elif status in TicketStatus.values:
        tickets = tickets.filter(status=status)
    if priority in TicketPriority.values:
        tickets = tickets.filter(priority=priority)
    if q := q.strip():
        if TICKET_NUMBER.fullmatch(q):
            # A whole ticket number (from a mail, read on the phone) is one row of the number's unique index, not a
            # scan of every ticket's text for it.
            tickets = tickets.filter(number=q.upper())
        else:
            # A fragment of the number, the subject or the customer's name: through the trigram indexes.
            tickets = tickets.filter(ticket_search.matching(q, user))
    if customer is not None:
        tickets = tickets.filter(customer_id=customer)
    if mine:
        tickets = tickets.filter(owner=user)
    return tickets.select_related("customer", "owner").order_by("-created_at", "-id")


def get_ticket_for_user(user, pk):
    from .models import Ticket

    ticket = (Ticket.objects.visible_to(user)
              .select_related("customer", "customer__owner", "owner", "contact", "contract", "product", "created_by",
                              "sla_policy")
              .filter(pk=pk).first())
    if ticket is None:
        raise Http404
    return ticket


# ---------------------------------------------------------------------------------------------------
# Satisfaction (CSAT and NPS) for the customer page and the review's dashboards

PROMOTER_NPS = 9  # 9–10 promote; 7–8 are passive; 0–6 detract
SATISFACTION_GROUPS = ("customer", "owner", "product", "period")
PERIODS = {"week": TruncWeek, "month": TruncMonth, "quarter": TruncQuarter}


def _figures(answered: int, csat_sum, promoters: int, detractors: int) -> dict:
    """CSAT as the average score (1–5, one decimal) and NPS as promoters minus detractors in % of the answers."""
    if not answered:
        return {"answered": 0, "csat": None, "nps": None, "promoters": 0, "passives": 0, "detractors": 0}
    return {"answered": answered, "csat": round(csat_sum / answered, 1),
            "nps": round(100 * (promoters - detractors) / answered), "promoters": promoters,
            "passives": answered - promoters - detractors, "detractors": detractors}


def _aggregates() -> dict:
    # Sums and counts, not Avg: integers add up alike on SQLite and PostgreSQL; the division is ours.
    return {"answered": Count("id"), "csat_sum": Sum("csat"),
            "promoters": Count("id", filter=Q(nps__gte=PROMOTER_NPS)),
            "detractors": Count("id", filter=Q(nps__lte=LOW_NPS))}


def satisfaction_total(surveys) -> dict:
    """CSAT and NPS over all of `surveys` (answered ones), as one row of `satisfaction`."""
    row = surveys.aggregate(**_aggregates())
    return _figures(row["answered"], row["csat_sum"], row["promoters"], row["detractors"])


def answered_surveys(*, user, start: date | None = None, end: date | None = None):
    """The answered surveys `user` may see, answered between the local days `start` and `end` (both included)."""
    surveys = Survey.objects.visible_to(user).filter(answered_at__isnull=False)
    if start is not None:
        surveys = surveys.filter(answered_at__gte=_local_midnight(start))
    if end is not None:
        surveys = surveys.filter(answered_at__lt=_local_midnight(end + timedelta(days=1)))
    return surveys


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def satisfaction(*, user, by: str, start: date | None = None, end: date | None = None, period: str = "month",
                 surveys=None) -> list[dict]:
    """CSAT and NPS of the answered surveys `user` may see, one row per customer, account owner, product or period
    (`period`: week, month or quarter, in the site's time zone), in one GROUP BY. Each row: `key` (the id, or the
    period's first day), `label`, `answered`, `csat`, `nps`, `promoters`, `passives`, `detractors`. Rows with the
    most answers first; periods in time order. `surveys` narrows further (the dashboards' own filters)."""
    if by not in SATISFACTION_GROUPS:
        raise ValueError(f"satisfaction by {by!r}: one of {SATISFACTION_GROUPS}")
    rows = surveys if surveys is not None else answered_surveys(user=user, start=start, end=end)
    if by == "period":
        trunc = PERIODS.get(period, TruncMonth)
        grouped = (rows.annotate(bucket=trunc("answered_at", tzinfo=timezone.get_current_timezone()))
                   .values("bucket").annotate(**_aggregates()).order_by("bucket"))
        return [{"key": row["bucket"].date() if hasattr(row["bucket"], "date") else row["bucket"],
                 "label": _period_label(row["bucket"], period), **_figures(row["answered"], row["csat_sum"],
                                                                           row["promoters"], row["detractors"])}
                for row in grouped]
    key, label = {"customer": ("customer", "customer__name"), "owner": ("owner", "owner__display_name"),
                  "product": ("product", "product__name")}[by]
    # The key breaks ties of two owners (customers, products) of one name: else the order was the database's whim.
    grouped = (rows.values(key, label).annotate(**_aggregates()).order_by("-answered", label, key))
    return [{"key": row[key], "label": row[label] or ("—" if row[key] is None else str(row[key])),
             **_figures(row["answered"], row["csat_sum"], row["promoters"], row["detractors"])} for row in grouped]


PERIODS_AT_MOST = 60


def satisfaction_over_days(surveys, *, start: date, end: date, period: str) -> tuple[list[dict], dict]:
    """`satisfaction(by="period")` and `satisfaction_total` of `surveys` (answered between the local days `start`
    and `end`), from one pass: a conditional sum per week or month between bounds known beforehand, not a group by a
    truncated timestamp (on SQLite a Python function per survey: two thirds of the dashboard's service section over a
    quarter). More than PERIODS_AT_MOST periods are grouped as `satisfaction` does."""
    firsts = _period_firsts(start, end, period)
    if period not in ("week", "month") or len(firsts) > PERIODS_AT_MOST:
        return satisfaction(user=None, by="period", period=period, surveys=surveys), satisfaction_total(surveys)
    sums = {}
    for n, within in enumerate(_period_ranges(firsts, end)):
        sums |= {f"answered{n}": Count("id", filter=within), f"csat_sum{n}": Sum("csat", filter=within),
                 f"promoters{n}": Count("id", filter=within & Q(nps__gte=PROMOTER_NPS)),
                 f"detractors{n}": Count("id", filter=within & Q(nps__lte=LOW_NPS))}
    row = surveys.aggregate(**sums)
    rows, total = [], {"answered": 0, "csat_sum": 0, "promoters": 0, "detractors": 0}
    for n, day in enumerate(firsts):
        figures = {key: row[f"{key}{n}"] or 0 for key in total}
        if figures["answered"]:
            rows.append({"key": day, "label": _period_label(day, period), **_figures(**figures)})
            total = {key: total[key] + figures[key] for key in total}
    return rows, _figures(**total)


def satisfaction_by_owner_over_days(surveys, *, start: date, end: date,
                                    period: str) -> tuple[list[dict], list[dict], dict]:
    """`satisfaction(by="owner")`, then `satisfaction_over_days`'s periods and total, of `surveys` (answered between
    the local days `start` and `end`) from one pass: grouped by owner with a conditional sum per week or month, the
    periods and the total added up here (the review read the quarter's surveys twice). Beyond PERIODS_AT_MOST
    periods, or another period, as the two would."""
    firsts = _period_firsts(start, end, period)
    if period not in ("week", "month") or len(firsts) > PERIODS_AT_MOST:
        return (satisfaction(user=None, by="owner", surveys=surveys),
                *satisfaction_over_days(surveys, start=start, end=end, period=period))
    keys = ("answered", "csat_sum", "promoters", "detractors")
    sums = {}
    for n, within in enumerate(_period_ranges(firsts, end)):
        sums |= {f"answered{n}": Count("id", filter=within), f"csat_sum{n}": Sum("csat", filter=within),
                 f"promoters{n}": Count("id", filter=within & Q(nps__gte=PROMOTER_NPS)),
                 f"detractors{n}": Count("id", filter=within & Q(nps__lte=LOW_NPS))}
    # Ordered as `satisfaction` orders its rows (most answers first, then the owner's name), by the database.
    grouped = surveys.values("owner", "owner__display_name").annotate(answered=Count("id"), **sums).order_by(
        "-answered", "owner__display_name", "owner")
    by_owner, periods = [], [dict.fromkeys(keys, 0) for _day in firsts]
    for row in grouped:
        figures = dict.fromkeys(keys, 0)
        for n, found in enumerate(periods):
            for key in keys:
                value = row[f"{key}{n}"] or 0
                figures[key] += value
                found[key] += value
        label = row["owner__display_name"] or ("—" if row["owner"] is None else str(row["owner"]))
        by_owner.append({"key": row["owner"], "label": label, **_figures(**figures)})
    over_time, total = [], dict.fromkeys(keys, 0)
    for day, figures in zip(firsts, periods, strict=True):
        if figures["answered"]:
            over_time.append({"key": day, "label": _period_label(day, period), **_figures(**figures)})
            total = {key: total[key] + figures[key] for key in keys}
    return by_owner, over_time, _figures(**total)


def _period_firsts(start: date, end: date, period: str) -> list[date]:
    """The first days of the weeks (from Monday) or months from the one holding `start` to the one holding `end`,
    at most PERIODS_AT_MOST + 1."""
    firsts = []
    first = start - timedelta(days=start.weekday()) if period == "week" else start.replace(day=1)
    while first <= end and len(firsts) <= PERIODS_AT_MOST:
        firsts.append(first)
        first = first + timedelta(days=7) if period == "week" else (first + timedelta(days=31)).replace(day=1)
    return firsts


def _period_ranges(firsts: list[date], end: date) -> list[Q]:
    """Each period's answers: from its first local midnight to the next period's (the day after `end` for the last)."""
    return [Q(answered_at__gte=_local_midnight(day),
              answered_at__lt=_local_midnight(firsts[n + 1] if n + 1 < len(firsts) else end + timedelta(days=1)))
            for n, day in enumerate(firsts)]


def _period_label(bucket, period: str) -> str:
    day = bucket.date() if hasattr(bucket, "date") else bucket
    if period == "week":
        return f"{day:%Y-%m-%d}"
    if period == "quarter":
        return f"{day.year} Q{(day.month - 1) // 3 + 1}"
    return f"{day:%Y-%m}"


def get_survey_for_user(user, pk: int) -> Survey:
    """A survey the user may see (404 for missing and not visible alike), with its ticket or delivery."""
    survey = Survey.objects.visible_to(user).select_related("ticket", "delivery").filter(pk=pk).first()
    if survey is None:
        raise Http404
    return survey


def tier_customers_q(user) -> Q:
    """The customers whose service tier the user may look at: those they see, and the customers of the tickets they
    see (the service team works every ticket without seeing the sales side's customers)."""
    from closeloop.deals.models import Customer

    return (Q(pk__in=Customer.objects.visible_to(user).values("pk"))
            | Q(pk__in=Ticket.objects.visible_to(user).values("customer_id")))


def get_tier_customer_for_user(user, pk: int):
    """A customer of tier_customers_q (404 otherwise)."""
    from closeloop.deals.models import Customer

    customer = Customer.objects.filter(pk=pk).filter(tier_customers_q(user)).first()
    if customer is None:
        raise Http404
    return customer


def tiered_customers(user):
    """The service levels other than standard of the customers tier_customers_q lets `user` look at, by tier."""
    from closeloop.deals.models import Customer

    from .models import CustomerTier, ServiceLevel

    return (ServiceLevel.objects.exclude(tier=CustomerTier.STANDARD)
            .filter(customer__in=Customer.objects.filter(tier_customers_q(user)).values("pk"))
            .select_related("customer").order_by("tier", "customer__name"))


def renewals_for_user(user):
    """Renewals whose deal and old contract `user` both sees: "renew" copies the contract's lines and prices into a
    quote on the deal, so a colleague on the renewal deal alone (who is not shown the contract) does neither."""
    from closeloop.contracts.models import Contract
    from closeloop.deals.models import Opportunity

    from .models import Renewal

    return Renewal.objects.filter(opportunity__in=Opportunity.objects.visible_to(user).values("pk"),
                                  contract__in=Contract.objects.visible_to(user).values("pk"))


def get_renewal_for_user(user, pk: int):
    """A renewal of renewals_for_user (404 for missing and not visible alike), with its deal."""
    renewal = renewals_for_user(user).select_related("opportunity").filter(pk=pk).first()
    if renewal is None:
        raise Http404
    return renewal


def survey_context(subject, *, show_link: bool) -> dict:
    """The survey of a ticket or delivery the viewer sees, for its page; its link only for who may work the record
    (the key is the customer's credential)."""
    from .surveys import survey_url

    field = "ticket" if subject._meta.model_name == "ticket" else "delivery"
    survey = Survey.objects.filter(**{field: subject}).first()
    url = (survey_url(survey) if survey is not None and show_link and survey.answered_at is None else "")
    return {"survey": survey, "survey_url": url}


def customer_satisfaction(customer, user) -> dict:
    """The customer page's figures: CSAT and NPS of the customer's answered surveys `user` may see, how many are
    still waiting for an answer, and the latest answers."""
    visible = Survey.objects.visible_to(user).filter(customer=customer)
    totals = visible.filter(answered_at__isnull=False).aggregate(**_aggregates())
    figures = _figures(totals["answered"], totals["csat_sum"], totals["promoters"], totals["detractors"])
    figures["waiting"] = visible.filter(answered_at__isnull=True, expires_at__gt=timezone.now()).count()
    figures["latest"] = list(visible.filter(answered_at__isnull=False).select_related("ticket", "delivery")
                             .order_by("-answered_at", "-id")[:5])
    return figures
