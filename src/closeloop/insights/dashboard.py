"""The review dashboard's figures (数据复盘): each section is one grouped query (or one per table it reads) over the
records the viewer may see, never a loop over records.

Every queryset starts from `visible_to(viewer)` and is then narrowed to the dashboard's *line*: a rep's own records,
a manager's subtree, everyone for an administrator (or one rep of those, when the filter names one). The narrowing
matters: a rep sees a teammate's deal they collaborate on, but it is the teammate's figure, not theirs.

Periods are local (Asia/Shanghai) days: `start` and `end` are both included, and datetimes are compared with the
local midnights around them so the columns' indexes serve the range.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DateField, Exists, F, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.contracts.models import Contract, Instalment, Payment
from closeloop.core.models import Role, User
from closeloop.core.money import from_fen, sum_fen
from closeloop.core.visibility import owners_seen
from closeloop.deals.models import Opportunity, OpportunityStatus, Pipeline, StageHistory
from closeloop.leads.models import Lead, LeadSource, LeadStatus
from closeloop.quotes.models import ApprovalRequest, ApprovalStatus, Quote, QuoteStatus

PERIODS = {
    "week": gettext_lazy("This week"),
    "month": gettext_lazy("This month"),
    "quarter": gettext_lazy("This quarter"),
    "custom": gettext_lazy("From – to"),
}

# Leads that reached a step of the loop: qualified (or beyond), turned into a deal, that deal won.
QUALIFIED_STATUSES = (LeadStatus.QUALIFIED, LeadStatus.CONVERTED)


def period_bounds(kind: str, today: date) -> tuple[date, date]:
    """The first and last day of this week (from Monday), month or quarter around `today`."""
    if kind == "week":
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=6)
    if kind == "quarter":
        start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    else:
        start = today.replace(day=1)
    months = 3 if kind == "quarter" else 1
    year, month = divmod(start.month - 1 + months, 12)
    return start, date(start.year + year, month + 1, 1) - timedelta(days=1)


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass
class Scope:
    """Who looks, at whose line, over which days, in which pipeline and from which source."""

    viewer: User
    start: date
    end: date
    rep: User | None = None
    pipeline: Pipeline | None = None
    source: LeadSource | None = None
    period: str = "month"
    owners: list[int] | None = field(init=False)

    def __post_init__(self):
        if self.rep is not None:
            self.owners = [self.rep.pk]
        else:
            self.owners = None if self.viewer.is_admin else owners_seen(self.viewer)

    @property
    def since(self) -> datetime:
        return local_midnight(self.start)

    @property
    def until(self) -> datetime:
        """The local midnight after the last day (excluded)."""
        return local_midnight(self.end + timedelta(days=1))

    @property
    def owner_param(self) -> str:
        """The lists' `owner=` value that names this line (see `core.visibility.owners_named`)."""
        if self.rep is not None:
            return str(self.rep.pk)
        if self.owners is None:
            return ""
        return "team" if self.viewer.role == Role.SALES_MANAGER else "me"

    def link(self, name: str, *, narrowed: bool = True, **params) -> str:
        """A list page narrowed to what a figure counts: this line's owners and, unless `narrowed` is False (the
        leads list, which has no pipeline), this pipeline and source, with `params` on top (an `owner` among them
        names one rep of the line)."""
        query = {"owner": self.owner_param}
        if narrowed:
            query |= {"pipeline": self.pipeline.pk if self.pipeline else "", "source": self.source.pk if self.source else ""}
        query |= params
        return reverse(name) + "?" + urlencode({key: value for key, value in query.items() if value not in ("", None)})

    @property
    def days(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def during(self, name: str) -> Q:
        """`name` (a datetime column) falls on one of the period's days."""
        return Q(**{f"{name}__gte": self.since, f"{name}__lt": self.until})

    def on_days(self, name: str) -> Q:
        """`name` (a date column) is one of the period's days."""
        return Q(**{f"{name}__gte": self.start, f"{name}__lte": self.end})

    def line(self, queryset, owner: str = "owner"):
        """The records the viewer may see, narrowed to this dashboard's line of owners."""
        rows = queryset.visible_to(self.viewer)
        return rows if self.owners is None else rows.filter(**{f"{owner}__in": self.owners})

    def deals(self):
        deals = self.line(Opportunity.objects)
        if self.pipeline is not None:
            deals = deals.filter(pipeline=self.pipeline)
        if self.source is not None:
            deals = deals.filter(lead__source=self.source)
        return deals

    def funnel_pipeline(self) -> Pipeline | None:
        return self.pipeline or Pipeline.default()


def _ratio(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# ---------------------------------------------------------------------------------------------------
# Sections


def lead_sources(scope: Scope) -> dict:
    """Leads created in the period by source, and how many of them were qualified, became a deal, were won."""
    leads = scope.line(Lead.objects).filter(scope.during("created_at"))
    if scope.source is not None:
        leads = leads.filter(source=scope.source)
    won = Opportunity.objects.filter(lead=OuterRef("pk"), status=OpportunityStatus.WON)
    rows = list(leads.values("source_id", "source__name").annotate(
        leads=Count("pk"),
        qualified=Count("pk", filter=Q(status__in=QUALIFIED_STATUSES)),
        deals=Count("pk", filter=Q(status=LeadStatus.CONVERTED)),
        won=Count("pk", filter=Exists(won)),
    ).order_by("source__position", "source_id"))
    total = {"name": _("Total"), "source_id": None}
    for key in ("leads", "qualified", "deals", "won"):
        total[key] = sum(row[key] for row in rows)
    for row in [*rows, total]:
        row.setdefault("name", row.get("source__name"))
        source = row["source_id"] or (scope.source.pk if scope.source else "")
        leads_url = scope.link("leads:list", narrowed=False, source=source, **scope.days)
        row["urls"] = {"leads": leads_url, "qualified": leads_url + "&reached=qualified",
                       "deals": leads_url + "&reached=deal",
                       "won": scope.link("deals:list", narrowed=False, status=OpportunityStatus.WON, source=source,
                                         lead_from=scope.start.isoformat(), lead_to=scope.end.isoformat())}
        row["qualified_rate"] = _ratio(row["qualified"], row["leads"])
        row["deal_rate"] = _ratio(row["deals"], row["leads"])
        row["won_rate"] = _ratio(row["won"], row["leads"])
    return {"rows": rows, "total": total}


def funnel(scope: Scope) -> dict:
    """Deals created in the period in one pipeline: how many reached each stage (entered it, or a later stage
    other than lost: a deal may skip a stage), the conversion from the stage before, and the win rate."""
    pipeline = scope.funnel_pipeline()
    if pipeline is None:
        return {"pipeline": None, "rows": [], "total": 0, "won": 0, "lost": 0, "win_rate": None}
    stages = list(pipeline.stages.order_by("position", "id"))
    cohort = scope.deals().filter(pipeline=pipeline).filter(scope.during("created_at"))
    counts = {"total": Count("opportunity_id", distinct=True),
              "won": Count("opportunity_id", distinct=True, filter=Q(opportunity__status=OpportunityStatus.WON)),
              "lost": Count("opportunity_id", distinct=True, filter=Q(opportunity__status=OpportunityStatus.LOST))}
    for stage in stages:
        reached = Q(stage=stage) if stage.is_lost else Q(stage__position__gte=stage.position, stage__is_lost=False)
        counts[f"stage_{stage.pk}"] = Count("opportunity_id", distinct=True, filter=reached)
    result = StageHistory.objects.filter(opportunity__in=cohort.values("pk")).aggregate(**counts)
    rows, before = [], None
    for stage in stages:
        reached = result[f"stage_{stage.pk}"]
        rows.append({"stage": stage, "name": stage.name, "reached": reached,
                     "url": scope.link("deals:list", pipeline=pipeline.pk, reached=stage.pk, **scope.days),
                     "from_previous": None if before is None or stage.is_lost else _ratio(reached, before)})
        if not stage.is_lost:
            before = reached
    won, lost = result["won"], result["lost"]
    return {"pipeline": pipeline, "rows": rows, "total": result["total"], "won": won, "lost": lost,
            "win_rate": _ratio(won, won + lost)}


def lost_reasons(scope: Scope) -> dict:
    """Deals lost in the period by reason, and by rep and reason, from one query grouped by both."""
    lost = scope.deals().filter(status=OpportunityStatus.LOST).filter(scope.during("lost_at"))
    grouped = list(lost.values("lost_reason_id", "lost_reason__name", "lost_reason__position", "owner_id").annotate(
        deals=Count("pk"), amount_fen=sum_fen(F("amount") * 100)))
    names = dict(User.objects.filter(pk__in={row["owner_id"] for row in grouped}).values_list("pk", "display_name"))
    reasons, by_rep = {}, []
    closed = {"status": OpportunityStatus.LOST, "closed_from": scope.start.isoformat(), "closed_to": scope.end.isoformat()}
    for row in grouped:
        reason = reasons.setdefault(row["lost_reason_id"], {
            "reason_id": row["lost_reason_id"], "name": row["lost_reason__name"],
            "position": row["lost_reason__position"], "deals": 0, "amount_fen": 0})
        reason.setdefault("url", scope.link("deals:list", **closed, lost_reason=row["lost_reason_id"]))
        reason["deals"] += row["deals"]
        reason["amount_fen"] += row["amount_fen"] or 0
        by_rep.append({"owner_id": row["owner_id"], "rep": names.get(row["owner_id"], ""), "reason_id": row["lost_reason_id"],
                       "name": row["lost_reason__name"], "deals": row["deals"], "amount": from_fen(row["amount_fen"]),
                       "url": scope.link("deals:list", **closed, lost_reason=row["lost_reason_id"], owner=row["owner_id"])})
    rows = sorted(reasons.values(), key=lambda r: (-r["deals"], r["position"], r["reason_id"]))
    for reason in rows:
        reason["amount"] = from_fen(reason.pop("amount_fen"))
    by_rep.sort(key=lambda r: (r["rep"], -r["deals"], r["reason_id"]))
    return {"rows": rows, "by_rep": by_rep, "total": sum(r["deals"] for r in rows),
            "amount": sum((r["amount"] for r in rows), Decimal("0.00"))}


def forecast(scope: Scope) -> dict:
    """Open deals now (whatever the period) by expected close month: amount and amount × stage probability."""
    rows = list(scope.deals().filter(status=OpportunityStatus.OPEN)
                .annotate(month=TruncMonth("expected_close_date", output_field=DateField())).values("month")
                .annotate(deals=Count("pk"), amount_fen=sum_fen(F("amount") * 100),
                          weighted_fen=sum_fen(F("amount") * F("stage__probability")))
                .order_by(F("month").asc(nulls_last=True)))
    for row in rows:
        row["amount"], row["weighted"] = from_fen(row.pop("amount_fen")), from_fen(row.pop("weighted_fen"))
        row["key"] = f"{row['month']:%Y-%m}" if row["month"] else "none"
        row["url"] = scope.link("deals:list", status=OpportunityStatus.OPEN, close_month=row["key"])
    return {"rows": rows, "deals": sum(r["deals"] for r in rows),
            "amount": sum((r["amount"] for r in rows), Decimal("0.00")),
            "weighted": sum((r["weighted"] for r in rows), Decimal("0.00"))}


def quote_to_cash(scope: Scope) -> dict:
    """Quotes sent, approved and accepted in the period; contracts signed; instalments due against payments
    collected. One query per table."""
    quotes = scope.line(Quote.objects, owner="opportunity__owner")
    if scope.pipeline is not None:
        quotes = quotes.filter(opportunity__pipeline=scope.pipeline)
    if scope.source is not None:
        quotes = quotes.filter(opportunity__lead__source=scope.source)
    approved = ApprovalRequest.objects.filter(kind="quote", target_id=OuterRef("pk"), status=ApprovalStatus.APPROVED,
                                              decided_at__gte=scope.since, decided_at__lt=scope.until)
    accepted = Q(status=QuoteStatus.ACCEPTED) & scope.during("decided_at")
    total = F("current_version__total_incl_tax") * 100
    figures = quotes.aggregate(
        sent=Count("pk", filter=scope.during("sent_at")), sent_fen=sum_fen(total, filter=scope.during("sent_at")),
        approved=Count("pk", filter=Exists(approved)), approved_fen=sum_fen(total, filter=Exists(approved)),
        accepted=Count("pk", filter=accepted), accepted_fen=sum_fen(total, filter=accepted))
    contracts = scope.line(Contract.objects)
    if scope.pipeline is not None:
        contracts = contracts.filter(opportunity__pipeline=scope.pipeline)
    if scope.source is not None:
        contracts = contracts.filter(opportunity__lead__source=scope.source)
    signed = contracts.filter(scope.during("signed_at")).aggregate(n=Count("pk"), fen=sum_fen(F("amount") * 100))
    # Instalments and payments through the contracts the line may see (the contract's owner is the line's).
    due = Instalment.objects.filter(contract__in=contracts.values("pk")).filter(scope.on_days("due_date")).aggregate(
        n=Count("pk"), fen=sum_fen(F("amount") * 100), paid_fen=sum_fen(F("paid_amount") * 100))
    collected = (Payment.objects.filter(contract__in=contracts.values("pk"), voided_at__isnull=True)
                 .filter(scope.on_days("received_on")).aggregate(n=Count("pk"), fen=sum_fen(F("amount") * 100)))
    def quotes_url(event):
        return scope.link("quotes:list", event=event, **scope.days)

    signed_url = scope.link("contracts:list", signed_from=scope.start.isoformat(), signed_to=scope.end.isoformat())
    rows = [
        {"key": "quotes_sent", "name": _("Quotes sent"), "count": figures["sent"], "amount": from_fen(figures["sent_fen"]),
         "url": quotes_url("sent")},
        {"key": "quotes_approved", "name": _("Quotes approved"), "count": figures["approved"],
         "amount": from_fen(figures["approved_fen"]), "url": quotes_url("approved")},
        {"key": "quotes_accepted", "name": _("Quotes accepted"), "count": figures["accepted"],
         "amount": from_fen(figures["accepted_fen"]), "url": quotes_url("accepted")},
        {"key": "contracts_signed", "name": _("Contracts signed"), "count": signed["n"], "amount": from_fen(signed["fen"]),
         "url": signed_url},
        {"key": "instalments_due", "name": _("Instalments due"), "count": due["n"], "amount": from_fen(due["fen"])},
        {"key": "collected", "name": _("Payments collected"), "count": collected["n"],
         "amount": from_fen(collected["fen"])},
    ]
    due_amount = from_fen(due["fen"])
    return {"rows": rows, "due": due_amount, "due_paid": from_fen(due["paid_fen"]),
            "collected": from_fen(collected["fen"]),
            "collected_rate": _ratio(float(from_fen(collected["fen"])), float(due_amount)) if due_amount else None}


def figures(scope: Scope) -> dict:
    return {"sources": lead_sources(scope), "funnel": funnel(scope), "lost": lost_reasons(scope),
            "forecast": forecast(scope), "cash": quote_to_cash(scope)}


def chart_data(figures: dict) -> dict:
    """What the page's script draws, embedded with `json_script` (numbers as numbers; the tables keep the exact
    amounts)."""
    sources, funnel_, lost, forecast_, cash = (figures[key] for key in ("sources", "funnel", "lost", "forecast", "cash"))
    return {
        "sources": {"labels": [row["name"] for row in sources["rows"]],
                    "series": [{"name": str(label), "data": [row[key] for row in sources["rows"]]}
                               for key, label in (("leads", _("Leads")), ("qualified", _("Qualified")),
                                                  ("deals", _("Became a deal")), ("won", _("Won")))]},
        "funnel": {"labels": [row["name"] for row in funnel_["rows"] if not row["stage"].is_lost],
                   "series": [{"name": str(_("Deals that reached the stage")),
                               "data": [row["reached"] for row in funnel_["rows"] if not row["stage"].is_lost]}]},
        "lost": {"labels": [row["name"] for row in lost["rows"]],
                 "series": [{"name": str(_("Deals lost")), "data": [row["deals"] for row in lost["rows"]]}]},
        "forecast": {"labels": [row["key"] if row["month"] else str(_("No date")) for row in forecast_["rows"]],
                     "series": [{"name": str(_("Amount")), "data": [float(row["amount"]) for row in forecast_["rows"]]},
                                {"name": str(_("Weighted")), "data": [float(row["weighted"]) for row in forecast_["rows"]]}]},
        "cash": {"labels": [str(row["name"]) for row in cash["rows"]],
                 "series": [{"name": str(_("Amount")), "data": [float(row["amount"]) for row in cash["rows"]]}]},
    }
