"""Custom fields as the dashboard's filters (#13 × #12): a lead field narrows the lead-based sections, a deal field
the deal-based ones, every drill-down carries the filter to its list, and the page says which sections a filter
narrows. The records are the dashboard tests' (`known`), with custom values set on them."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.core.customfields.services import custom_field_create
from closeloop.deals.models import Opportunity
from closeloop.insights import dashboard
from closeloop.insights.models import OverdueCount, RadarRecount
from closeloop.leads.models import Lead

from .dashboards import exported_sheets, follow_drill_downs, period_query, scope_for
from .test_dashboard import deal, drill_downs, known  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def fields(org, known):  # noqa: F811 (the fixture imported above)
    """A lead field (tier), a deal field (industry), and a deal field only managers see (key account); the
    owner's won and quoted deals are in manufacturing, so is the teammate's lost one; the lead that was won and one
    teammate's lead are gold."""
    tier = custom_field_create(target="leads.Lead", key="tier", field_type="choice", actor=org.admin,
                               data={"label_zh": "客户等级", "label_en": "Tier", "options": "金\n银"})
    industry = custom_field_create(target="deals.Opportunity", key="industry", field_type="choice", actor=org.admin,
                                   data={"label_zh": "行业", "label_en": "Industry", "options": "制造\n零售"})
    key_account = custom_field_create(target="deals.Opportunity", key="key_account", field_type="boolean",
                                      actor=org.admin, data={"label_zh": "重点客户", "label_en": "Key account",
                                                             "view_roles": ["sales_manager"]})
    Lead.objects.update(custom={"tier": "银"})
    Lead.objects.filter(opportunities=known["won"]).update(custom={"tier": "金"})
    Lead.objects.filter(owner=org.teammate).update(custom={"tier": "金"})
    Opportunity.objects.update(custom={"industry": "零售"})
    Opportunity.objects.filter(pk__in=[known[name].pk for name in ("won", "quoted", "teammates_lost")]).update(
        custom={"industry": "制造", "key_account": True})
    return tier, industry, key_account


FILTERED = "&lead.cf.tier=金&deal.cf.industry=制造"


def test_a_lead_field_narrows_the_lead_sections_and_a_deal_field_the_deal_sections(org, fields):
    tier, industry, _key_account = fields
    gold = ((tier, "eq", "金", "金"),)
    manufacturing = ((industry, "eq", "制造", "制造"),)
    plain, by_lead = scope_for(org.owner), scope_for(org.owner, lead_filters=gold)
    # The owner's three leads of the period: one gold (the one won); the won deal counted through its lead.
    assert dashboard.lead_sources(plain)["total"]["leads"] == 3
    assert {key: dashboard.lead_sources(by_lead)["total"][key] for key in ("leads", "qualified", "deals", "won")} == {
        "leads": 1, "qualified": 1, "deals": 1, "won": 1}
    # A lead field does not narrow the deals' funnel; a deal field does: the won and the quoted deal.
    assert dashboard.funnel(by_lead)["total"] == dashboard.funnel(plain)["total"] == 4
    by_deal = scope_for(org.owner, deal_filters=manufacturing)
    assert dashboard.funnel(by_deal)["total"] == 2
    assert dashboard.lead_sources(by_deal)["total"] == dashboard.lead_sources(plain)["total"]
    assert dashboard.lost_reasons(by_deal)["total"] == 0  # the owner's lost deal is retail
    assert dashboard.lost_reasons(scope_for(org.manager, deal_filters=manufacturing))["total"] == 1
    # Quote to cash through the deal: the quoted deal's contract is manufacturing's; retail has none.
    cash = {row["key"]: row["count"] for row in dashboard.quote_to_cash(by_deal)["rows"]}
    retail = ((industry, "eq", "零售", "零售"),)
    assert cash["contracts_signed"] == 1
    assert {row["key"]: row["count"] for row in dashboard.quote_to_cash(
        scope_for(org.owner, deal_filters=retail))["rows"]}["contracts_signed"] == 0


def every_drill_down(figures):
    """The dashboard tests' drill-downs, and those of the cycle times, the forecast's accuracy, the first contacts
    and what is overdue."""
    yield from drill_downs(figures)
    for row in figures["cycle"]["rows"]:
        yield row["deals"], row["url"]
    for row in figures["accuracy"]["rows"]:
        yield row["won_deals"], row["url"]
    for row in figures["sla"]["rows"]:
        for outcome in ("met", "late", "missed"):
            yield row[outcome], row["urls"][outcome]
    for row in figures["sla"]["overdue"]:
        for key in ("leads", "deals"):
            yield row[key], row["urls"][key]


def test_every_filtered_figure_drills_down_to_as_many_records(client, org, fields):
    """A rep, a manager and the administrator (and the others): each figure's list, with the filter carried, shows
    as many records as the figure."""
    overdue = timezone.now() - timedelta(hours=3)
    Lead.objects.update(next_follow_up_at=overdue)
    Opportunity.objects.update(next_follow_up_at=overdue)
    assert follow_drill_downs(client, org, every_drill_down, query=FILTERED) > 150
    assert follow_drill_downs(client, org, every_drill_down, query="&lead.cf.tier=银&deal.cf.industry=零售",
                              viewers=("owner", "manager", "admin")) > 100
    client.force_login(org.manager)
    figures = client.get(reverse("insights:dashboard") + period_query() + FILTERED).context["figures"]
    total = figures["sources"]["total"]
    assert total["leads"] == 2 and "cf.tier=" in total["urls"]["leads"]
    assert "lead.cf.tier=" in total["urls"]["won"] and "industry" not in total["urls"]["won"]
    funnel_url = figures["funnel"]["rows"][0]["url"]
    assert figures["funnel"]["rows"][0]["reached"] == 3 and "cf.industry=" in funnel_url and "tier" not in funnel_url
    cash = {row["key"]: row["url"] for row in figures["cash"]["rows"]}
    assert "deal.cf.industry=" in cash["quotes_sent"] and "deal.cf.industry=" in cash["contracts_signed"]
    assert "deal.cf.industry=" in cash["collected"]
    # The list's form keeps the filter as it pages and filters again.
    page = client.get(funnel_url).content.decode()
    assert 'type="hidden" name="cf.industry" value="制造"' in page
    assert 'type="hidden" name="deal.cf.industry"' in client.get(cash["contracts_signed"]).content.decode()


def test_the_filters_offered_are_the_fields_the_viewer_may_see(client, org, fields):
    client.force_login(org.owner)
    form = client.get(reverse("insights:dashboard")).context["form"]
    assert "lead.cf.tier" in form.fields and "deal.cf.industry" in form.fields
    assert "deal.cf.key_account" not in form.fields  # managers only
    assert form.fields["deal.cf.industry"].label == "Deal · Industry"
    # A rep naming the field in the address narrows nothing (its values are not theirs to know)...
    query = period_query() + "&deal.cf.key_account=1"
    figures = client.get(reverse("insights:dashboard") + query).context["figures"]
    assert figures["funnel"]["total"] == 4
    # ... and a manager's filter on it counts the key accounts: the won, the quoted and the teammate's lost deal.
    client.force_login(org.manager)
    assert "deal.cf.key_account" in client.get(reverse("insights:dashboard")).context["form"].fields
    assert client.get(reverse("insights:dashboard") + query).context["figures"]["funnel"]["total"] == 3
    # A value that is not an option is an error beside the field, and the dashboard falls back to the default.
    response = client.get(reverse("insights:dashboard") + "?deal.cf.industry=农业")
    assert response.context["form"].errors["deal.cf.industry"] and not response.context["scope"].filtered


def test_the_page_says_which_sections_a_filter_narrows(client, org, fields):
    client.force_login(org.admin)
    body = client.get(reverse("insights:dashboard") + period_query() + "&lead.cf.tier=金").content.decode()
    section = body[body.index('id="dash-sources"'):body.index('id="dash-funnel"')]
    assert "Narrowed by</strong> Tier = 金" in section
    funnel = body[body.index('id="dash-funnel"'):body.index('id="dash-cycle"')]
    assert "Not narrowed by Tier = 金" in funnel
    targets = body[body.index('id="dash-targets"'):body.index('id="dash-sources"')]
    assert "Not narrowed by Tier = 金" in targets
    plain = client.get(reverse("insights:dashboard") + period_query()).content.decode()
    assert "Narrowed by" not in plain and "Not narrowed by" not in plain


def test_the_export_counts_what_the_filtered_page_counts(client, org, fields):
    client.force_login(org.manager)
    response = client.get(reverse("insights:dashboard_export") + period_query() + FILTERED)
    assert response.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook
    book = load_workbook(BytesIO(response.content), read_only=True)
    sheets = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    assert sheets["Leads by source"][-1][:2] == ("Total", 2)
    assert sheets["Funnel by stage"][1][:2] == ("初步接洽", 3)
    filters = {row[0]: row[1:] for row in sheets["Custom field filters"][1:]}
    assert filters["Leads by source"] == ("Tier = 金", "Industry = 制造")
    assert filters["Quote to cash"] == ("Industry = 制造", "Tier = 金")
    assert filters["Targets"] == ("", "Tier = 金; Industry = 制造")
    assert exported_sheets(client, org.manager)["Funnel by stage"][1][:2] == ("初步接洽", 5)


def test_kept_overdue_counts_give_way_to_a_live_count_for_the_records_a_custom_field_filters(org, fields):
    """The counts the radar keeps per owner know no custom values: a filtered dashboard counts live."""
    now = timezone.now()
    Lead.objects.filter(owner=org.teammate).update(next_follow_up_at=now - timedelta(hours=3))
    Opportunity.objects.filter(owner=org.owner).update(next_follow_up_at=now - timedelta(hours=3))
    OverdueCount.objects.bulk_create(dashboard.overdue_recount(now))
    RadarRecount.objects.create(counted_at=now)
    tier, industry, _key_account = fields
    plain = dashboard.overdue_by_owner(scope_for(org.manager), now)
    assert plain[2] is not None  # from the kept counts
    assert plain[1][org.owner.pk] == 2  # the owner's open deals: the negotiating and the quoted one
    leads, deals, counted_at = dashboard.overdue_by_owner(
        scope_for(org.manager, deal_filters=((industry, "eq", "制造", "制造"),),
                  lead_filters=((tier, "eq", "银", "银"),)), now)
    assert counted_at is None
    assert deals == {org.owner.pk: 1}  # the quoted deal
    assert leads == {}  # the teammate's overdue leads are gold
    # A deal field alone leaves the leads' kept counts serving (and a lead field the deals'): counted now only
    # for the records the filter is about.
    OverdueCount.objects.filter(record=OverdueCount.LEAD).update(count=7)
    OverdueCount.objects.filter(record=OverdueCount.DEAL).update(count=9)
    leads, deals, counted_at = dashboard.overdue_by_owner(
        scope_for(org.manager, deal_filters=((industry, "eq", "制造", "制造"),)), now)
    assert counted_at is not None and leads == {org.teammate.pk: 7} and deals == {org.owner.pk: 1}
    leads, deals, counted_at = dashboard.overdue_by_owner(
        scope_for(org.manager, lead_filters=((tier, "eq", "金", "金"),)), now)
    assert counted_at is not None and leads == {org.teammate.pk: 1} and deals == {org.owner.pk: 9}
