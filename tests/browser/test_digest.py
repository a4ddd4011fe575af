"""The weekly digest's preview on a 390-px phone, in Chinese: the week's figures as the mail shows them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_a_manager_previews_their_weekly_digest_on_a_phone(org, make_lead, new_page, tmp_path):
    from closeloop.insights.digest import week_of

    make_lead(owner=org.owner, source="官网")
    make_lead(owner=org.outsider, source="广告")
    page = new_page(user=org.manager, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    monday = week_of(timezone.localdate())
    page.goto(f"/insights/digest/?week={monday}")
    expect(page.get_by_role("heading", name="每周复盘", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="各来源新线索")).to_be_visible()
    expect(page.get_by_role("cell", name="官网")).to_be_visible()
    expect(page.get_by_role("cell", name="广告")).to_have_count(0)  # team B's
    page.screenshot(path=tmp_path / "digest-phone.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the digest is {overflow}px wider than the phone"
    page.get_by_role("link", name="打开本周的仪表盘").click()
    expect(page).to_have_url(f"{page.url.split('/insights/')[0]}/insights/?period=custom&start={monday}"
                             f"&end={monday + timedelta(days=6)}")
