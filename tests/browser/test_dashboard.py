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
