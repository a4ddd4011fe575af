"""Lists on a 390-px phone (issue 15): each record a card with its key fields, the filters behind one button;
a desktop keeps the table with its filters open."""

import re

import pytest
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline
from closeloop.deals.services.customers import contact_create
from closeloop.followup.tags import record_tags_set, tag_save

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_lead_deal_and_customer_lists_are_cards_on_a_phone(org, make_lead, make_deal, make_customer, new_page,
                                                          tmp_path):
    install_default_pipeline()  # the live server's flush removed the migration's pipeline
    lead = make_lead(owner=org.owner, company_name="苏州云帆智能科技有限公司", contact_name="王芳")
    customer = make_customer(owner=org.owner, name="杭州青禾实业有限公司")
    contact_create(customer=customer, data={"name": "陈静", "mobile": "13812345678"}, actor=org.owner)
    deal = make_deal(owner=org.owner, customer=customer, name="青禾年度框架", amount="500000")
    # Each card shows its record's tags as colored chips.
    vip = tag_save(data={"name": "重点客户", "color": "red"}, actor=org.admin)
    tag_save(data={"name": "年度框架", "color": "blue"}, actor=org.admin)
    for record in (lead, customer, deal):
        record_tags_set(record=record, tags=[vip], actor=org.owner)
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)

    page.goto("/leads/")
    card = page.locator("#lead-rows table.cards tbody tr").first
    expect(card).to_contain_text("苏州云帆智能科技有限公司")
    expect(card).to_contain_text("王芳")
    expect(card.locator(".tag.tag-red", has_text="重点客户")).to_be_visible()
    # Each field says what it is (the cell's label, drawn before it on a phone).
    follow_up = card.locator('td[data-label="下次跟进"]')
    expect(follow_up).to_be_visible()
    assert "下次跟进" in follow_up.evaluate("td => getComputedStyle(td, '::before').content")
    expect(page.locator("#lead-rows thead")).to_be_hidden()
    # A card, not a table row: a column of its cells (flex, so a saved view's column order leaves the card's alone).
    assert card.evaluate("row => getComputedStyle(row).display") == "flex"
    # The filters fold behind one button.
    search = page.locator(".filters input[name=q]")
    expect(search).to_be_hidden()
    page.get_by_role("button", name="筛选").click()
    expect(search).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=tmp_path / "leads-phone.png", full_page=True)

    page.goto("/deals/")
    card = page.locator("#deal-rows table.cards tbody tr").first
    for text in ("青禾年度框架", "杭州青禾实业有限公司", "¥500,000.00"):
        expect(card).to_contain_text(text)
    expect(card.locator(".tag.tag-red", has_text="重点客户")).to_be_visible()
    for label in ("金额", "阶段", "负责人", "下次跟进"):
        expect(card.locator(f'td[data-label="{label}"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=tmp_path / "deals-phone.png", full_page=True)
    # A card is ticked and tagged in bulk, as on the lead list.
    card.locator("td.card-select input").check()
    page.get_by_label("给所选商机打的标签").select_option(label="年度框架")
    page.get_by_role("button", name="标签", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text("已给所选的 1 条记录打上标签“年度框架”。")
    expect(page.locator("#deal-rows table.cards tbody tr").first.locator(".tag", has_text="年度框架")).to_be_visible()

    page.goto("/deals/customers/")
    card = page.locator("table.cards tbody tr").first
    for text in ("杭州青禾实业有限公司", "陈静", "13812345678"):
        expect(card).to_contain_text(text)
    expect(card.locator(".tag.tag-red", has_text="重点客户")).to_be_visible()
    expect(card.locator('td[data-label="下次跟进"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=tmp_path / "customers-phone.png", full_page=True)
    # A card list has no column headers to tap: the folded filters sort it.
    sort = page.locator(".filters select[name=sort]")
    expect(sort).to_be_hidden()
    page.get_by_role("button", name="筛选").first.click()
    sort.select_option(label="公司名称")
    page.locator(".filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=name(&|$)"))
    expect(page.locator(".filters select[name=sort] option:checked")).to_have_text("公司名称")

    # A desktop keeps the table, its header and its filters open, with no fold button.
    desk = new_page(user=org.owner, locale="zh-CN")
    desk.goto("/leads/")
    expect(desk.locator("#lead-rows thead")).to_be_visible()
    expect(desk.locator(".filters input[name=q]")).to_be_visible()
    expect(desk.get_by_role("button", name="筛选")).to_be_hidden()
    assert desk.locator("#lead-rows tbody tr").first.evaluate("row => getComputedStyle(row).display") == "table-row"
