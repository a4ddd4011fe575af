"""A manager's first screen on a phone: the team's overdue work by person, one tap from each person's Today."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline
from closeloop.deals.models import Opportunity

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_a_managers_today_on_a_phone(org, make_deal, new_page, tmp_path):
    install_default_pipeline()  # a browser test's database is flushed, the migration's pipeline with it
    deal = make_deal()
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=timezone.now() - timedelta(days=3))
    page = new_page(user=org.manager, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/follow-up/today/")
    expect(page.get_by_role("heading", name="我的团队")).to_be_visible()
    expect(page.get_by_role("columnheader", name="逾期跟进")).to_be_visible()
    page.screenshot(path=tmp_path / "team-today-phone.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the team's Today is {overflow}px wider than the phone"
    page.get_by_role("link", name="1", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/follow-up/today/people/{org.owner.pk}/#today-follow_ups$"))
    expect(page.get_by_role("heading", name=f"{org.owner} 的今日")).to_be_visible()
    expect(page.get_by_role("link", name=deal.name)).to_be_visible()
