"""Dates typed as people write them (issue 15), on a phone: the field says what it will save before saving."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_a_follow_up_date_is_echoed_while_typing_and_saved_as_echoed(org, make_deal, new_page, tmp_path):
    install_default_pipeline()  # a live server's flush removed the migration's pipeline
    deal = make_deal(name="云帆年度框架")
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto(deal.get_absolute_url())
    page.locator("#log-follow-up summary").click()
    form = page.locator("#log-follow-up form")
    form.locator("[name=content]").fill("客户说月底前定")
    field = form.locator("[name=next_follow_up_at]")
    echo = form.locator("#id_next_follow_up_at_echo")

    field.fill("2月30日")
    expect(echo).to_contain_text("“2月30日”不是日历上的日子")

    today = timezone.localdate()
    following = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    month_end = date(following.year + following.month // 12, following.month % 12 + 1, 1) - timedelta(days=1)
    field.fill("下月底 下午3点")
    expect(echo).to_contain_text(f"{month_end:%Y-%m-%d}")
    expect(echo).to_contain_text("15:00")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    page.screenshot(path=tmp_path / "typed-date-phone.png", full_page=True)

    form.get_by_role("button").last.click()
    expect(page.locator("ul.timeline")).to_contain_text("客户说月底前定")
    deal.refresh_from_db()
    assert timezone.localtime(deal.next_follow_up_at).strftime("%Y-%m-%d %H:%M") == f"{month_end:%Y-%m-%d} 15:00"
