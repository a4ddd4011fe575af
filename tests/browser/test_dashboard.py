"""The review dashboard in Chromium on a 390-px phone, in Chinese: charts drawn under the Content-Security-Policy,
the tables beside them, another period, and a figure followed to the records behind it."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_a_manager_reads_the_dashboard_on_a_phone(org, make_lead, make_deal, new_page, tmp_path):
    from closeloop.deals.defaults import install_default_pipeline
    from closeloop.deals.models import Stage
    from closeloop.deals.services.opportunities import opportunity_move_stage

    # The live server's tests empty the tables after each test, the migration's default pipeline with them.
    install_default_pipeline()
    for owner in (org.owner, org.owner, org.teammate):
        make_lead(owner=owner)
    make_lead(owner=org.outsider)
    make_deal(owner=org.owner, amount="20000", expected_close_date="2027-01-15")
    lost = make_deal(owner=org.teammate, amount="5000")
    opportunity_move_stage(opportunity=lost, stage=Stage.objects.get(name="输单"), actor=org.teammate, fields={"lost_reason": "价格过高"})

    page = new_page(user=org.manager, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    problems = []
    page.on("console", lambda message: message.type == "error" and "favicon" not in message.location.get("url", "")
            and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/insights/")
    expect(page.get_by_role("heading", name="经营看板", exact=True)).to_be_visible()
    # Every section with figures has its chart drawn on a canvas, and its table.
    expect(page.locator(".chart.drawn canvas").first).to_be_visible()
    # Sources, funnel, cycle time (the lost deal left 初步接洽), first contacts (the team's three leads are due),
    # lost reasons, forecast and its accuracy over the past months, quote to cash; no targets, no hand-offs, nothing
    # overdue, no tickets or surveys: no chart there.
    drawn = page.locator(".chart.drawn").evaluate_all("charts => charts.map(chart => chart.dataset.chart)")
    assert drawn == ["sources", "funnel", "cycle", "sla", "lost", "forecast", "accuracy", "cash"]
    expect(page.locator("#table-cycle").get_by_role("row", name=re.compile("初步接洽"))).to_contain_text("1")
    expect(page.locator("#table-sla tfoot")).to_contain_text("3")
    expect(page.locator("#table-handoffs")).to_contain_text("本期没有交接。")
    expect(page.locator("#table-tickets")).to_contain_text("本期没有工单。")
    sources = page.locator("#table-sources")
    expect(sources.get_by_role("row", name=re.compile("官网"))).to_contain_text("3")
    expect(page.locator("#table-lost")).to_contain_text("价格过高")
    page.screenshot(path=tmp_path / "dashboard-phone.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the dashboard is {overflow}px wider than the phone"
    width = page.locator(".chart.drawn canvas").first.evaluate("canvas => canvas.getBoundingClientRect().width")
    assert 300 <= width <= 390

    page.get_by_label("期间").select_option("week")
    page.get_by_role("button", name="查看").click()
    expect(page).to_have_url(re.compile(r"period=week"))
    expect(page.locator(".chart.drawn canvas").first).to_be_visible()
    expect(page.get_by_role("button", name="导出 Excel")).to_be_visible()

    # The 官网 leads figure opens the leads list narrowed to the same records: the team's three.
    page.locator("#table-sources").get_by_role("row", name=re.compile("官网")).get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/leads/\?.*owner=team.*source="))
    expect(page.locator("#lead-rows tbody tr")).to_have_count(3)
    expect(page.locator("#lead-rows")).not_to_contain_text("outsider")
    assert problems == []


def test_a_manager_filters_the_dashboard_by_custom_fields_on_a_phone(org, make_lead, make_deal, new_page, tmp_path):
    """The filter form's custom fields at 390 px in Chinese: a lead grade narrows the leads by source, a deal
    industry the funnel, each section says so, and a figure opens its records with the filter kept."""
    from closeloop.core.customfields.services import custom_field_create
    from closeloop.deals.defaults import install_default_pipeline
    from closeloop.deals.models import Opportunity

    install_default_pipeline()
    custom_field_create(target="leads.Lead", key="grade", field_type="choice", actor=org.admin,
                        data={"label_zh": "客户等级", "label_en": "Grade", "options": "A类\nB类"})
    custom_field_create(target="deals.Opportunity", key="industry", field_type="choice", actor=org.admin,
                        data={"label_zh": "行业", "label_en": "Industry", "options": "制造业\n零售"})
    for owner, grade in ((org.owner, "A类"), (org.owner, "B类"), (org.teammate, "A类"), (org.outsider, "A类")):
        make_lead(owner=owner, custom={"grade": grade})
    for owner, industry in ((org.owner, "制造业"), (org.owner, "零售"), (org.teammate, "制造业")):
        deal = make_deal(owner=owner, amount="20000")
        Opportunity.objects.filter(pk=deal.pk).update(custom={"industry": industry})

    page = new_page(user=org.manager, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/insights/")
    page.get_by_label("线索 · 客户等级").select_option("A类")
    page.get_by_label("商机 · 行业").select_option("制造业")
    page.get_by_role("button", name="查看").click()
    expect(page).to_have_url(re.compile(r"lead\.cf\.grade=A"))
    expect(page.locator("#table-sources tfoot")).to_contain_text("2")  # the owner's and the teammate's A leads
    sources_note = page.locator("#dash-sources ~ .narrowed").first
    expect(sources_note).to_contain_text("已按此筛选")
    expect(sources_note).to_contain_text("客户等级 = A类")
    expect(page.locator("#dash-targets ~ .narrowed").first).to_contain_text("未按")
    expect(page.get_by_role("row", name=re.compile("初步接洽")).first).to_contain_text("2")
    page.screenshot(path=tmp_path / "dashboard-filtered-phone.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the filtered dashboard is {overflow}px wider than the phone"

    # The funnel's first stage opens the team's manufacturing deals, and the list keeps the filter.
    page.locator("#table-funnel").get_by_role("row", name=re.compile("初步接洽")).get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/deals/\?.*cf\.industry="))
    expect(page.locator("#deal-rows tbody tr")).to_have_count(2)
    expect(page.locator('input[type="hidden"][name="cf.industry"]')).to_have_value("制造业")
