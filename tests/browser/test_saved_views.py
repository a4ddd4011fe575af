"""Saved views (视图) in a real browser: a rep chooses the lead list's columns with the up/down buttons, sorts by a
header and saves the list as a view shared with the team; a teammate picks it from the menu on a phone, where the
cards keep every cell they had."""

import os
import re

import pytest
from playwright.sync_api import expect

from closeloop.core.models import SavedView

pytestmark = pytest.mark.browser


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_rep_saves_a_view_and_a_teammate_opens_it_on_a_phone(org, new_page, make_lead, tmp_path):
    shots = os.environ.get("CLOSELOOP_SHOTS") or tmp_path
    make_lead(company_name="宁波甬江汽配有限公司", contact_name="周强")
    make_lead(company_name="杭州西溪软件有限公司", contact_name="陈静")
    make_lead(company_name="苏州工业园精密机械有限公司", contact_name="吴芳", owner=org.teammate)
    rep = new_page(user=org.owner, locale="zh-CN")
    rep.goto("/leads/")
    rep.get_by_role("link", name="选择列…").click()
    expect(rep.get_by_role("heading", name="列")).to_be_visible()
    # The grade column goes up above the owner, and the mobile column is left out.
    rep.get_by_label("手机", exact=True).uncheck()
    for _step in range(2):
        rep.get_by_role("button", name="将等级上移").click()
    rep.screenshot(path=f"{shots}/views-columns.png", full_page=True)
    rep.get_by_role("button", name="显示这些列").click()
    headers = rep.locator("table.cards thead th").all_inner_texts()
    # The first column ticks rows for the bulk actions (a rep may return leads to the pool); it has no heading.
    assert [text.strip() for text in headers][:7] == ["", "公司", "联系人", "状态", "来源", "等级", "负责人"]
    rep.get_by_role("link", name="公司", exact=True).click()
    expect(rep).to_have_url(re.compile(r"sort=company_name"))
    expect(rep.locator("table.cards tbody tr").first).to_contain_text("宁波甬江汽配有限公司")
    rep.get_by_role("link", name="保存为视图…").click()
    rep.get_by_label("名称").fill("按公司名")
    rep.get_by_label("共享给我的团队").check()
    rep.get_by_role("button", name="保存").click()
    expect(rep.locator(".view-menu summary")).to_contain_text("按公司名")
    rep.screenshot(path=f"{shots}/views-list-desktop.png", full_page=True)
    view = SavedView.objects.get()
    assert view.sort == "company_name" and view.columns[:4] == ["contact", "status", "source", "grade"]

    teammate = new_page(user=org.teammate, phone=True, locale="zh-CN")
    teammate.goto("/leads/")
    teammate.locator(".view-menu summary").click()
    teammate.get_by_role("link", name="按公司名").click()
    expect(teammate.locator(".view-menu summary")).to_contain_text("按公司名")
    card = teammate.locator("table.cards tbody tr").first
    expect(card).to_be_visible()
    # The card still shows its contact, status, owner and next follow-up, in that order.
    labels = card.evaluate("""row => Array.from(row.querySelectorAll('td[data-label]'))
        .filter(td => getComputedStyle(td).display !== 'none')
        .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
        .map(td => td.dataset.label)""")
    assert labels == ["联系人", "状态", "负责人", "下次跟进"]
    teammate.screenshot(path=f"{shots}/views-list-phone.png", full_page=True)
    assert overflow(teammate) <= 0
