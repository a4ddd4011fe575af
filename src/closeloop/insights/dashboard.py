"""The review dashboard's figures (数据复盘): each section is one grouped query (or one per table it reads) over the
records the viewer may see, never a loop over records.

Every queryset starts from `visible_to(viewer)` and is then narrowed to the dashboard's *line*: a rep's own records,
a manager's subtree, everyone for an administrator (or one rep of those, when the filter names one). The narrowing
matters: a rep sees a teammate's deal they collaborate on, but it is the teammate's figure, not theirs.

Periods are local (Asia/Shanghai) days: `start` and `end` are both included, and datetimes are compared with the
local midnights around them so the columns' indexes serve the range. The biggest period tables are read from
covering indexes that hold every column a section groups, filters and counts on (leads: lead_source_review_idx;
tickets: ticket_review_opened_idx and ticket_review_resolved_idx): a column added to such a section's query sends
it back to the table's rows (a quarter at 1M leads: 90k lead rows, 54k ticket rows), so add it to the index too.
Summary rows kept by the worker were weighed and not built: at the bench's spread (13 assignees × 50 account
owners, 800 tickets a day) a per-day row per (assignee, customer owner) is nearly a row per ticket.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    Case,
    Count,
    DurationField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.contracts.models import Contract, Instalment, Payment
from closeloop.core.customfields import indexes, registry, types
from closeloop.core.models import CustomFieldType, Department, Role, User
from closeloop.core.money import from_fen, sum_fen
from closeloop.core.visibility import owners_seen, team_owner_ids
from closeloop.deals.models import Customer, Opportunity, OpportunityStatus, Pipeline, StageHistory
from closeloop.followup.models import Handoff, HandoffStatus, Task, TaskStatus
from closeloop.leads.assignment import FIRST_CONTACT
from closeloop.leads.models import LEAD_OWNER_INDEX, Lead, LeadSource, LeadStatus
from closeloop.leads.selectors import CLOSED_STATUSES, first_contact_outcome, latest_of_each_rep
from closeloop.quotes.models import ApprovalRequest, ApprovalStatus, Quote, QuoteStatus
from closeloop.service.models import Survey, Ticket
from closeloop.service.selectors import (
    answered_surveys,
    resolution_outcome,
    response_outcome,
    satisfaction_by_owner_over_days,
)

from .models import OverdueCount, RadarRecount
from .targets import sets_targets, target_teams, targets_for

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


# Which custom-field filters narrow the list a drill-down opens, and the prefix of their parameters there: a lead's
# fields on the leads list, a deal's on the deals list, the deal's (`deal.cf.<key>`) on its quotes and contracts.
LINK_FILTERS = {"leads:list": ("lead", ""), "deals:list": ("deal", ""), "quotes:list": ("deal", "deal."),
                "contracts:list": ("deal", "deal.")}
# The lists a role may read whole (`Scope.reads_all`): their drill-downs name no owner for such a viewer.
WHOLE_LISTS = {"quotes:list": Quote, "contracts:list": Contract}
LEAD_PREFIX, DEAL_PREFIX = "lead.", "deal."  # the dashboard's own parameters: `lead.cf.<key>`, `deal.cf.<key>`


def _path(name: str) -> str:
    """The path of a list (no arguments), resolved once per script prefix and URLconf: a dashboard builds hundreds
    of drill-down links (each rep's lost reasons), and resolving the same name each time showed in its profile."""
    key = (get_script_prefix(), get_urlconf(), name)
    if key not in _paths:
        _paths[key] = reverse(name)
    return _paths[key]


_paths: dict = {}


@dataclass
class Scope:
    """Who looks, at whose line, over which days, in which pipeline and from which source, and which values of the
    leads' and the deals' custom fields (`lead_filters`, `deal_filters`: (field, operator, stored value, text) from
    core.customfields.indexes) the lead-based and the deal-based sections count."""

    viewer: User
    start: date
    end: date
    rep: User | None = None
    pipeline: Pipeline | None = None
    source: LeadSource | None = None
    period: str = "month"
    # The viewer's own team (their department's subtree) even when they see more: an administrator's weekly digest.
    own_team: bool = False
    lead_filters: tuple = ()
    deal_filters: tuple = ()
    owners: list[int] | None = field(init=False)
    # Per (model, owner path): whether the line holds every record of the model (`holds_all`), asked once.
    _holds_all: dict = field(init=False, default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if self.rep is not None:
            self.owners = [self.rep.pk]
        elif self.own_team:
            self.owners = team_owner_ids(self.viewer)
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

    @property
    def filtered(self) -> bool:
        """Whether a custom field narrows what the dashboard counts."""
        return bool(self.lead_filters or self.deal_filters)

    def custom_params(self, kind: str, prefix: str = "") -> dict:
        """The custom-field filters of one kind ("lead" or "deal") as a list's parameters."""
        return indexes.query_params(self.lead_filters if kind == "lead" else self.deal_filters, prefix)

    def link(self, name: str, *, narrowed: bool = True, custom: dict | None = None, **params) -> str:
        """A list page narrowed to what a figure counts: this line's owners and, unless `narrowed` is False (the
        leads list, which has no pipeline), this pipeline and source, and the custom-field filters the list takes
        (`LINK_FILTERS`, unless `custom` names them: {} for a figure they do not narrow), with `params` on top (an
        `owner` among them names one rep of the line)."""
        query = {"owner": "" if name in WHOLE_LISTS and self.reads_all(WHOLE_LISTS[name].objects) else self.owner_param}
        if narrowed:
            query |= {"pipeline": self.pipeline.pk if self.pipeline else "", "source": self.source.pk if self.source else ""}
        if custom is None:
            custom = self.custom_params(*LINK_FILTERS[name]) if name in LINK_FILTERS else {}
        query |= custom
        query |= params
        return _path(name) + "?" + urlencode({key: value for key, value in query.items() if value not in ("", None)})

    def own_link(self, name: str, **params) -> str:
        """One of the dashboard's own lists (its hand-offs, its surveys) with the dashboard's period and rep, and
        `params` on top; those lists take neither pipeline nor source."""
        query = {"period": "custom", "start": self.start.isoformat(), "end": self.end.isoformat(),
                 "rep": self.rep.pk if self.rep else "", **params}
        return _path(name) + "?" + urlencode({key: value for key, value in query.items() if value != ""})

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
        """The records the viewer may see, narrowed to this dashboard's line of owners.

        When `owner` is one of the model's ownership paths and the viewer sees every record of the line's owners
        through ownership (`owners_seen`), the owner list alone is the answer: the visibility terms would add
        only `OR id IN (…)` subqueries that keep SQLite from the indexes (and build the list of every record of a
        manager's team) without letting through a record the owner list does not."""
        if self.owners is None or self.reads_all(queryset):
            return queryset.visible_to(self.viewer)
        if self.owned_by_line(queryset, owner):
            if self.holds_all(queryset.model, owner):
                return queryset.all()
            return queryset.filter(**{f"{owner}__in": self.owners})
        return queryset.visible_to(self.viewer).filter(**{f"{owner}__in": self.owners})

    def holds_all(self, model, owner: str = "owner") -> bool:
        """Whether every record of `model` has one of the line's owners at the end of the path `owner` (a director
        whose subtree is the whole sales force): then the line is the whole table and its sections read it as an
        administrator's do, from the period's covering indexes, instead of probing each row's owner (a quote's
        through its deal). The answer is read as the line's owner list is, once, a few index probes: none of the
        owner's index entries is anyone else's, and no record has no owner. Only for paths of non-null foreign
        keys to an indexed owner column; anything else is answered False (the owner list is applied)."""
        if self.owners is None:
            return False
        found = _owner_column(model, owner)
        if found is None:
            return False
        if found not in self._holds_all:
            if "others" not in self._holds_all:
                self._holds_all["others"] = list(User.objects.exclude(pk__in=self.owners).values_list("pk", flat=True))
            self._holds_all[found] = _nobody_else_owns(*found, self._holds_all["others"])
        return self._holds_all[found]

    def reads_all(self, queryset) -> bool:
        """Whether the line is every record of `queryset`'s kind: the viewer's role reads them all (after-sales
        service the tickets and surveys, finance the quotes and contracts) and neither a rep nor their own team
        narrows it. Their own line (what they own) would hold none of it: a service manager's dashboard said
        "no tickets" while their team worked hundreds."""
        return (self.owners is not None and self.rep is None and not self.own_team
                and queryset.all().sees_all(self.viewer))

    def owned_by_line(self, queryset, owner: str) -> bool:
        """Whether `viewer` sees every record of `queryset`'s model whose `owner` path is one of the line's owners."""
        viewer = self.viewer
        if not viewer.is_authenticated or not viewer.is_active:
            return False
        paths = (getattr(queryset.all(), "owner_field", None), *getattr(queryset.all(), "also_owner_fields", ()))
        if owner not in paths or self.reads_all(queryset):
            return False
        return viewer.is_admin or set(self.owners) <= set(owners_seen(viewer))

    def of_deals(self, queryset, *, deal: str = "", owner: str = "owner"):
        """The line's records (`line`) whose deal (the path `deal` to it: "" for deals themselves, "opportunity__"
        for a quote or a contract) is in the scope's pipeline, came from its source and has the deal fields'
        values the scope filters on."""
        rows = self.line(queryset, owner)
        if self.pipeline is not None:
            rows = rows.filter(**{f"{deal}pipeline": self.pipeline})
        if self.source is not None:
            rows = rows.filter(**{f"{deal}lead__source": self.source})
        if deal:  # a quote's or a contract's own `custom` is not the deal's
            return indexes.through(rows, deal.removesuffix("__"), Opportunity, self.deal_filters)
        return indexes.apply_filters(rows, self.deal_filters)

    def leads(self):
        """The line's leads from the scope's source with the lead fields' values it filters on."""
        leads = indexes.apply_filters(self.line(Lead.objects), self.lead_filters)
        return leads if self.source is None else leads.filter(source=self.source)

    def deals(self):
        return self.of_deals(Opportunity.objects)

    def funnel_pipeline(self) -> Pipeline | None:
        return self.pipeline or Pipeline.default()


def _owner_column(model, owner: str):
    """(model, column) at the end of the path `owner` from `model` (a quote's `opportunity__owner`: the deal's
    owner), if every hop is a non-null foreign key and the column a foreign key its model has an index on; else
    None."""
    *hops, last = owner.split("__")
    for name in hops:
        hop = model._meta.get_field(name)
        if not hop.many_to_one or hop.null:
            return None
        model = hop.related_model
    column = model._meta.get_field(last)
    indexed = column.db_index or any(index.fields and index.fields[0] == last for index in model._meta.indexes)
    return (model, last) if column.many_to_one and indexed else None


def _nobody_else_owns(model, column: str, others: list[int]) -> bool:
    """No record of `model` has one of `others` or nobody in `column`: probes of its index."""
    rows = model._base_manager.order_by()
    return not ((others and rows.filter(**{f"{column}__in": others}).exists())
                or (model._meta.get_field(column).null and rows.filter(**{f"{column}__isnull": True}).exists()))


def _ratio(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


class Elapsed(Func):
    """`end - start` as a duration, exact to the microsecond. PostgreSQL subtracts the timestamps itself; on SQLite
    Django compiles the subtraction to `django_timestamp_diff`, a Python function the database calls per row (in the
    ORDER BY of a ranking too: 120 ms for a quarter's 5k hand-offs). Here SQLite counts it from the stored text
    (`YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC, as Django writes it): the whole seconds from julianday (rounded: its
    double is exact to well under a second, not to a microsecond), plus the difference of the fractions' digits."""

    output_field = DurationField()
    arity = 2

    def as_sql(self, compiler, connection, **extra_context):
        (end, end_params), (start, start_params) = (compiler.compile(part) for part in self.get_source_expressions())
        return f"({end} - {start})", (*end_params, *start_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        (end, end_params), (start, start_params) = (compiler.compile(part) for part in self.get_source_expressions())

        def micro(text):
            return f"CAST(substr(substr({text}, 21) || '000000', 1, 6) AS INTEGER)"

        seconds = f"CAST(round((julianday(substr({end}, 1, 19)) - julianday(substr({start}, 1, 19))) * 86400) AS INTEGER)"
        return (f"({seconds} * 1000000 + {micro(end)} - {micro(start)})",
                (*end_params, *start_params, *end_params, *start_params))


def percentiles(rows, *, group: tuple[str, ...], start: str, end: str, timed: Q | None = None,
                counts: dict[str, Q | None] | None = None) -> dict:
    """{group values: {"n", "median", "p90", and each of `counts`}} over the durations `end - start` of `rows`
    (timedeltas; of the rows matching `timed` when given), by nearest rank: the ⌈n/2⌉-th and ⌈9n/10⌉-th shortest of
    each group. A group with rows but none timed has n 0 and no median; each of `counts` is the number of the
    group's rows matching its Q (all of them for None).

    One pass: the database ranks the durations with window functions (timed rows first, shortest first) and returns
    at most three rows per group, however many durations there are: the first (with the counts) and the two ranks.
    SQLite has no percentile function, and fetching every duration to sort it in Python would grow with the table.
    The windows are written around the queryset's own SQL, so each duration is computed once per row: Django's
    window filter repeats the expressions (the duration in the ranking's order and in the select list, the count
    of timed rows three times), which cost half the query (a quarter's 6.5k hand-offs: 40 → 20 ms)."""
    counts = counts or {}

    def one_if(condition):
        return Value(1) if condition is None else Case(When(condition, then=Value(1)), default=Value(0))

    keys = {f"key{i}": F(name) for i, name in enumerate(group)}
    flags = {f"flag{i}": one_if(condition) for i, condition in enumerate(counts.values())}
    inner = rows.order_by().annotate(**keys, row=F("pk"), duration=Elapsed(F(end), F(start)), timed=one_if(timed),
                                     **flags).values(*keys, "row", "duration", "timed", *flags)
    try:
        sql, params = inner.query.sql_with_params()
    except EmptyResultSet:  # rows that cannot match (no kind of record the viewer could see): Django reads nothing
        return {}
    # Only the names above go into the text (the queryset's own values are its parameters).
    partition = "PARTITION BY " + ", ".join(f'"{key}"' for key in keys)
    counted = [f'SUM("{flag}") OVER ({partition}) AS "count{i}"' for i, flag in enumerate(flags)]
    ranked = f"""
        SELECT {", ".join([*(f'"{key}"' for key in keys), '"rank"', '"n"', '"duration"',
                           *(f'"count{i}"' for i in range(len(flags)))])}
        FROM (SELECT *, ROW_NUMBER() OVER ({partition} ORDER BY "timed" DESC, "duration", "row") AS "rank",
                     {", ".join([f'SUM("timed") OVER ({partition}) AS "n"', *counted])}
              FROM ({sql}) AS "rows") AS "ranked"
        WHERE "rank" = 1 OR "rank" = ("n" + 1) / 2 OR "rank" = ("n" * 9 + 9) / 10"""  # noqa: S608
    with connections[rows.db].cursor() as cursor:
        cursor.execute(ranked, params)
        found_rows = cursor.fetchall()
    result = {}
    for row in found_rows:
        key, (rank, n, duration, *counted) = tuple(row[:len(keys)]), row[len(keys):]
        # SQLite answers the duration in microseconds, PostgreSQL as an interval (a timedelta already).
        duration = timedelta(microseconds=duration) if isinstance(duration, int) else duration
        found = result.setdefault(key, {"n": n, "median": None, "p90": None, **dict(zip(counts, counted, strict=True))})
        if n and rank == (n + 1) // 2:
            found["median"] = duration
        if n and rank == (n * 9 + 9) // 10:
            found["p90"] = duration
    return result


def _in_days(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 86400, 1)


def in_hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 1)


def _names(model, ids, field: str) -> dict:
    return dict(model.objects.filter(pk__in={pk for pk in ids if pk is not None}).values_list("pk", field))


# ---------------------------------------------------------------------------------------------------
# Sections


def lead_sources(scope: Scope) -> dict:
    """Leads created in the period by source, how many of them were qualified and became a deal, and the won deals
    that came of them. Won counts deals, as its drill-down (the deal list) does: the line's won deals whose lead
    was created in the period, whoever owns the lead (a lead handed to another rep is won on their line)."""
    leads = scope.leads().filter(scope.during("created_at"))
    # The lead's creation time and source as each deal keeps them (deals.lead_origin), read from opp_won_lead_idx:
    # joined to the lead, SQLite looked for a deal of each of the period's leads (90k a quarter at 1M).
    won = scope.line(Opportunity.objects).filter(status=OpportunityStatus.WON, lead_created_at__gte=scope.since,
                                                 lead_created_at__lt=scope.until)
    if scope.source is not None:
        won = won.filter(lead_source=scope.source)
    # The lead fields narrow the won deals through their lead, as the deal list's `lead.cf.<key>` does.
    won = indexes.through(won, "lead", Lead, scope.lead_filters)
    rows = {row["source_id"]: row for row in leads.values("source_id", "source__name", "source__position").annotate(
        leads=Count("pk"),
        qualified=Count("pk", filter=Q(status__in=QUALIFIED_STATUSES)),
        deals=Count("pk", filter=Q(status=LeadStatus.CONVERTED)),
    ).order_by()}
    won_by_source = dict(won.order_by().values("lead_source_id").annotate(won=Count("pk")).values_list(
        "lead_source_id", "won"))
    for source in LeadSource.objects.filter(pk__in=set(won_by_source) - set(rows)).values("pk", "name", "position"):
        rows[source["pk"]] = {"source_id": source["pk"], "source__name": source["name"],
                              "source__position": source["position"], "leads": 0, "qualified": 0, "deals": 0}
    for source, won_n in won_by_source.items():
        rows[source]["won"] = won_n
    rows = sorted(rows.values(), key=lambda row: (row["source__position"], row["source_id"]))
    for row in rows:
        row.setdefault("won", 0)
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
                                         custom=scope.custom_params("lead", LEAD_PREFIX),
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
    """Open deals now (whatever the period) by expected close month: amount and amount × stage probability.

    Grouped by close date in the database and folded into months here: a month of a date column is a function
    per row on SQLite (a Python one), and the dates of two years are a few hundred groups. The line's open deals
    are read from a covering index, each deal's weighted amount rounded to the fen as before: a few owners' from
    `opp_forecast_idx` (status, owner, close date: each owner's deals in close-date order), a director's or the whole
    company's from `opp_forecast_day_idx` (status, close date, owner), whose order is the groups' own, so SQLite
    sorts none of the 100k rows (grouped by the bare column, which lets it; a COALESCE of it sorted them: twice
    the time at 110k open deals).
    """
    months: dict = {}
    for row in (scope.deals().filter(status=OpportunityStatus.OPEN).values("expected_close_date")
                .annotate(deals=Count("pk"), amount_fen=sum_fen(F("amount") * 100),
                          weighted_fen=sum_fen(F("amount") * F("stage__probability"))).order_by()):
        day = row["expected_close_date"]
        month = months.setdefault(day.replace(day=1) if day else None, {"deals": 0, "amount_fen": 0, "weighted_fen": 0})
        for key in ("deals", "amount_fen", "weighted_fen"):
            month[key] += row[key] or 0
    rows = []
    for month in sorted(months, key=lambda value: (value is None, value)):
        row = months[month]
        key = f"{month:%Y-%m}" if month else "none"
        rows.append({"month": month, "deals": row["deals"], "amount": from_fen(row["amount_fen"]),
                     "weighted": from_fen(row["weighted_fen"]), "key": key,
                     "url": scope.link("deals:list", status=OpportunityStatus.OPEN, close_month=key)})
    return {"rows": rows, "deals": sum(r["deals"] for r in rows),
            "amount": sum((r["amount"] for r in rows), Decimal("0.00")),
            "weighted": sum((r["weighted"] for r in rows), Decimal("0.00"))}


ACCURACY_MONTHS = 6


def forecast_accuracy(scope: Scope, today: date | None = None) -> dict:
    """How good the weighted forecast was, for each of the last six whole months: the forecast as it stood when the
    month began (the line's deals then open in an open stage and expected to close that month, amount × the then
    stage's probability, from the stage history) against the deals won that month. One query over the history, one
    sum per month; one query per month over the won deals, each its month's range of `opp_won_amount_idx` (twelve
    FILTERs over the six months' 10k won deals at 1M leads cost four times the six ranges). The amount and the
    expected close date are today's: the history keeps stages, not edits."""
    today = today or timezone.localdate()
    months = []
    first = today.replace(day=1)
    for _n in range(ACCURACY_MONTHS):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    months.reverse()

    def following(month):
        return date(month.year + month.month // 12, month.month % 12 + 1, 1)

    deals = scope.deals()
    forecast_sums, won_ = {}, {}
    for n, month in enumerate(months):
        began = local_midnight(month)
        then_open = (Q(entered_at__lt=began) & (Q(exited_at__isnull=True) | Q(exited_at__gte=began))
                     & Q(opportunity__expected_close_date__gte=month, opportunity__expected_close_date__lt=following(month)))
        forecast_sums[f"n{n}"] = Count("opportunity_id", distinct=True, filter=then_open)
        forecast_sums[f"fen{n}"] = sum_fen(F("opportunity__amount") * F("stage__probability"), filter=then_open)
        won = deals.filter(status=OpportunityStatus.WON, won_at__gte=began,
                           won_at__lt=local_midnight(following(month))).aggregate(n=Count("pk"),
                                                                                  fen=sum_fen(F("amount") * 100))
        won_[f"n{n}"], won_[f"fen{n}"] = won["n"], won["fen"]
    forecast_ = StageHistory.objects.filter(opportunity__in=deals.values("pk"), stage__is_won=False,
                                            stage__is_lost=False).aggregate(**forecast_sums)
    rows = []
    for n, month in enumerate(months):
        forecast_amount, won_amount = from_fen(forecast_[f"fen{n}"]), from_fen(won_[f"fen{n}"])
        last_day = following(month) - timedelta(days=1)
        rows.append({"key": f"{month:%Y-%m}", "forecast_deals": forecast_[f"n{n}"], "forecast": forecast_amount,
                     "won_deals": won_[f"n{n}"], "won": won_amount,
                     "accuracy": _ratio(float(won_amount), float(forecast_amount)) if forecast_amount else None,
                     "url": scope.link("deals:list", status=OpportunityStatus.WON, closed_from=month.isoformat(),
                                       closed_to=last_day.isoformat())})
    return {"rows": rows}


def contracts_in(scope: Scope):
    """The line's contracts the viewer may see, in the pipeline and from the source the scope names."""
    return scope.of_deals(Contract.objects, deal="opportunity__")


def of_contracts(queryset, scope: Scope, contracts=None):
    """`queryset` (instalments, payments) narrowed to those of the line's contracts (`contracts`, else
    `contracts_in`): through them, so the contract's visibility is theirs. Not narrowed at all when the line is
    every contract (an administrator's or finance's whole company, no pipeline or source): `contract IN (every
    contract)` let SQLite walk every contract and probe its rows instead of reading the period's from its index."""
    # The deal fields' filters probe each of the period's rows' deal (`indexes.through`), as the line does its owner.
    if contracts is None and scope.pipeline is None and scope.source is None and _every_contract(scope):
        return indexes.through(queryset, "contract__opportunity", Opportunity, scope.deal_filters)
    if (contracts is None and scope.owners is not None and scope.pipeline is None and scope.source is None
            and scope.owned_by_line(Contract.objects, "owner")):
        # The line's contracts are those its owners own (`Scope.line`): joined to each of the period's rows, not
        # `contract IN (every contract of the line)`, which let SQLite walk a manager's contracts and probe each
        # one's instalments (every instalment of the team, instead of the period's).
        return indexes.through(queryset.filter(contract__owner__in=scope.owners), "contract__opportunity", Opportunity,
                               scope.deal_filters)
    return queryset.filter(contract__in=(contracts if contracts is not None else contracts_in(scope)).values("pk"))


def _every_contract(scope: Scope) -> bool:
    """Whether the line's contracts are every contract: an administrator's or finance's whole company, or a line
    that holds every contract (`Scope.holds_all`)."""
    if scope.owners is None or scope.reads_all(Contract.objects):
        return Contract.objects.all().sees_all(scope.viewer)
    return scope.owned_by_line(Contract.objects, "owner") and scope.holds_all(Contract, "owner")


def instalments_due_in(scope: Scope):
    """The instalments falling due in the period, of the line's contracts. A line of owners whose contracts the
    viewer sees through ownership is checked on the instalment's own owner (its contract's, kept on it by
    `contracts.plans`), which `instalment_due_owner_idx` holds: joining each of a quarter's 32k instalments to its
    contract for the owner was 25 ms of a manager's page."""
    due = Instalment.objects.filter(scope.on_days("due_date"))
    if (scope.owners is not None and scope.pipeline is None and scope.source is None
            and scope.owned_by_line(Contract.objects, "owner") and not _every_contract(scope)):
        return indexes.through(due.filter(owner__in=scope.owners), "contract__opportunity", Opportunity,
                               scope.deal_filters)
    return of_contracts(due, scope)


def payments_in(scope: Scope):
    """The payments received in the period (not voided), of the line's contracts."""
    return of_contracts(Payment.objects.filter(voided_at__isnull=True).filter(scope.on_days("received_on")), scope)


def quote_to_cash(scope: Scope) -> dict:
    """Quotes sent, approved and accepted in the period; contracts signed; instalments due against payments
    collected. One query per event of a quote, one per other table."""
    if (scope.owners is not None and scope.pipeline is None and scope.source is None
            and scope.owned_by_line(Quote.objects, "opportunity__owner")
            and not scope.holds_all(Quote, "opportunity__owner")):
        # The line's quotes are those of its owners' deals (`Scope.line`), matched on the deal's owner each quote
        # keeps (quotes.deal_owner), which the period's indexes hold: not a deal read per quote.
        quotes = indexes.through(Quote.objects.filter(deal_owner__in=scope.owners), "opportunity", Opportunity,
                                 scope.deal_filters).order_by()
    else:
        quotes = scope.of_deals(Quote.objects, deal="opportunity__", owner="opportunity__owner").order_by()
    approved_in = ApprovalRequest.objects.filter(kind="quote", status=ApprovalStatus.APPROVED,
                                                 decided_at__gte=scope.since, decided_at__lt=scope.until)
    total = sum_fen(F("current_total") * 100)  # the current version's, kept on the quote (quotes.current_total)
    # One query per event, each from its own index: the sent and the decided quotes from covering partial indexes
    # (quote_sent_owner_idx, quote_decided_owner_idx: the date, the deal's owner, the deal, the current total), the
    # approved from the approvals decided in the period. One query for the three (FILTERs over `sent OR decided OR approved`)
    # merged the three ranges and probed the approvals twice for each row: twice the time at 150k quotes.
    figures = {}
    for key, rows in (("sent", quotes.filter(scope.during("sent_at"))),
                      ("approved", quotes.filter(pk__in=approved_in.values("target_id"))),
                      ("accepted", quotes.filter(scope.during("decided_at"), status=QuoteStatus.ACCEPTED))):
        found = rows.aggregate(n=Count("pk"), fen=total)
        figures[key], figures[f"{key}_fen"] = found["n"], found["fen"]
    contracts = contracts_in(scope)
    signed = contracts.filter(scope.during("signed_at")).aggregate(n=Count("pk"), fen=sum_fen(F("amount") * 100))
    due = instalments_due_in(scope).aggregate(n=Count("pk"), fen=sum_fen(F("amount") * 100),
                                              paid_fen=sum_fen(F("paid_amount") * 100))
    collected = payments_in(scope).aggregate(n=Count("pk"), fen=sum_fen(F("amount") * 100))
    def quotes_url(event):
        return scope.link("quotes:list", event=event, **scope.days)

    def collection_link(figure):
        return scope.own_link("insights:collection", figure=figure, pipeline=scope.pipeline.pk if scope.pipeline else "",
                              source=scope.source.pk if scope.source else "", **scope.custom_params("deal", DEAL_PREFIX))

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
        {"key": "instalments_due", "name": _("Instalments due"), "count": due["n"], "amount": from_fen(due["fen"]),
         "url": collection_link("due")},
        {"key": "collected", "name": _("Payments collected"), "count": collected["n"],
         "amount": from_fen(collected["fen"]), "url": collection_link("collected")},
    ]
    due_amount = from_fen(due["fen"])
    return {"rows": rows, "due": due_amount, "due_paid": from_fen(due["paid_fen"]),
            "collected": from_fen(collected["fen"]),
            "collected_rate": _ratio(float(from_fen(collected["fen"])), float(due_amount)) if due_amount else None}


def cycle_times(scope: Scope) -> dict:
    """How long deals stay in each open stage of the pipeline: the stays that ended in the period (the deal moved
    on, won or lost), their median and p90 in days, and how many deals made them. Two queries over the stage
    history of the line's deals."""
    pipeline = scope.funnel_pipeline()
    if pipeline is None:
        return {"pipeline": None, "rows": []}
    stages = [stage for stage in pipeline.stages.order_by("position", "id") if not stage.is_closed]
    stays = (StageHistory.objects.filter(opportunity__in=scope.deals().filter(pipeline=pipeline).values("pk"),
                                         stage__in=[stage.pk for stage in stages], exited_at__isnull=False)
             .filter(scope.during("exited_at")))
    deals = dict(stays.order_by().values("stage_id").annotate(n=Count("opportunity_id", distinct=True))
                 .values_list("stage_id", "n"))
    times = percentiles(stays, group=("stage_id",), start="entered_at", end="exited_at")
    rows = []
    for stage in stages:
        found = times.get((stage.pk,), {"n": 0, "median": None, "p90": None})
        rows.append({"stage": stage, "name": stage.name, "deals": deals.get(stage.pk, 0), "stays": found["n"],
                     "median": _in_days(found["median"]), "p90": _in_days(found["p90"]),
                     "url": scope.link("deals:list", pipeline=pipeline.pk, left=stage.pk,
                                       left_from=scope.start.isoformat(), left_to=scope.end.isoformat())})
    return {"pipeline": pipeline, "rows": rows}


def handoffs_in(scope: Scope):
    """Hand-offs asked for in the period that the viewer may see, from or to someone of the line (a manager's
    team hands work to pre-sales; a pre-sales engineer's line receives it). Any record, so neither pipeline nor
    source narrows them."""
    handoffs = Handoff.objects.filter(scope.during("created_at"))
    if scope.owners is not None:
        handoffs = handoffs.filter(Q(requested_by__in=scope.owners) | Q(assignee__in=scope.owners))
    # Each of the period's hand-offs checked against its record: the list of every record a manager's team
    # sees took seconds to build at 1M leads, for a handful of hand-offs.
    return handoffs.visible_row_by_row(scope.viewer)


ACCEPTED = (HandoffStatus.ACCEPTED, HandoffStatus.DONE)


def handoff_figures(scope: Scope) -> dict:
    """{(asking department, receiving department): {"asked", "accepted", "declined", "waiting", and "n", "median",
    "p90" of the times from the request to the acceptance (timedeltas)}} of the hand-offs asked for in the period.
    One pass: the period's hand-offs are read (and checked against their records) once."""
    return percentiles(handoffs_in(scope), group=("requested_by__department_id", "assignee__department_id"),
                       start="created_at", end="responded_at", timed=Q(status__in=ACCEPTED, responded_at__isnull=False),
                       counts={"asked": None, "accepted": Q(status__in=ACCEPTED),
                               "declined": Q(status=HandoffStatus.DECLINED), "waiting": Q(status=HandoffStatus.PENDING)})


def handoff_times(scope: Scope) -> dict:
    """Hand-offs between departments (the asking person's to the receiving one's) asked for in the period: how
    many, how many accepted, and the hours from the request to the acceptance (median and p90)."""
    times = handoff_figures(scope)
    names = _names(Department, {value for key in times for value in key}, "name")
    rows = []
    for (source, target), row in times.items():
        rows.append({"from_id": source, "to_id": target, "from": names.get(source, "–"), "to": names.get(target, "–"),
                     "asked": row["asked"], "accepted": row["accepted"], "declined": row["declined"],
                     "waiting": row["waiting"], "median": in_hours(row["median"]), "p90": in_hours(row["p90"]),
                     "url": scope.own_link("insights:handoffs", from_department=source or "none",
                                           to_department=target or "none")})
    rows.sort(key=lambda r: (-r["asked"], str(r["from"]), str(r["to"])))
    return {"rows": rows, "asked": sum(r["asked"] for r in rows)}


def first_contact_sla(scope: Scope, now: datetime) -> dict:
    """By rep, the first contacts (SLA tasks) they held that fell due in the period: made in time, late, not made
    yet past the due time, still to come; and the share made in time of those due by now. Each rep is judged on
    their own task, whoever owns the lead now (a lead handed on after its first contact counts for the rep who made
    it, and for the new owner on theirs), once per lead (`first_contacts_by_owner`). Then what is overdue now
    (whatever the period): open leads and deals whose next follow-up has passed."""
    sla = {row["owner_id"]: row for row in first_contacts_by_owner(scope, now)}
    overdue_leads, overdue_deals, counted_at = overdue_by_owner(scope, now)
    owners = {*sla, *overdue_leads, *overdue_deals} - {None}
    names = _names(User, owners, "display_name")
    days = {"due_from": scope.start.isoformat(), "due_to": scope.end.isoformat()}
    rows, overdue = [], []
    for owner in sorted(owners, key=lambda pk: (str(names.get(pk, "")), pk)):
        rep = names.get(owner, "")
        if owner in sla:
            row = {key: sla[owner][key] for key in ("due", "met", "late", "missed")}
            row["pending"] = row["due"] - row["met"] - row["late"] - row["missed"]
            row["rate"] = _ratio(row["met"], row["met"] + row["late"] + row["missed"])
            # The rep's own tasks, whoever owns the lead now: the list's `owner` would name the lead's owner.
            row["urls"] = {outcome: scope.link("leads:list", narrowed=False, owner="", first_contact_by=owner,
                                               first_contact=outcome, source=scope.source.pk if scope.source else "",
                                               **days)
                           for outcome in ("met", "late", "missed")}
            rows.append({"owner_id": owner, "rep": rep, **row})
        if overdue_leads.get(owner) or overdue_deals.get(owner):
            overdue.append({"owner_id": owner, "rep": rep, "leads": overdue_leads.get(owner, 0),
                            "deals": overdue_deals.get(owner, 0),
                            "urls": {"leads": scope.link("leads:list", narrowed=False, owner=owner, overdue=1,
                                                         source=scope.source.pk if scope.source else ""),
                                     "deals": scope.link("deals:list", owner=owner, overdue=1)}})
    total = {key: sum(row[key] for row in rows) for key in ("due", "met", "late", "missed", "pending")}
    total["rate"] = _ratio(total["met"], total["met"] + total["late"] + total["missed"])
    return {"rows": rows, "total": total, "overdue": overdue, "overdue_counted_at": counted_at,
            "overdue_total": {key: sum(row[key] for row in overdue) for key in ("leads", "deals")}}


def first_contact_tasks(scope: Scope):
    """The first-contact tasks the line is judged on: held by one of its reps (the task's owner), due on the
    period's days, not cancelled, on a lead the viewer sees, from the scope's source, with the lead fields' values
    it filters on. Read from `task_kind_owner_due_idx` alone; each task's lead is looked up only when something
    narrows the leads (a viewer who does not see every lead, a source, a custom field): an administrator's
    unfiltered quarter at 1M leads is 67k index entries and no lead."""
    tasks = Task.objects.of_type(Lead).filter(
        scope.during("due_at"), kind=FIRST_CONTACT, status__in=(TaskStatus.OPEN, TaskStatus.DONE))
    # Everyone's line named as every user (a subquery): SQLite then seeks the index owner by owner instead of
    # skipping through task_owner_due_idx and reading each task's row (twice the time).
    tasks = tasks.filter(owner__in=scope.owners if scope.owners is not None else User.objects.values("pk"))
    leads = indexes.apply_filters(Lead.objects.visible_to(scope.viewer), scope.lead_filters)
    if scope.source is not None:
        leads = leads.filter(source=scope.source)
    if not leads.query.has_filters():
        return tasks
    visible = Exists(leads.filter(pk=OuterRef("record_id")))
    if scope.filtered or scope.source is not None or not _line_seen_whole(scope):
        return tasks.filter(visible)
    # The viewer sees every lead its task's rep still owns (the rep is of the line, the line is seen whole): asked
    # first, in the leads' owner index (owner, id), which SQLite reads far faster than each lead's row; the lead's
    # row only for a lead no longer its rep's (handed on, back in the pool, merged).
    return tasks.filter(Q(OwnedBy(Lead.objects.filter(owner=OuterRef("owner"), pk=OuterRef("record_id")))) | Q(visible))


class OwnedBy(Exists):
    """`Exists` over leads by owner and id that SQLite answers from the leads' owner index (owner, rowid): its
    planner would read the lead's row by id instead (half the first-contact SLA's time for a director's quarter)."""

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = self.as_sql(compiler, connection, **extra_context)
        table, index = Lead._meta.db_table, _lead_owner_index(connection)
        hinted, found = re.subn(rf'(FROM "{table}" ("?U0"?) )', rf'\1INDEXED BY "{index}" ', sql, count=1)
        if index is None or not found:  # no such index, or Django wrote the subquery differently: unhinted, still right
            return sql, params
        return hinted, params


def _lead_owner_index(connection) -> str | None:
    """The leads' owner index (LEAD_OWNER_INDEX), if the database has it (a hint naming a missing index is an error
    in SQLite: a database not migrated yet). Checked once per database, outside Django's query log."""
    key = (connection.alias, connection.settings_dict["NAME"])
    if key not in _lead_owner_indexes:
        connection.ensure_connection()
        found = connection.connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                                              [LEAD_OWNER_INDEX]).fetchone()
        _lead_owner_indexes[key] = LEAD_OWNER_INDEX if found else None
    return _lead_owner_indexes[key]


_lead_owner_indexes: dict = {}


def first_contacts_by_owner(scope: Scope, now: datetime) -> list[dict]:
    """[{owner_id, due, met, late, missed}] per rep of the line: the leads whose first contact they held fell due
    in the period (`first_contact_tasks`), each judged on the rep's latest task on it due in the period
    (`latest_of_each_rep`: they claimed it again from the pool, or leads were merged), so every lead counted is
    exactly one of met, late, missed or still to come. One grouped query counts tasks and distinct leads per rep;
    only the reps for whom they differ (rare) are counted again with each lead's latest task."""
    tasks = first_contact_tasks(scope)
    outcomes = {outcome: Count("pk", filter=first_contact_outcome(outcome, now))
                for outcome in ("met", "late", "missed")}
    rows = list(tasks.order_by().values("owner_id").annotate(tasks=Count("pk"), due=Count("record_id", distinct=True),
                                                             **outcomes))
    twice = [row["owner_id"] for row in rows if row["tasks"] != row["due"]]
    if twice:
        latest = latest_of_each_rep(tasks.filter(owner__in=twice), scope.until)
        again = {row["owner_id"]: row for row in latest.order_by().values("owner_id").annotate(due=Count("pk"),
                                                                                                **outcomes)}
        rows = [again.get(row["owner_id"], row) for row in rows]
    return [{key: row[key] for key in ("owner_id", "due", "met", "late", "missed")} for row in rows]


def leads_overdue(leads, now: datetime) -> list:
    """The open leads of `leads` whose next follow-up has passed, as two querysets: before and after the first
    contact. Each half repeats the condition of its partial index (the radar's lead_radar_first_contact_idx and
    lead_radar_follow_up_at_idx), so SQLite reads the overdue leads from the index instead of walking every lead."""
    return [leads.filter(next_follow_up_at__isnull=False, last_activity_at__isnull=not contacted,
                         next_follow_up_at__lt=now).exclude(status__in=CLOSED_STATUSES) for contacted in (False, True)]


def deals_overdue(deals, now: datetime):
    """The open deals of `deals` whose next follow-up has passed."""
    return deals.filter(status=OpportunityStatus.OPEN, next_follow_up_at__lt=now)


def _kept_counts_serve(scope: Scope) -> bool:
    """Whether the counts kept per owner are the line's figure: no custom field narrows it (nothing is kept per
    custom value) and the viewer sees every record of the line's owners (`_line_seen_whole`)."""
    return not scope.filtered and _line_seen_whole(scope)


def _line_seen_whole(scope: Scope) -> bool:
    """Whether the viewer sees every record of the line's owners: an administrator everything, anyone else the
    owners whose records they see through ownership."""
    viewer = scope.viewer
    if not viewer.is_authenticated or not viewer.is_active:
        return False
    return scope.owners is None and viewer.is_admin or (
        scope.owners is not None and (viewer.is_admin or set(scope.owners) <= set(owners_seen(viewer))))


def overdue_by_owner(scope: Scope, now: datetime) -> tuple[dict, dict, datetime | None]:
    """{owner: overdue leads}, {owner: overdue deals} of the line, and when they were counted: from the counts the
    radar's sweep keeps per owner, source and pipeline (`OverdueCount`, as of its last recount), or counted now
    (None) before the first recount. Counting the line's open records on each view took half a second at 1M leads.
    A custom field's filter is counted now for its own records only: a deal field's leaves the leads' kept counts
    serving, a lead field's the deals'."""
    last = RadarRecount.objects.first()
    if last is None or not _line_seen_whole(scope):
        return *overdue_counted(scope, now), None
    live = {OverdueCount.LEAD: bool(scope.lead_filters), OverdueCount.DEAL: bool(scope.deal_filters)}
    if all(live.values()):
        return *overdue_counted(scope, now), None
    kept = OverdueCount.objects.exclude(record__in=[record for record, counted in live.items() if counted])
    if scope.owners is not None:
        kept = kept.filter(owner__in=scope.owners)
    if scope.source is not None:
        kept = kept.filter(source=scope.source)
    if scope.pipeline is not None:  # leads have no pipeline
        kept = kept.filter(Q(record=OverdueCount.LEAD) | Q(pipeline=scope.pipeline))
    found = {OverdueCount.LEAD: {}, OverdueCount.DEAL: {}}
    for record, owner, n in kept.order_by().values("record", "owner_id").annotate(n=Sum("count")).values_list(
            "record", "owner_id", "n"):
        found[record][owner] = n
    if live[OverdueCount.LEAD]:
        found[OverdueCount.LEAD] = overdue_counted(scope, now, deals=False)[0]
    if live[OverdueCount.DEAL]:
        found[OverdueCount.DEAL] = overdue_counted(scope, now, leads=False)[1]
    return found[OverdueCount.LEAD], found[OverdueCount.DEAL], last.counted_at


def overdue_counted(scope: Scope, now: datetime, *, leads: bool = True, deals: bool = True) -> tuple[dict, dict]:
    """{owner: overdue leads}, {owner: overdue deals} of the line (either left empty when not asked for), counted
    now (one grouped query each). The custom fields' filters as lists of ids from their indexes
    (`apply_filters_listed`): the overdue leads are a good part of a million, and reading each one's JSON doubled
    the count's cost."""
    by_lead: dict = {}
    if leads:
        rows = scope.line(Lead.objects)
        if scope.source is not None:
            rows = rows.filter(source=scope.source)
        # Under a lead field's filter, one query probing the value's leads (listed once from the field's index)
        # rather than a walk of each partial index, each building the list again.
        parts = leads_overdue(rows, now) if not scope.lead_filters else [
            indexes.apply_filters_listed(rows, scope.lead_filters).filter(next_follow_up_at__lt=now)
            .exclude(status__in=CLOSED_STATUSES)]
        for part in parts:
            for owner, n in part.order_by().values("owner_id").annotate(n=Count("pk")).values_list("owner_id", "n"):
                by_lead[owner] = by_lead.get(owner, 0) + n
    by_deal: dict = {}
    if deals:
        rows = scope.line(Opportunity.objects)
        if scope.pipeline is not None:
            rows = rows.filter(pipeline=scope.pipeline)
        if scope.source is not None:
            rows = rows.filter(lead__source=scope.source)
        by_deal = dict(deals_overdue(indexes.apply_filters_listed(rows, scope.deal_filters), now).order_by()
                       .values("owner_id").annotate(n=Count("pk")).values_list("owner_id", "n"))
    return by_lead, by_deal


def overdue_recount(now: datetime) -> list[OverdueCount]:
    """Every owner's overdue leads by source and overdue deals by their lead's source and pipeline, over every
    record (the radar's sweep, `radar.recount`, stores them). Counted in Python from the partial indexes, as the
    radar's kinds are: grouping in SQLite walks the whole table in an owner index."""
    counted: Counter = Counter()
    for part in leads_overdue(Lead.objects.filter(owner__isnull=False), now):
        for owner, source in part.order_by().values_list("owner_id", "source_id").iterator(chunk_size=5000):
            counted[(OverdueCount.LEAD, owner, source, None)] += 1
    deals = deals_overdue(Opportunity.objects.filter(owner__isnull=False), now).order_by()
    for owner, source, pipeline in deals.values_list("owner_id", "lead__source_id", "pipeline_id").iterator(chunk_size=5000):
        counted[(OverdueCount.DEAL, owner, source, pipeline)] += 1
    return [OverdueCount(record=record, owner_id=owner, source_id=source, pipeline_id=pipeline, count=n)
            for (record, owner, source, pipeline), n in counted.items()]


def tickets_in(scope: Scope):
    """The tickets the viewer may see of the line: assigned to someone of it, or for a customer they own (a rep's
    customers' tickets are worked by after-sales service). Neither pipeline nor source narrows them."""
    if scope.owners is None or scope.reads_all(Ticket.objects):
        return Ticket.objects.visible_to(scope.viewer)
    # The customer's owner as each ticket keeps it (service.customer_owner): read from the review's covering
    # indexes, where looking up each ticket's customer was two thirds of a director's ticket figures.
    line = Q(owner__in=scope.owners) | Q(customer_owner__in=scope.owners)
    # A ticket assigned to someone of the line, or for a customer the line owns, is one the viewer sees when they
    # see every record of the line's owners (the customer's too): then the visibility terms add nothing but cost.
    if scope.owned_by_line(Ticket.objects, "owner"):
        return Ticket.objects.filter(line)
    return Ticket.objects.visible_to(scope.viewer).filter(line)


def surveys_in(scope: Scope):
    """The satisfaction surveys answered in the period that the viewer may see, of the line's customers (the account
    owner when each was sent)."""
    if scope.owners is not None and scope.owned_by_line(Survey.objects, "owner"):
        # The viewer sees every survey of the line's owners: their visibility terms (a lookup of each survey's
        # customer, and the lists of what the viewer collaborates on) would let through nothing more.
        return Survey.objects.filter(scope.during("answered_at"), answered_at__isnull=False, owner__in=scope.owners)
    surveys = answered_surveys(user=scope.viewer, start=scope.start, end=scope.end)
    return surveys if scope.owners is None or scope.reads_all(Survey.objects) else surveys.filter(owner__in=scope.owners)


def service(scope: Scope, now: datetime) -> dict:
    """After-sales service in the period, by assignee: tickets opened and resolved, the first response in time (of
    those opened) and the resolution in time (of those resolved); then CSAT and NPS of the surveys answered, by
    account owner and over time (service.selectors.satisfaction)."""
    # Two grouped queries, one per side, each read from its covering index (ticket_review_opened_idx,
    # ticket_review_resolved_idx): one query over `opened OR resolved` read every such ticket's row, half a second
    # over a quarter at 1M tickets.
    tickets = tickets_in(scope).order_by()
    keys = ("opened", "resolved", "response_met", "response_missed", "resolution_met", "resolution_missed")
    by_owner: dict = {}
    for row in [*tickets.filter(scope.during("created_at")).values("owner_id").annotate(
                    opened=Count("pk"), response_met=Count("pk", filter=response_outcome("met")),
                    response_missed=Count("pk", filter=response_outcome("missed", now))),
                *tickets.filter(scope.during("resolved_at")).values("owner_id").annotate(
                    resolved=Count("pk"), resolution_met=Count("pk", filter=resolution_outcome("met")),
                    resolution_missed=Count("pk", filter=resolution_outcome("missed")))]:
        by_owner.setdefault(row["owner_id"], dict.fromkeys(keys, 0) | {"owner_id": row["owner_id"]}).update(row)
    grouped = list(by_owner.values())
    names = _names(User, set(by_owner), "display_name")
    opened_days = {"opened_from": scope.start.isoformat(), "opened_to": scope.end.isoformat()}
    resolved_days = {"resolved_from": scope.start.isoformat(), "resolved_to": scope.end.isoformat()}

    def link(assignee, **params):
        query = {"status": "all", "line": "" if scope.reads_all(Ticket.objects) else scope.owner_param,
                 "assignee": assignee, **params}
        return _path("service:tickets") + "?" + urlencode({k: v for k, v in query.items() if v not in ("", None)})

    rows = []
    for row in grouped:
        assignee = row["owner_id"] or "none"
        rows.append({"owner_id": row["owner_id"], "assignee": names.get(row["owner_id"], _("Nobody")),
                     **{key: row[key] for key in keys},
                     "response_rate": _ratio(row["response_met"], row["response_met"] + row["response_missed"]),
                     "resolution_rate": _ratio(row["resolution_met"], row["resolution_met"] + row["resolution_missed"]),
                     "urls": {"opened": link(assignee, **opened_days), "resolved": link(assignee, **resolved_days),
                              "response_met": link(assignee, response="met", **opened_days),
                              "response_missed": link(assignee, response="missed", **opened_days),
                              "resolution_met": link(assignee, resolution="met", **resolved_days),
                              "resolution_missed": link(assignee, resolution="missed", **resolved_days)}})
    rows.sort(key=lambda r: (-r["opened"], str(r["assignee"]), r["owner_id"] or 0))
    total = {key: sum(row[key] for row in rows) for key in keys}
    total["response_rate"] = _ratio(total["response_met"], total["response_met"] + total["response_missed"])
    total["resolution_rate"] = _ratio(total["resolution_met"], total["resolution_met"] + total["resolution_missed"])

    every = "week" if (scope.end - scope.start).days <= 62 else "month"
    by_owner, over_time, overall = satisfaction_by_owner_over_days(surveys_in(scope), start=scope.start,
                                                                   end=scope.end, period=every)
    for row in by_owner:
        row["url"] = scope.own_link("insights:surveys", survey_owner=row["key"] or "none")
    return {"rows": rows, "total": total, "satisfaction": by_owner, "overall": overall, "over_time": over_time}


def _months(scope: Scope) -> tuple[date, date, date]:
    """The first days of the first and last month the period touches, and the day after the last month."""
    first, last = scope.start.replace(day=1), scope.end.replace(day=1)
    year, month = divmod(last.month, 12)
    return first, last, date(last.year + year, month + 1, 1)


TARGET_KEYS = ("new_customers", "won_amount", "collected_amount")
TARGET_LABELS = [("new_customers", gettext_lazy("New customers")), ("won_amount", gettext_lazy("Won amount")),
                 ("collected_amount", gettext_lazy("Collected amount"))]


def achievement(scope: Scope) -> dict:
    """Sales targets against what was done (完成率), over the whole months the period touches (targets are monthly):
    new customers, the amount of deals won, the amount collected; for each rep of the line with a target or a
    figure, and for the teams in view (a manager's own and those under it; every team for an administrator) with a
    target. A team's figure is its people's. Neither pipeline nor source narrows them."""
    first, last, after = _months(scope)
    since, until = local_midnight(first), local_midnight(after)
    customers = dict(scope.line(Customer.objects).filter(created_at__gte=since, created_at__lt=until).order_by()
                     .values("owner_id").annotate(n=Count("pk")).values_list("owner_id", "n"))
    won = dict(scope.line(Opportunity.objects).filter(status=OpportunityStatus.WON, won_at__gte=since,
                                                      won_at__lt=until)
               .order_by().values("owner_id").annotate(fen=sum_fen(F("amount") * 100)).values_list("owner_id", "fen"))
    payments = Payment.objects.filter(voided_at__isnull=True, received_on__gte=first, received_on__lt=after)
    if _every_contract(scope):
        pass
    elif scope.owners is not None and scope.owned_by_line(Contract.objects, "owner"):
        payments = payments.filter(contract__owner__in=scope.owners)  # joined, as `of_contracts` says why
    else:
        payments = payments.filter(contract__in=scope.line(Contract.objects).values("pk"))
    collected = dict(payments.order_by().values("contract__owner_id").annotate(fen=sum_fen(F("amount") * 100))
                     .values_list("contract__owner_id", "fen"))
    done = {}
    for key, figures_ in (("new_customers", customers), ("won_amount", won), ("collected_amount", collected)):
        for owner, value in figures_.items():
            if owner is not None:
                done.setdefault(owner, {})[key] = value if key == "new_customers" else from_fen(value)
    if scope.rep is not None or not sets_targets(scope.viewer):
        teams = []
    else:
        teams = target_teams(scope.viewer)
        if scope.own_team:
            teams = teams.filter(path__startswith=Subquery(Department.objects.filter(pk=scope.viewer.department_id)
                                                           .values("path")[:1]))
        teams = list(teams.values("pk", "name", "path"))
    targets = targets_for(months=(first, last), users=scope.owners, departments=[team["pk"] for team in teams])
    people = {pk for kind, pk in targets if kind == "user"} | set(done)
    users = {row["pk"]: row for row in User.objects.filter(pk__in=people).values("pk", "display_name", "department__path")}
    closed = {"status": OpportunityStatus.WON, "closed_from": first.isoformat(),
              "closed_to": (after - timedelta(days=1)).isoformat()}
    made = {"from": first.isoformat(), "to": (after - timedelta(days=1)).isoformat()}

    def row(name, target, actual, urls):
        cells = {}
        for key in TARGET_KEYS:
            goal = target.get(key)
            value = actual.get(key, 0 if key == "new_customers" else Decimal("0.00"))
            cells[key] = {"target": goal, "actual": value, "rate": _ratio(float(value), float(goal)) if goal else None,
                          "url": urls.get(key)}
        return {"name": name, **cells}

    reps = []
    for pk in sorted(users, key=lambda pk: (str(users[pk]["display_name"]), pk)):
        reps.append(row(users[pk]["display_name"], targets.get(("user", pk), {}), done.get(pk, {}), {
            "new_customers": scope.link("deals:customer_list", narrowed=False, owner=pk, **made),
            "won_amount": scope.link("deals:list", narrowed=False, custom={}, owner=pk, **closed)}))
    rows_teams = []
    for team in teams:
        target = targets.get(("department", team["pk"]))
        if target is None:
            continue
        actual = {}
        for pk, figures_ in done.items():
            path = users.get(pk, {}).get("department__path") or ""
            if path.startswith(team["path"]):
                for key, value in figures_.items():
                    actual[key] = actual.get(key, 0) + value
        rows_teams.append(row(team["name"], target, actual, {
            "new_customers": scope.link("deals:customer_list", narrowed=False, department=team["pk"], **made),
            "won_amount": scope.link("deals:list", narrowed=False, custom={}, department=team["pk"], **closed)}))
    return {"months": (first, last), "teams": rows_teams, "reps": reps}


def figures(scope: Scope, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return {"sources": lead_sources(scope), "funnel": funnel(scope), "cycle": cycle_times(scope),
            "handoffs": handoff_times(scope), "sla": first_contact_sla(scope, now), "lost": lost_reasons(scope),
            "forecast": forecast(scope), "accuracy": forecast_accuracy(scope), "cash": quote_to_cash(scope),
            "service": service(scope, now),
            "targets": achievement(scope)}


# Which custom fields narrow each section: the lead-based ones the leads' fields, the deal-based ones the deals'
# (quote to cash through the deal); targets, hand-offs and service count records no custom field of either has.
SECTION_FILTERS = {"targets": (), "sources": ("lead",), "funnel": ("deal",), "cycle": ("deal",), "handoffs": (),
                   "sla": ("lead", "deal"), "lost": ("deal",), "forecast": ("deal",), "accuracy": ("deal",),
                   "cash": ("deal",), "service": ()}


def narrowing(scope: Scope) -> dict:
    """{section: {"by": [the filters that narrow it, as people read them], "not_by": [those that do not]}} when a
    custom field filters the dashboard (else {}), for the page to say which sections a filter narrows."""
    if not scope.filtered:
        return {}
    chosen = {"lead": scope.lead_filters, "deal": scope.deal_filters}
    users = registry.user_names([f for kind in chosen.values() for f, *_rest in kind],
                                [{f.key: value} for kind in chosen.values() for f, _op, value, _text in kind])
    words = {kind: [_("%(field)s has any of %(options)s") % {"field": f.label, "options": types.display(f, value)}
                    if f.type == CustomFieldType.MULTI_CHOICE else f"{f.label} = {types.display(f, value, users=users)}"
                    for f, _op, value, _text in filters]
             for kind, filters in chosen.items()}
    return {section: {"by": [text for kind in kinds for text in words[kind]],
                      "not_by": [text for kind in ("lead", "deal") if kind not in kinds for text in words[kind]]}
            for section, kinds in SECTION_FILTERS.items()}


def chart_data(figures: dict) -> dict:
    """What the page's script draws, embedded with `json_script` (numbers as numbers; the tables keep the exact
    amounts)."""
    sources, funnel_, lost, forecast_, cash = (figures[key] for key in ("sources", "funnel", "lost", "forecast", "cash"))
    cycle, handoffs, sla, service_ = figures["cycle"], figures["handoffs"], figures["sla"], figures["service"]
    targets_rows = [*figures["targets"]["teams"], *figures["targets"]["reps"]]
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
        "cycle": {"labels": [row["name"] for row in cycle["rows"] if row["deals"]],
                  "series": [{"name": str(label), "data": [row[key] for row in cycle["rows"] if row["deals"]]}
                             for key, label in (("median", _("Median (days)")), ("p90", _("90th percentile (days)")))]},
        "handoffs": {"labels": [f"{row['from']} → {row['to']}" for row in handoffs["rows"]],
                     "series": [{"name": str(label), "data": [row[key] for row in handoffs["rows"]]}
                                for key, label in (("median", _("Median (hours)")),
                                                   ("p90", _("90th percentile (hours)")))]},
        "sla": {"labels": [row["rep"] for row in sla["rows"]],
                "series": [{"name": str(label), "stack": "sla", "data": [row[key] for row in sla["rows"]]}
                           for key, label in (("met", _("In time")), ("late", _("Late")), ("missed", _("Missed")),
                                              ("pending", _("Still to come")))]},
        "targets": {"labels": [str(row["name"]) for row in targets_rows if any(row[key]["rate"] is not None
                                                                                  for key in TARGET_KEYS)],
                    "series": [{"name": f"{label} %", "data": [row[key]["rate"] for row in targets_rows
                                                               if any(row[k]["rate"] is not None for k in TARGET_KEYS)]}
                               for key, label in TARGET_LABELS]},
        "accuracy": {"labels": [row["key"] for row in figures["accuracy"]["rows"]],
                     "series": [{"name": str(label), "data": [float(row[key]) for row in figures["accuracy"]["rows"]]}
                                for key, label in (("forecast", _("Forecast at the month's start")),
                                                   ("won", _("Won in the month")))]},
        "tickets": {"labels": [str(row["assignee"]) for row in service_["rows"]],
                    "series": [{"name": str(label), "data": [row[key] for row in service_["rows"]]}
                               for key, label in (("opened", _("Opened")), ("resolved", _("Resolved")))]},
        "satisfaction": {"labels": [row["label"] for row in service_["over_time"]], "line": True,
                         "series": [{"name": "CSAT", "data": [row["csat"] for row in service_["over_time"]]},
                                    {"name": "NPS", "data": [row["nps"] for row in service_["over_time"]],
                                     "axis": 1}]},
        "overdue": {"labels": [row["rep"] for row in sla["overdue"]],
                    "series": [{"name": str(label), "data": [row[key] for row in sla["overdue"]]}
                               for key, label in (("leads", _("Leads")), ("deals", _("Deals")))]},
    }
