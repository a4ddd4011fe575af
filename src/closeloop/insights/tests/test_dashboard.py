"""The review dashboard: exact figures per viewer from known records, through each viewer's visibility.

The standing people: owner and teammate (reps in team A under manager), outsider (team B under other_manager),
admin. The owner collaborates on one of the teammate's leads and one of their deals: they see them, but they are
the teammate's figures, never the owner's.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from closeloop.contracts.payments import payment_record
from closeloop.deals.models import Opportunity
from closeloop.deals.services.opportunities import opportunity_move_stage
from closeloop.followup.services import participant_add
from closeloop.insights import dashboard
from closeloop.leads.models import Lead, LeadStatus

from .dashboards import exported_sheets, follow_drill_downs, period_query, scope_for

pytestmark = pytest.mark.django_db

DEAL_FIELDS = {"need": "上线CRM", "budget": "50000", "authority": "总经理", "expected_close_date": "2027-01-15"}


@pytest.fixture
def deal(org, make_deal):
    """The deal the quote factories quote on: the owner's, ¥30,000."""
    return make_deal(owner=org.owner, amount="30000")


@pytest.fixture
def known(org, make_lead, qualified_lead, make_deal, stages, deal, signed_contract, accepted_quote, finance):
    """The records every test here counts (see the module's docstring for who owns what)."""
    lead_won = qualified_lead(owner=org.owner)
    Lead.objects.filter(pk=lead_won.pk).update(status=LeadStatus.CONVERTED)
    qualified_lead(owner=org.owner)
    make_lead(owner=org.owner, source="展会")
    teammates_lead = make_lead(owner=org.teammate)
    participant_add(record=teammates_lead, user=org.owner, role="sales", actor=org.admin)
    make_lead(owner=org.outsider)

    won = make_deal(owner=org.owner, amount="10000", **DEAL_FIELDS)
    Opportunity.objects.filter(pk=won.pk).update(lead=lead_won)
    for name in ("需求确认", "方案报价", "赢单"):
        opportunity_move_stage(opportunity=won, stage=stages[name], actor=org.owner)
    negotiating = make_deal(owner=org.owner, amount="20000", **DEAL_FIELDS)
    opportunity_move_stage(opportunity=negotiating, stage=stages["商务谈判"], actor=org.owner)
    quoted = deal
    contract = signed_contract(quote=accepted_quote(opportunity=quoted))
    payment_record(contract=contract, data={"amount": "9000"}, actor=finance)
    lost = make_deal(owner=org.owner, amount="8000")
    opportunity_move_stage(opportunity=lost, stage=stages["输单"], actor=org.owner, fields={"lost_reason": "价格过高"})

    teammates_lost = make_deal(owner=org.teammate, amount="5000")
    opportunity_move_stage(opportunity=teammates_lost, stage=stages["输单"], actor=org.teammate,
                           fields={"lost_reason": "选择了竞争对手"})
    participant_add(record=teammates_lost, user=org.owner, role="sales", actor=org.admin)

    make_deal(owner=org.outsider, amount="5000")
    return {"won": won, "negotiating": negotiating, "quoted": quoted, "lost": lost, "teammates_lost": teammates_lost,
            "contract": contract}


def sources(user, **kwargs):
    figures = dashboard.lead_sources(scope_for(user, **kwargs))
    return ({row["name"]: (row["leads"], row["qualified"], row["deals"], row["won"]) for row in figures["rows"]},
            tuple(figures["total"][key] for key in ("leads", "qualified", "deals", "won")))


def funnel(user, **kwargs):
    figures = dashboard.funnel(scope_for(user, **kwargs))
    return ([(row["name"], row["reached"], row["from_previous"]) for row in figures["rows"]],
            (figures["total"], figures["won"], figures["lost"], figures["win_rate"]))


def lost(user):
    figures = dashboard.lost_reasons(scope_for(user))
    return ([(row["name"], row["deals"], row["amount"]) for row in figures["rows"]],
            [(row["rep"], row["name"], row["deals"]) for row in figures["by_rep"]])


def forecast(user):
    figures = dashboard.forecast(scope_for(user))
    return [(row["key"], row["deals"], row["amount"], row["weighted"]) for row in figures["rows"]]


def cash(user):
    return {row["key"]: (row["count"], row["amount"]) for row in dashboard.quote_to_cash(scope_for(user))["rows"]}


def test_leads_by_source_count_each_viewers_line(org, known):
    assert sources(org.owner) == ({"官网": (2, 2, 1, 1), "展会": (1, 0, 0, 0)}, (3, 2, 1, 1))
    # The owner collaborates on the teammate's lead: the teammate's figure, not the owner's.
    assert sources(org.teammate) == ({"官网": (1, 0, 0, 0)}, (1, 0, 0, 0))
    assert sources(org.manager) == ({"官网": (3, 2, 1, 1), "展会": (1, 0, 0, 0)}, (4, 2, 1, 1))
    assert sources(org.other_manager) == ({"官网": (1, 0, 0, 0)}, (1, 0, 0, 0))
    assert sources(org.admin) == ({"官网": (4, 2, 1, 1), "展会": (1, 0, 0, 0)}, (5, 2, 1, 1))
    assert sources(org.manager, rep=org.teammate) == ({"官网": (1, 0, 0, 0)}, (1, 0, 0, 0))
    assert sources(org.admin, source=org.sources["展会"]) == ({"展会": (1, 0, 0, 0)}, (1, 0, 0, 0))


def test_won_counts_the_deals_its_link_lists(client, org, known, make_lead, make_deal, stages):
    """A lead of the owner's won by the teammate: the win is on the teammate's line, the figure as its link."""
    lead = make_lead(owner=org.owner)
    handed = make_deal(owner=org.teammate, amount="1000", **DEAL_FIELDS)
    Opportunity.objects.filter(pk=handed.pk).update(lead=lead)
    for name in ("需求确认", "方案报价", "赢单"):
        opportunity_move_stage(opportunity=handed, stage=stages[name], actor=org.teammate)
    assert sources(org.owner)[1] == (4, 2, 1, 1)
    assert sources(org.teammate)[1] == (1, 0, 0, 1)
    assert sources(org.manager)[1] == (5, 2, 1, 2)
    query = period_query()
    for user, won in [(org.owner, 1), (org.teammate, 1), (org.manager, 2)]:
        client.force_login(user)
        total = client.get(reverse("insights:dashboard") + query).context["figures"]["sources"]["total"]
        assert total["won"] == won
        assert len(client.get(total["urls"]["won"]).context["page"]["rows"]) == won, user


def test_the_funnel_counts_deals_that_reached_each_stage(org, known):
    rows, totals = funnel(org.owner)
    # The won deal skipped 商务谈判 and the negotiating one skipped two stages: both reached them.
    assert rows == [("初步接洽", 4, None), ("需求确认", 2, 50.0), ("方案报价", 2, 100.0), ("商务谈判", 2, 100.0),
                    ("赢单", 1, 50.0), ("输单", 1, None)]
    assert totals == (4, 1, 1, 50.0)
    assert funnel(org.teammate) == ([("初步接洽", 1, None), ("需求确认", 0, 0.0), ("方案报价", 0, None),
                                     ("商务谈判", 0, None), ("赢单", 0, None), ("输单", 1, None)], (1, 0, 1, 0.0))
    rows, totals = funnel(org.manager)
    assert [row[1] for row in rows] == [5, 2, 2, 2, 1, 2] and totals == (5, 1, 2, 33.3)
    rows, totals = funnel(org.other_manager)
    assert [row[1] for row in rows] == [1, 0, 0, 0, 0, 0] and totals == (1, 0, 0, None)
    assert funnel(org.admin)[1] == (6, 1, 2, 33.3)


def test_lost_reasons_by_category_and_by_rep(org, known):
    assert lost(org.owner) == ([("价格过高", 1, Decimal("8000.00"))], [("owner", "价格过高", 1)])
    assert lost(org.teammate) == ([("选择了竞争对手", 1, Decimal("5000.00"))], [("teammate", "选择了竞争对手", 1)])
    assert lost(org.manager) == ([("价格过高", 1, Decimal("8000.00")), ("选择了竞争对手", 1, Decimal("5000.00"))],
                                 [("owner", "价格过高", 1), ("teammate", "选择了竞争对手", 1)])
    assert lost(org.other_manager) == ([], [])
    assert lost(org.admin)[0] == lost(org.manager)[0]


def test_the_weighted_forecast_is_amount_times_stage_probability_by_month(org, known):
    # 商务谈判 is 75%: 20,000 → 15,000; the quoted deal is in 初步接洽 (10%) without a close date.
    owner = [("2027-01", 1, Decimal("20000.00"), Decimal("15000.00")), ("none", 1, Decimal("30000.00"), Decimal("3000.00"))]
    assert forecast(org.owner) == owner
    assert forecast(org.teammate) == []
    assert forecast(org.manager) == owner
    assert forecast(org.other_manager) == [("none", 1, Decimal("5000.00"), Decimal("500.00"))]
    assert forecast(org.admin) == [owner[0], ("none", 2, Decimal("35000.00"), Decimal("3500.00"))]


def test_the_forecast_adds_the_days_of_a_month_and_rounds_each_deal_to_the_fen(org, make_deal, stages):
    # 初步接洽 is 10%: ¥0.05 weighs half a fen (rounded up to 1 fen) on each of its two deals, 2 fen in all
    # (weighing the month's sum, ¥0.10, once would give 1 fen).
    for day, amount in (("2027-03-31", "0.05"), ("2027-03-01", "0.05"), ("2027-02-14", "100.00"), ("", "7")):
        make_deal(owner=org.owner, amount=amount, **({"expected_close_date": day} if day else {}))
    assert forecast(org.owner) == [("2027-02", 1, Decimal("100.00"), Decimal("10.00")),
                                   ("2027-03", 2, Decimal("0.10"), Decimal("0.02")),
                                   ("none", 1, Decimal("7.00"), Decimal("0.70"))]


def test_the_forecast_reads_the_amount_of_the_quote_the_customer_accepted(org, make_deal, accepted_quote):
    """Opened at ¥50,000 (初步接洽, 10%), the customer accepted ¥30,000: the forecast counts what was agreed."""
    deal = make_deal(owner=org.owner, amount="50000", expected_close_date="2027-01-15")
    assert forecast(org.owner)[0] == ("2027-01", 1, Decimal("50000.00"), Decimal("5000.00"))
    accepted_quote(opportunity=deal)
    assert forecast(org.owner)[0] == ("2027-01", 1, Decimal("30000.00"), Decimal("3000.00"))


def test_quote_to_cash(org, known, finance):
    # The signed contract's first instalment (30% of 30,000) falls due a week after signing, inside the period;
    # finance recorded it today. The 70% is due on 2027-06-30, outside.
    mine = {"quotes_sent": (1, Decimal("30000.00")), "quotes_approved": (0, Decimal("0.00")),
            "quotes_accepted": (1, Decimal("30000.00")), "contracts_signed": (1, Decimal("30000.00")),
            "instalments_due": (1, Decimal("9000.00")), "collected": (1, Decimal("9000.00"))}
    assert cash(org.owner) == mine
    assert cash(org.manager) == mine
    assert cash(org.admin) == mine
    nothing = {key: (0, Decimal("0.00")) for key in mine}
    assert cash(org.teammate) == nothing
    assert cash(org.other_manager) == nothing
    assert cash(org.outsider) == nothing
    # Finance reads every quote and contract (a company-wide role): its review is the company's quote to cash, not
    # the empty line of what it owns; a figure's drill-down lists as many.
    assert cash(finance) == mine


def test_finances_quote_to_cash_drills_down_to_the_companys_records(client, org, known, finance):
    client.force_login(finance)
    figures = client.get(reverse("insights:dashboard") + period_query()).context["figures"]
    rows = {row["key"]: row for row in figures["cash"]["rows"]}
    for key in ("quotes_sent", "quotes_accepted", "contracts_signed"):
        assert "owner=" not in rows[key]["url"]
        assert len(client.get(rows[key]["url"]).context["page"]["rows"]) == rows[key]["count"] == 1, key


def test_the_page_shows_each_viewer_their_line(client, org, known):
    url = reverse("insights:dashboard")
    query = period_query()
    for user, leads in [(org.owner, 3), (org.teammate, 1), (org.manager, 4), (org.other_manager, 1), (org.admin, 5),
                        (org.outsider, 1)]:
        client.force_login(user)
        response = client.get(url + query)
        assert response.status_code == 200
        assert response.context["figures"]["sources"]["total"]["leads"] == leads, user
        body = response.content.decode()
        assert 'id="dashboard-charts"' in body and 'id="table-funnel"' in body
    client.force_login(org.manager)
    narrowed = client.get(url + query + f"&rep={org.teammate.pk}")
    assert narrowed.context["figures"]["sources"]["total"]["leads"] == 1
    # A rep outside the manager's subtree is refused as a choice; the page falls back to the whole team.
    refused = client.get(url + query + f"&rep={org.outsider.pk}")
    assert refused.status_code == 200 and refused.context["form"].errors["rep"]
    assert refused.context["figures"]["sources"]["total"]["leads"] == 4
    client.force_login(org.owner)
    refused = client.get(url + f"?rep={org.teammate.pk}")
    assert refused.context["figures"]["sources"]["total"]["leads"] == 3


def test_periods_are_local_days(org):
    from datetime import date

    assert dashboard.period_bounds("week", date(2026, 12, 6)) == (date(2026, 11, 30), date(2026, 12, 6))
    assert dashboard.period_bounds("month", date(2026, 12, 6)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert dashboard.period_bounds("quarter", date(2026, 12, 6)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert dashboard.period_bounds("quarter", date(2026, 2, 28)) == (date(2026, 1, 1), date(2026, 3, 31))
    scope = scope_for(org.admin)
    # Asia/Shanghai midnight is 16:00 UTC the day before.
    assert scope.since.utcoffset() == timedelta(hours=8) and scope.since.hour == 0


def test_one_query_per_section(django_assert_max_num_queries, org, known):
    scope = scope_for(org.manager)
    dashboard.lead_sources(scope)  # the team's ids, kept on the user for the request
    with django_assert_max_num_queries(2):  # leads, won deals
        dashboard.lead_sources(scope)
    with django_assert_max_num_queries(3):  # the default pipeline, its stages, the counts
        dashboard.funnel(scope)
    with django_assert_max_num_queries(2):  # the grouped rows, the reps' names
        dashboard.lost_reasons(scope)
    with django_assert_max_num_queries(1):
        dashboard.forecast(scope)
    # quotes sent, approved, accepted; contracts, instalments, payments; whether the line holds every contract
    with django_assert_max_num_queries(7):
        dashboard.quote_to_cash(scope)



def drill_downs(figures):
    """(figure, link) for every figure on the page that links to its records."""
    for row in [*figures["sources"]["rows"], figures["sources"]["total"]]:
        for key in ("leads", "qualified", "deals", "won"):
            yield row[key], row["urls"][key]
    for row in figures["funnel"]["rows"]:
        yield row["reached"], row["url"]
    for row in [*figures["lost"]["rows"], *figures["lost"]["by_rep"], *figures["forecast"]["rows"]]:
        yield row["deals"], row["url"]
    for row in figures["cash"]["rows"]:
        if "url" in row:
            yield row["count"], row["url"]


def test_every_figure_drills_down_to_as_many_records(client, org, known):
    query = period_query()
    assert follow_drill_downs(client, org, drill_downs) > 100
    for user in (org.owner, org.teammate, org.manager, org.other_manager, org.admin):
        client.force_login(user)
        body = client.get(reverse("insights:dashboard") + query).content.decode()
        assert body.count("<a href=\"/leads/?") >= 1
    # The manager's funnel links keep the team and the stage; the list's form keeps them as it pages and filters.
    client.force_login(org.manager)
    figures = client.get(reverse("insights:dashboard") + query).context["figures"]
    url = figures["funnel"]["rows"][1]["url"]
    assert "owner=team" in url and "reached=" in url
    page = client.get(url).content.decode()
    assert 'type="hidden" name="reached"' in page and "Narrowed to the dashboard figure you followed." in page


def test_every_table_exports_to_its_own_sheet(client, org, known):
    sheets = exported_sheets(client, org.manager)
    assert list(sheets) == ["Targets", "Leads by source", "Funnel by stage", "Cycle time per stage", "Hand-off time",
                            "First-contact SLA", "Overdue follow-ups", "Lost reasons", "Lost reasons by rep",
                            "Weighted forecast", "Forecast accuracy", "Quote to cash", "Tickets", "Satisfaction"]
    # Sources in their configured order (展会 first).
    assert sheets["Leads by source"][1:] == [("展会", 1, 0, 0.0, 0, 0.0, 0, 0.0), ("官网", 3, 2, 66.7, 1, 33.3, 1, 33.3),
                                             ("Total", 4, 2, 50.0, 1, 25.0, 1, 25.0)]
    assert [row[:2] for row in sheets["Funnel by stage"][1:]] == [
        ("初步接洽", 5), ("需求确认", 2), ("方案报价", 2), ("商务谈判", 2), ("赢单", 1), ("输单", 2), ("Win rate", 33.3)]
    assert sheets["Lost reasons by rep"][1:] == [("owner", "价格过高", 1, 8000), ("teammate", "选择了竞争对手", 1, 5000)]
    assert sheets["Weighted forecast"][1:] == [("2027-01", 1, 20000, 15000), ("No date", 1, 30000, 3000)]
    assert sheets["Quote to cash"][4] == ("Contracts signed", 1, 30000)
    # A rep's workbook holds only their own line.
    assert exported_sheets(client, org.teammate)["Leads by source"][1:] == [("官网", 1, 0, 0.0, 0, 0.0, 0, 0.0),
                                                                           ("Total", 1, 0, 0.0, 0, 0.0, 0, 0.0)]


def test_the_collection_figures_list_their_instalments_and_payments_to_who_may_see_them(client, org, known):
    """The dashboard's "Instalments due" and "Payments collected" open the records behind them; the owner's link
    opened by someone outside the line lists nothing (the list follows the viewer, not the link)."""
    figures = {row["key"]: row for row in dashboard.quote_to_cash(scope_for(org.owner))["rows"]}
    contract = known["contract"]
    for key in ("instalments_due", "collected"):
        client.force_login(org.owner)
        page = client.get(figures[key]["url"])
        assert [row.contract_id for row in page.context["page"]["rows"]] == [contract.pk]
        assert str(contract) in page.text
        client.force_login(org.outsider)
        assert client.get(figures[key]["url"]).context["page"]["rows"] == []
