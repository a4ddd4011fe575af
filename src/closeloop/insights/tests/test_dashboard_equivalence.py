"""The quarter's quote-to-cash, service and forecast figures read faster (covering indexes, one query per event)
and say the same as before: each rewritten figure is compared with the query it replaced, kept here as the
reference, for an administrator, a director (a manager of managers), a team manager and a rep, with the source, the
pipeline and a deal field filtering and not, over a month, a quarter, two years and a period whose edges records sit
on (a moment at the first local midnight counts, one a microsecond before it or at the midnight after the last day
does not)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from closeloop.contracts.models import Contract, Instalment
from closeloop.core.customfields.services import custom_field_create
from closeloop.core.models import Role, User
from closeloop.core.money import from_fen, sum_fen
from closeloop.deals.models import Customer, Opportunity, OpportunityStatus, Pipeline
from closeloop.insights import dashboard
from closeloop.leads.models import LeadSource
from closeloop.quotes.models import ApprovalRequest, ApprovalStatus, Quote, QuoteStatus

pytestmark = pytest.mark.django_db


def quote_figures_before(scope) -> dict:
    """The quote figures as one query computed them before (FILTERs over the quotes sent, decided or approved)."""
    quotes = scope.of_deals(Quote.objects, deal="opportunity__", owner="opportunity__owner")
    approved_in = ApprovalRequest.objects.filter(kind="quote", status=ApprovalStatus.APPROVED,
                                                 decided_at__gte=scope.since, decided_at__lt=scope.until)
    approved = approved_in.filter(target_id=OuterRef("pk"))
    accepted = Q(status=QuoteStatus.ACCEPTED) & scope.during("decided_at")
    total = F("current_version__total_incl_tax") * 100
    quotes = quotes.filter(scope.during("sent_at") | scope.during("decided_at")
                           | Q(pk__in=approved_in.values("target_id")))
    figures = quotes.aggregate(
        sent=Count("pk", filter=scope.during("sent_at")), sent_fen=sum_fen(total, filter=scope.during("sent_at")),
        approved=Count("pk", filter=Exists(approved)), approved_fen=sum_fen(total, filter=Exists(approved)),
        accepted=Count("pk", filter=accepted), accepted_fen=sum_fen(total, filter=accepted))
    return {"quotes_sent": (figures["sent"], from_fen(figures["sent_fen"])),
            "quotes_approved": (figures["approved"], from_fen(figures["approved_fen"])),
            "quotes_accepted": (figures["accepted"], from_fen(figures["accepted_fen"]))}


def forecast_before(scope) -> list:
    """The forecast's months as the query grouped by COALESCE(close date, close date) gave them before."""
    months: dict = {}
    day = Coalesce("expected_close_date", "expected_close_date")
    for row in (scope.deals().filter(status=OpportunityStatus.OPEN).values(close_day=day)
                .annotate(deals=Count("pk"), amount_fen=sum_fen(F("amount") * 100),
                          weighted_fen=sum_fen(F("amount") * F("stage__probability"))).order_by()):
        month = months.setdefault(row["close_day"].replace(day=1) if row["close_day"] else None, [0, 0, 0])
        for n, key in enumerate(("deals", "amount_fen", "weighted_fen")):
            month[n] += row[key] or 0
    return [(f"{month:%Y-%m}" if month else "none", found[0], from_fen(found[1]), from_fen(found[2]))
            for month, found in sorted(months.items(), key=lambda item: (item[0] is None, item[0]))]


def quote_figures_now(scope) -> dict:
    rows = dashboard.quote_to_cash(scope)["rows"]
    return {row["key"]: (row["count"], row["amount"]) for row in rows if row["key"].startswith("quotes_")}


@pytest.fixture
def company(db):
    call_command("gen_data", processes=1, chunk=200, stdout=StringIO(), leads=500, customers=80, opportunities=240,
                 activities=50, handoffs=20, quotes=300, contracts=120, tickets=150, seed=12)
    industry = custom_field_create(target="deals.Opportunity", key="industry", field_type="choice",
                                   actor=User.objects.get(username="admin"),
                                   data={"label_zh": "行业", "label_en": "Industry", "options": "制造\n零售"})
    Opportunity.objects.update(custom={"industry": "零售"})
    Opportunity.objects.annotate(odd=F("pk") % 2).filter(odd=1).update(custom={"industry": "制造"})
    return industry


def _viewers():
    admin = User.objects.get(username="admin")
    director = User.objects.get(username="director")
    manager = User.objects.filter(role=Role.SALES_MANAGER, manager=director, reports__isnull=False).distinct().order_by(
        "pk").first()
    rep = manager.reports.filter(role=Role.SALES_REP).order_by("pk").first()
    assert director.reports.filter(reports__isnull=False).exists()  # a manager of managers
    return admin, director, manager, rep


def _on_the_edges(start, end):
    """Move quotes, decisions and approvals onto the edges of the days `start`–`end`, and give one quote a second
    approval in the period (counted once)."""
    since = dashboard.local_midnight(start)
    until = dashboard.local_midnight(end + timedelta(days=1))
    moments = [since, since + timedelta(microseconds=1), until - timedelta(microseconds=1), until,
               since - timedelta(microseconds=1)]
    sent = list(Quote.objects.filter(sent_at__isnull=False).order_by("pk").values_list("pk", flat=True)[:20])
    for n, pk in enumerate(sent):
        Quote.objects.filter(pk=pk).update(sent_at=moments[n % len(moments)])
    decided = list(Quote.objects.filter(status=QuoteStatus.ACCEPTED).order_by("-pk").values_list("pk", flat=True)[:10])
    for n, pk in enumerate(decided):
        Quote.objects.filter(pk=pk).update(decided_at=moments[n % len(moments)])
    approvals = list(ApprovalRequest.objects.filter(kind="quote", status=ApprovalStatus.APPROVED).order_by("pk")[:10])
    assert len(approvals) == 10
    for n, approval in enumerate(approvals):
        ApprovalRequest.objects.filter(pk=approval.pk).update(decided_at=moments[n % len(moments)])
    again = approvals[0]
    again.pk, again.decided_at = None, until - timedelta(seconds=1)
    again.save()
    return since, until


def test_the_quote_figures_equal_the_single_query_they_replace(company):
    industry = company
    today = timezone.localdate()
    edge_start, edge_end = today - timedelta(days=40), today - timedelta(days=10)
    _on_the_edges(edge_start, edge_end)
    periods = [dashboard.period_bounds("month", today), dashboard.period_bounds("quarter", today),
               (today - timedelta(days=800), today), (edge_start, edge_end)]
    source = LeadSource.objects.filter(leads__opportunities__quotes__isnull=False).distinct().order_by("pk").first()
    pipeline = Pipeline.objects.filter(opportunities__quotes__isnull=False).distinct().order_by("pk").first()
    filters = [{}, {"source": source}, {"pipeline": pipeline},
               {"deal_filters": ((industry, "eq", "制造", "制造"),)},
               {"source": source, "pipeline": pipeline, "deal_filters": ((industry, "eq", "零售", "零售"),)}]
    compared = 0
    seen = {"quotes_sent": 0, "quotes_approved": 0, "quotes_accepted": 0}
    for viewer in _viewers():
        for start, end in periods:
            for narrowed in filters:
                scope = dashboard.Scope(viewer=viewer, start=start, end=end, period="custom", **narrowed)
                before, now = quote_figures_before(scope), quote_figures_now(scope)
                assert now == before, (viewer.username, start, end, narrowed)
                for key, (count, _amount) in now.items():
                    seen[key] += count
                compared += 1
    assert compared == 4 * 4 * 5
    assert all(seen.values()), seen  # every figure was counted somewhere, not only zeros compared


def test_the_edges_count_as_the_period_says(company):
    today = timezone.localdate()
    start, end = today - timedelta(days=40), today - timedelta(days=10)
    since, until = _on_the_edges(start, end)
    admin = User.objects.get(username="admin")
    scope = dashboard.Scope(viewer=admin, start=start, end=end, period="custom")
    figures = quote_figures_now(scope)
    inside = Quote.objects.filter(sent_at__gte=since, sent_at__lt=until)
    assert figures["quotes_sent"][0] == inside.count()
    assert inside.filter(sent_at=since).exists() and inside.filter(sent_at=until - timedelta(microseconds=1)).exists()
    assert Quote.objects.filter(sent_at=until).exists()  # on the midnight after: not counted
    approved_quotes = set(ApprovalRequest.objects.filter(
        kind="quote", status=ApprovalStatus.APPROVED, decided_at__gte=since, decided_at__lt=until).values_list(
        "target_id", flat=True))
    approvals = ApprovalRequest.objects.filter(kind="quote", status=ApprovalStatus.APPROVED, decided_at__gte=since,
                                               decided_at__lt=until).count()
    assert figures["quotes_approved"][0] == len(approved_quotes) < approvals  # a quote approved twice counts once


def test_the_forecast_equals_the_query_it_replaces(company):
    """Grouped by the bare close date (read in its index's order) instead of a COALESCE of it: the same months,
    deals and amounts, with open deals on the first and last day of a month and without a close date."""
    industry = company
    today = timezone.localdate()
    first = today.replace(day=1)
    open_deals = list(Opportunity.objects.filter(status=OpportunityStatus.OPEN).order_by("pk").values_list(
        "pk", flat=True))
    assert len(open_deals) > 30
    for n, close in enumerate([None, None, first, first - timedelta(days=1), first + timedelta(days=31)]):
        Opportunity.objects.filter(pk=open_deals[n]).update(expected_close_date=close)
    source = LeadSource.objects.filter(leads__opportunities__status=OpportunityStatus.OPEN).distinct().order_by(
        "pk").first()
    pipeline = Pipeline.objects.filter(opportunities__status=OpportunityStatus.OPEN).distinct().order_by("pk").first()
    filters = [{}, {"source": source}, {"pipeline": pipeline}, {"deal_filters": ((industry, "eq", "制造", "制造"),)}]
    start, end = dashboard.period_bounds("quarter", today)
    months = set()
    for viewer in _viewers():
        for narrowed in filters:
            scope = dashboard.Scope(viewer=viewer, start=start, end=end, period="quarter", **narrowed)
            now = [(row["key"], row["deals"], row["amount"], row["weighted"]) for row in dashboard.forecast(scope)["rows"]]
            assert now == forecast_before(scope), (viewer.username, narrowed)
            months |= {row[0] for row in now}
    assert "none" in months and len(months) > 3


class OwnerListScope(dashboard.Scope):
    """The reference: the line applied as its owner list always, as before `Scope.holds_all`."""

    def holds_all(self, model, owner="owner") -> bool:
        return False


def _every_figure(scope_class, viewer, start, end, narrowed, now):
    scope = scope_class(viewer=viewer, start=start, end=end, period="custom", **narrowed)
    return dashboard.figures(scope, now)


def test_a_line_that_holds_every_record_counts_as_its_owner_list(company):
    """A director whose subtree owns every deal and contract reads the whole tables, as an administrator
    does: every figure of the page equals the owner list's, for each viewer, filter and period (edges included);
    once someone outside the subtree owns a deal and its contract, the owner list is applied again and
    those records leave the director's figures."""
    industry = company
    today = timezone.localdate()
    edge_start, edge_end = today - timedelta(days=40), today - timedelta(days=10)
    _on_the_edges(edge_start, edge_end)
    now = timezone.now()
    periods = [dashboard.period_bounds("quarter", today), (today - timedelta(days=800), today), (edge_start, edge_end)]
    source = LeadSource.objects.filter(leads__opportunities__quotes__isnull=False).distinct().order_by("pk").first()
    filters = [{}, {"source": source}, {"deal_filters": ((industry, "eq", "制造", "制造"),)}]
    admin, director, manager, rep = _viewers()
    probe = dashboard.Scope(viewer=director, start=today, end=today)
    assert all(probe.holds_all(model, owner) for model, owner in (
        (Opportunity, "owner"), (Contract, "owner"), (Quote, "opportunity__owner")))
    assert Customer.objects.filter(owner__isnull=True).exists() and not probe.holds_all(Customer)  # the pool's
    assert not dashboard.Scope(viewer=manager, start=today, end=today).holds_all(Opportunity)
    for viewer in (admin, director, manager, rep):
        for start, end in periods:
            for narrowed in filters:
                assert (_every_figure(dashboard.Scope, viewer, start, end, narrowed, now)
                        == _every_figure(OwnerListScope, viewer, start, end, narrowed, now)), (
                    viewer.username, start, end, narrowed)

    # An outsider (not in the director's subtree) takes a won deal with a quote sent in the period and a contract.
    outsider = User.objects.create_user(username="outsider", password="x", role=Role.SALES_REP)
    start, end = periods[1]
    before = _every_figure(dashboard.Scope, director, start, end, {}, now)
    deal = (Opportunity.objects.filter(status=OpportunityStatus.WON, quotes__sent_at__isnull=False,
                                       contracts__isnull=False).order_by("pk").first())
    Opportunity.objects.filter(pk=deal.pk).update(owner=outsider)
    Contract.objects.filter(opportunity=deal).update(owner=outsider)
    Instalment.objects.filter(contract__opportunity=deal).update(owner=outsider)  # it carries its contract's owner
    probe = dashboard.Scope(viewer=director, start=start, end=end)
    assert not any(probe.holds_all(model, owner) for model, owner in (
        (Opportunity, "owner"), (Contract, "owner"), (Quote, "opportunity__owner")))
    after = _every_figure(dashboard.Scope, director, start, end, {}, now)
    assert after == _every_figure(OwnerListScope, director, start, end, {}, now)
    cash = {row["key"]: row["count"] for row in after["cash"]["rows"]}
    assert cash["quotes_sent"] < {row["key"]: row["count"] for row in before["cash"]["rows"]}["quotes_sent"]


def service_before(scope, now) -> dict:
    """The service section's ticket figures as they were counted before: the line's customers' tickets through a
    lookup of each ticket's customer (`customer__owner`), not the owner each ticket keeps."""
    from closeloop.service.models import Ticket
    from closeloop.service.selectors import resolution_outcome, response_outcome

    tickets = Ticket.objects.visible_to(scope.viewer)
    if scope.owners is not None:
        tickets = tickets.filter(Q(owner__in=scope.owners) | Q(customer__owner__in=scope.owners))
    found: dict = {}
    for row in tickets.filter(scope.during("created_at")).order_by().values("owner_id").annotate(
            opened=Count("pk"), response_met=Count("pk", filter=response_outcome("met")),
            response_missed=Count("pk", filter=response_outcome("missed", now))):
        found.setdefault(row["owner_id"], {}).update(row)
    for row in tickets.filter(scope.during("resolved_at")).order_by().values("owner_id").annotate(
            resolved=Count("pk"), resolution_met=Count("pk", filter=resolution_outcome("met")),
            resolution_missed=Count("pk", filter=resolution_outcome("missed"))):
        found.setdefault(row["owner_id"], {}).update(row)
    keys = ("opened", "resolved", "response_met", "response_missed", "resolution_met", "resolution_missed")
    return {owner: tuple(row.get(key, 0) for key in keys) for owner, row in found.items()}


def test_the_service_figures_equal_the_customer_lookup_they_replace(company):
    """Tickets of the line's customers counted from the owner each ticket keeps: the same figures as looking up each
    ticket's customer, with customers handed to another team, to a teammate and back to the pool after their
    tickets were raised, and tickets on the period's edges."""
    from closeloop.deals.models import Customer
    from closeloop.service.models import Ticket

    admin, director, manager, rep = _viewers()
    today = timezone.localdate()
    edge_start, edge_end = today - timedelta(days=40), today - timedelta(days=10)
    since = dashboard.local_midnight(edge_start)
    until = dashboard.local_midnight(edge_end + timedelta(days=1))
    moments = [since, since + timedelta(microseconds=1), until - timedelta(microseconds=1), until,
               since - timedelta(microseconds=1)]
    tickets = list(Ticket.objects.order_by("pk").values_list("pk", flat=True))
    for n, pk in enumerate(tickets[:25]):
        Ticket.objects.filter(pk=pk).update(created_at=moments[n % 5], resolved_at=moments[(n + 2) % 5])
    rep_customers = list(Customer.objects.filter(owner=rep, tickets__isnull=False).distinct().order_by("pk")
                         .values_list("pk", flat=True))
    team_customers = list(Customer.objects.filter(owner__in=manager.reports.all(), tickets__isnull=False).exclude(
        owner=rep).distinct().order_by("pk").values_list("pk", flat=True))
    outsider = User.objects.filter(is_active=True, is_superuser=False).exclude(pk__in=dashboard.Scope(
        viewer=director, start=today, end=today).owners).order_by("pk").first()
    assert rep_customers and len(team_customers) >= 2 and outsider is not None
    # A bulk write (only the triggers see it): the rep's customer to a teammate, the team's to someone outside the
    # director's line and back to the pool.
    for pk, owner in ((rep_customers[0], team_customers and manager.reports.exclude(pk=rep.pk).first()),
                      (team_customers[0], outsider), (team_customers[1], None)):
        Customer.objects.filter(pk=pk).update(owner=owner)
    assert Ticket.objects.filter(customer__owner__isnull=True).exists()
    periods = [dashboard.period_bounds("month", today), dashboard.period_bounds("quarter", today),
               (today - timedelta(days=800), today), (edge_start, edge_end)]
    now = timezone.now()
    counted = answered = 0
    for viewer in (admin, director, manager, rep):
        for start, end in periods:
            for narrowed in ({}, {"rep": rep}, {"own_team": True}):
                scope = dashboard.Scope(viewer=viewer, start=start, end=end, period="custom", **narrowed)
                figures = dashboard.service(scope, now)
                rows = {row["owner_id"]: tuple(row[key] for key in ("opened", "resolved", "response_met",
                                                                     "response_missed", "resolution_met",
                                                                     "resolution_missed"))
                        for row in figures["rows"]}
                assert rows == service_before(scope, now), (viewer.username, start, end, narrowed)
                assert satisfaction_now(figures) == satisfaction_before(scope), (viewer.username, start, end, narrowed)
                counted += sum(sum(row) for row in rows.values())
                answered += figures["overall"]["answered"]
    assert counted > 0 and answered > 0


def satisfaction_before(scope):
    """The surveys' figures as two passes gave them before: by owner, then by week or month and in all."""
    from closeloop.service.selectors import satisfaction, satisfaction_over_days

    surveys = dashboard.surveys_in(scope)
    every = "week" if (scope.end - scope.start).days <= 62 else "month"
    over_time, overall = satisfaction_over_days(surveys, start=scope.start, end=scope.end, period=every)
    return satisfaction(user=scope.viewer, by="owner", surveys=surveys), over_time, overall


def satisfaction_now(figures):
    by_owner = [{key: value for key, value in row.items() if key != "url"} for row in figures["satisfaction"]]
    return by_owner, figures["over_time"], figures["overall"]


def won_by_source_before(scope) -> dict:
    """The sources' won deals as they were counted before: each deal joined to its lead for its creation and source."""
    from closeloop.core.customfields import indexes
    from closeloop.leads.models import Lead

    won = scope.line(Opportunity.objects).filter(status=OpportunityStatus.WON, lead__created_at__gte=scope.since,
                                                 lead__created_at__lt=scope.until)
    if scope.source is not None:
        won = won.filter(lead__source=scope.source)
    won = indexes.through(won, "lead", Lead, scope.lead_filters)
    return dict(won.order_by().values("lead__source_id").annotate(n=Count("pk")).values_list("lead__source_id", "n"))


def test_the_sources_won_deals_equal_the_lead_join_they_replace(company):
    """Won deals counted from the lead origin each deal keeps: the same as joining each deal to its lead, with leads
    moved to another source and onto the period's edges by a bulk update after their deals were won."""
    from closeloop.leads.models import Lead

    admin, director, manager, rep = _viewers()
    won = list(Opportunity.objects.filter(status=OpportunityStatus.WON, lead__isnull=False).order_by("pk")
               .values_list("lead_id", flat=True))
    assert len(won) >= 5
    today = timezone.localdate()
    edge_start, edge_end = today - timedelta(days=40), today - timedelta(days=10)
    since = dashboard.local_midnight(edge_start)
    until = dashboard.local_midnight(edge_end + timedelta(days=1))
    moments = [since, since + timedelta(microseconds=1), until - timedelta(microseconds=1), until,
               since - timedelta(microseconds=1)]
    sources = list(LeadSource.objects.order_by("pk"))
    for n, lead in enumerate(won[:5]):
        Lead.objects.filter(pk=lead).update(created_at=moments[n % 5], source=sources[n % len(sources)])
    source = LeadSource.objects.filter(leads__opportunities__status=OpportunityStatus.WON).distinct().order_by(
        "pk").first()
    periods = [dashboard.period_bounds("month", today), dashboard.period_bounds("quarter", today),
               (today - timedelta(days=800), today), (edge_start, edge_end)]
    counted = 0
    for viewer in (admin, director, manager, rep):
        for start, end in periods:
            for narrowed in ({}, {"source": source}, {"rep": rep}):
                scope = dashboard.Scope(viewer=viewer, start=start, end=end, period="custom", **narrowed)
                now = {row["source_id"]: row["won"] for row in dashboard.lead_sources(scope)["rows"] if row["won"]}
                assert now == won_by_source_before(scope), (viewer.username, start, end, narrowed)
                counted += sum(now.values())
    assert counted > 0
