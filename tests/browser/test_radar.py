"""The breakpoint radar on a 390-px phone, in Chinese: the kinds as cards, the rows, and the mending action."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from closeloop.contracts.tests.conftest import (  # noqa: F401 (fixtures)
    accepted_quote,
    deal,
    finance,
    make_contract,
    make_product,
    make_quote,
    signed_contract,
)

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_a_manager_mends_a_break_from_the_radar_on_a_phone(org, make_lead, new_page, tmp_path):
    from closeloop.insights import radar
    from closeloop.leads.models import Lead

    lead = make_lead(owner=org.owner)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=3))
    radar.recount()  # keeps this week's counts: the trend's line and table
    page = new_page(user=org.manager, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/insights/radar/")
    expect(page.get_by_role("heading", name="流程断点雷达")).to_be_visible()
    card = page.get_by_role("link", name=re.compile("首次联系逾期"))
    expect(card).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name=lead.company_name, exact=False)).to_be_visible()
    expect(page.get_by_text("3 天")).to_be_visible()
    expect(page.get_by_role("heading", name="每周趋势")).to_be_visible()
    expect(page.locator(".radar-trend .chart.drawn canvas")).to_be_visible()  # drawn under the CSP
    page.screenshot(path=tmp_path / "radar-phone.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the radar is {overflow}px wider than the phone"
    page.get_by_role("button", name="记录跟进").first.click()
    expect(page).to_have_url(re.compile(rf"/leads/{lead.pk}/#log-follow-up$"))
    # The action lands on the follow-up form unfolded, not on its folded summary to tap once more.
    expect(page.locator("#log-follow-up form")).to_be_visible()
    expect(page.locator("#log-follow-up form")).to_be_in_viewport()


def test_the_radars_action_fits_a_phone_in_english(org, make_lead, new_page):
    from closeloop.leads.models import Lead

    lead = make_lead(owner=org.owner)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=3))
    page = new_page(user=org.manager, phone=True)
    page.set_default_timeout(WAIT)
    page.goto("/insights/radar/")
    action = page.get_by_role("button", name="Log a follow-up").first
    expect(action).to_be_visible()
    box = action.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"the action is cut at the edge: {box}"
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("e => e.scrollWidth - e.clientWidth") <= 0


def test_the_assignee_answers_a_late_hand_off_from_the_radar(data_migration_rows, org, make_deal, new_page):
    from closeloop.followup.models import Handoff
    from closeloop.followup.services import handoff_request

    asked = make_deal(owner=org.outsider)
    handoff = handoff_request(record=asked, assignee=org.teammate, title="技术评估", actor=org.outsider,
                              due_at=timezone.now() + timedelta(days=1))
    Handoff.objects.filter(pk=handoff.pk).update(due_at=timezone.now() - timedelta(hours=5))
    page = new_page(user=org.teammate, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/insights/radar/?kind=followup.handoff_not_accepted")
    expect(page.get_by_role("heading", name="协作交接未按时接受")).to_be_visible()
    expect(page.get_by_role("link", name="技术评估")).to_be_visible()
    expect(page.get_by_text("5 小时")).to_be_visible()
    page.get_by_role("button", name="回复或催办交接").click()
    expect(page).to_have_url(re.compile(rf"/deals/{asked.pk}/#handoff-{handoff.pk}$"))
    expect(page.locator(f"#handoff-{handoff.pk}").get_by_role("button", name="接受")).to_be_visible()


def test_the_owner_opens_the_renewal_deal_from_the_radar(data_migration_rows, org, signed_contract, new_page):  # noqa: F811
    from closeloop.contracts.models import Contract

    contract = signed_contract()
    Contract.objects.filter(pk=contract.pk).update(end_date=timezone.localdate() + timedelta(days=20))
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/insights/radar/?kind=contracts.ending_without_renewal")
    expect(page.get_by_role("heading", name="合同即将到期但无续约商机")).to_be_visible()
    expect(page.get_by_role("link", name=str(contract), exact=False)).to_be_visible()
    page.get_by_role("button", name="创建续约商机").click()
    expect(page).to_have_url(re.compile(rf"/deals/customers/{contract.customer_id}/new-deal/\?name="))
    expect(page.get_by_label("名称", exact=False).first).to_have_value(f"续约：{contract.title}")
