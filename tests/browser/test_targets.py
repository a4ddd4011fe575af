"""Sales targets on a 390-px phone, in Chinese: a manager sets a rep's target for the month, and the dashboard shows
it with its achievement (完成率); the hand-off and survey lists behind the dashboard's figures fit the phone too."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WAIT = 30_000


def fits(page, what):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{what} is {overflow}px wider than the phone"


def test_a_manager_sets_a_target_and_reads_its_achievement(org, make_customer, new_page, tmp_path):
    from closeloop.insights.models import SalesTarget

    make_customer(owner=org.owner)
    page = new_page(user=org.manager, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/insights/targets/")
    expect(page.get_by_role("heading", name="业绩目标", exact=True)).to_be_visible()
    fits(page, "the targets page")
    page.get_by_label("owner · 新客户数").fill("2")
    page.get_by_label("owner · 赢单金额").fill("5万")
    page.get_by_role("button", name="保存目标").click()
    expect(page.get_by_text(re.compile("的目标已保存"))).to_be_visible()
    target = SalesTarget.objects.get(user=org.owner)
    assert (target.new_customers, str(target.won_amount)) == (2, "50000.00")
    page.screenshot(path=tmp_path / "targets-phone.png", full_page=True)

    page.goto("/insights/")
    row = page.locator("#table-targets").get_by_role("row", name=re.compile("owner"))
    expect(row).to_contain_text("50.0%")  # one new customer of two
    fits(page, "the dashboard")
    for path in ("/insights/handoffs/?period=month", "/insights/surveys/?period=month"):
        page.goto(path)
        expect(page.get_by_role("link", name="返回经营看板")).to_be_visible()
        fits(page, path)
