"""Ticket search on a phone (issue 11): typing in the list's search box narrows the cards as the agent types; two
characters say how far they looked, a third searches every ticket through the index, and the page stays 390 px wide."""

import pytest
from playwright.sync_api import expect

from closeloop.service import tickets
from closeloop.service.tests.conftest import default_sla_policies, service_staff, service_team  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_an_agent_finds_a_ticket_by_a_fragment_of_the_customers_name_as_they_type(
        org, make_customer, service_team, default_sla_policies, new_page, settings):  # noqa: F811
    settings.LANGUAGE_CODE = "zh-hans"
    haina = make_customer(name="深圳海纳电子有限公司")
    other = make_customer(name="杭州云栖信息技术有限公司")
    wanted = tickets.ticket_create(customer=haina, actor=org.owner, data={
        "title": "报表导出的金额格式不对", "priority": "P3", "description": "客户电话反馈"})
    tickets.ticket_create(customer=other, actor=org.owner, data={
        "title": "系统登录报错", "priority": "P3", "description": "客户电话反馈"})

    agent = new_page(user=service_team.first, phone=True, locale="zh-CN")
    agent.set_default_timeout(WAIT)
    agent.goto("/service/tickets/?status=all")
    cards = agent.locator("#ticket-rows table.cards tbody tr")
    expect(cards).to_have_count(2)
    search = agent.locator("input[type=search][name=q]")
    search.press_sequentially("海纳", delay=50)
    expect(agent.locator("#short-search")).to_contain_text("只在最新的 5000 个工单中查找")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(wanted.number)
    search.press_sequentially("电", delay=50)
    expect(agent.locator("#short-search")).to_have_count(0)
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("深圳海纳电子有限公司")
    assert "q=%E6%B5%B7%E7%BA%B3%E7%94%B5" in agent.url  # the search is in the address, to share or go back to
    assert agent.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
