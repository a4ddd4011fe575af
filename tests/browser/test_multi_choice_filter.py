"""A multiple-choice custom field as a filter in a real browser, on a phone in Chinese: a rep ticks two options on
the leads list and sees the leads holding either; a manager picks two on the dashboard and follows a figure to a list
that keeps them."""

import pytest
from playwright.sync_api import expect

from closeloop.core.customfields.services import custom_field_create, custom_field_index

pytestmark = pytest.mark.browser


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_rep_ticks_two_options_on_the_leads_list_on_a_phone(org, make_lead, new_page, tmp_path):
    field = custom_field_create(target="leads.Lead", key="interests", field_type="multi_choice", actor=org.admin,
                                data={"label_zh": "意向渠道", "label_en": "Interests", "options": "展会\n官网\n转介绍",
                                      "list_column": True})
    custom_field_index(field=field, indexed=True, actor=org.admin)
    make_lead(company_name="宁波甬江汽配有限公司", custom={"interests": ["展会"]})
    make_lead(company_name="温州瓯江电器有限公司", custom={"interests": ["官网", "转介绍"]})
    make_lead(company_name="杭州西溪软件有限公司", custom={"interests": ["转介绍"]})
    make_lead(company_name="绍兴柯桥纺织有限公司")
    make_lead(company_name="台州椒江机械有限公司", owner=org.outsider, custom={"interests": ["展会"]})

    rep = new_page(user=org.owner, phone=True, locale="zh-CN")
    rep.goto("/leads/")
    rep.locator("details.filter-fold > summary").click()
    rep.locator("details.cf-multi summary").click()
    expect(rep.locator("details.cf-multi")).to_contain_text("含任一选项")
    rep.get_by_role("checkbox", name="展会").check()
    expect(rep.get_by_text("杭州西溪软件有限公司")).to_have_count(0)
    rep.get_by_role("checkbox", name="官网").check()
    expect(rep.locator("details.cf-multi summary")).to_have_text("意向渠道: 展会、官网")  # says what is ticked
    expect(rep.get_by_text("温州瓯江电器有限公司").first).to_be_visible()
    expect(rep.get_by_text("宁波甬江汽配有限公司").first).to_be_visible()
    expect(rep.get_by_text("杭州西溪软件有限公司")).to_have_count(0)
    expect(rep.get_by_text("绍兴柯桥纺织有限公司")).to_have_count(0)
    expect(rep.get_by_text("台州椒江机械有限公司")).to_have_count(0)  # another team's
    assert "cf.interests=" in rep.url and rep.url.count("cf.interests=") == 2
    rep.screenshot(path=tmp_path / "multi-choice-filter-phone.png", full_page=True)
    assert overflow(rep) <= 0
    # Reloaded from its address, the list keeps both options ticked.
    rep.reload()
    rep.locator("details.filter-fold > summary").click()
    expect(rep.locator("details.cf-multi summary")).to_contain_text("意向渠道: 展会、官网")
    expect(rep.get_by_text("杭州西溪软件有限公司")).to_have_count(0)


def test_a_manager_picks_two_options_on_the_dashboard_on_a_phone(org, make_lead, new_page, tmp_path):
    custom_field_create(target="leads.Lead", key="interests", field_type="multi_choice", actor=org.admin,
                        data={"label_zh": "意向渠道", "label_en": "Interests", "options": "展会\n官网\n转介绍"})
    make_lead(company_name="宁波甬江汽配有限公司", custom={"interests": ["展会"]})
    make_lead(company_name="温州瓯江电器有限公司", custom={"interests": ["官网"]}, owner=org.teammate)
    make_lead(company_name="杭州西溪软件有限公司", custom={"interests": ["转介绍"]})
    manager = new_page(user=org.manager, phone=True, locale="zh-CN")
    manager.goto("/insights/")
    manager.locator("select[name='lead.cf.interests']").select_option(["展会", "官网"])
    manager.locator("form.dash-filters button[type=submit]").click()
    expect(manager.locator("body")).to_contain_text("意向渠道 含 展会、官网 之一")
    manager.screenshot(path=tmp_path / "multi-choice-dashboard-phone.png", full_page=True)
    assert overflow(manager) <= 0
    link = manager.locator("a[href^='/leads/'][href*='interests']").first
    expect(link).to_have_text("2")
    link.click()
    expect(manager.get_by_text("宁波甬江汽配有限公司").first).to_be_visible()
    expect(manager.get_by_text("温州瓯江电器有限公司").first).to_be_visible()
    expect(manager.get_by_text("杭州西溪软件有限公司")).to_have_count(0)
