"""Custom fields in a real browser on a phone: an administrator adds one (Chinese first), a rep fills it on the lead
form, sees every error at once, and finds the value, labelled, on the lead's page and in its trail."""

import pytest
from playwright.sync_api import expect

from closeloop.leads.models import Lead

pytestmark = pytest.mark.browser


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_an_admin_adds_a_field_and_a_rep_fills_it_on_a_phone(org, new_page, tmp_path):
    admin = new_page(user=org.admin, phone=True, locale="zh-CN")
    admin.goto("/settings/fields/?target=leads.Lead")
    expect(admin.get_by_role("heading", name="自定义字段")).to_be_visible()
    admin.get_by_role("button", name="新增字段").click()
    admin.get_by_label("字段标识").fill("sub_industry")
    admin.get_by_label("中文名称").fill("细分行业")
    admin.get_by_label("英文名称").fill("Sub-industry")
    admin.locator("#id_type").select_option("choice")
    admin.get_by_label("选项").fill("汽车零部件\n电子\n医药")
    admin.get_by_label("在列表中显示").check()
    admin.screenshot(path=tmp_path / "custom-field-form-phone.png", full_page=True)
    assert overflow(admin) <= 0
    admin.get_by_role("button", name="保存").click()
    expect(admin.get_by_role("link", name="细分行业")).to_be_visible()
    assert overflow(admin) <= 0

    rep = new_page(user=org.owner, phone=True)
    rep.goto("/leads/new/")
    rep.locator("#id_company_name").fill("宁波甬江汽配有限公司")
    rep.locator("#id_contact_name").fill("周强")
    rep.locator("#id_mobile").fill("13905741234")
    rep.locator("#id_source").select_option(label="电话")
    rep.get_by_label("Sub-industry").select_option("汽车零部件")
    rep.screenshot(path=tmp_path / "lead-form-custom-phone.png", full_page=True)
    assert overflow(rep) <= 0
    rep.get_by_role("button", name="Save", exact=True).click()
    expect(rep.get_by_role("heading", name="宁波甬江汽配有限公司 · 周强")).to_be_visible()
    expect(rep.locator("article.custom-fields")).to_contain_text("汽车零部件")
    expect(rep.locator("ul.timeline")).to_contain_text("Sub-industry")
    assert Lead.objects.get().custom == {"sub_industry": "汽车零部件"}
    rep.goto("/leads/")
    expect(rep.locator("table")).to_contain_text("汽车零部件")
    assert overflow(rep) <= 0


def test_an_admin_makes_a_text_field_searchable_and_a_rep_finds_a_lead_by_it_on_a_phone(org, make_lead, new_page,
                                                                                      tmp_path):
    admin = new_page(user=org.admin, phone=True, locale="zh-CN")
    admin.goto("/settings/fields/new/?target=leads.Lead")
    admin.get_by_label("字段标识").fill("wechat_id")
    admin.get_by_label("中文名称").fill("微信号")
    admin.locator("#id_type").select_option("text")
    admin.get_by_label("可搜索").check()
    expect(admin.locator("form[novalidate]")).to_contain_text("列表的搜索框也按此字段的值查找记录")
    admin.screenshot(path=tmp_path / "custom-field-searchable-phone.png", full_page=True)
    assert overflow(admin) <= 0
    admin.get_by_role("button", name="保存").click()
    expect(admin.get_by_role("link", name="微信号")).to_be_visible()

    found = make_lead(company_name="宁波甬江汽配有限公司", custom={"wechat_id": "NB_yongjiang_88"})
    make_lead(company_name="温州瓯江电器有限公司", custom={"wechat_id": "wz_oujiang"})
    rep = new_page(user=org.owner, phone=True, locale="zh-CN")
    rep.goto("/leads/")
    rep.locator("details.filter-fold summary").click()  # on a phone the list's filters fold behind 筛选
    rep.get_by_role("searchbox", name="搜索").fill("yongjiang")
    rep.get_by_role("searchbox", name="搜索").press("Enter")
    expect(rep.get_by_text(found.company_name).first).to_be_visible()
    expect(rep.get_by_text("温州瓯江电器有限公司")).to_have_count(0)
    assert overflow(rep) <= 0
