"""Follow-up templates in a real browser on a 390-px phone (issue 15): the log form starts from the call's skeleton,
follows the kind while the text is untouched, and a log missing a required field comes back with every problem and
the text as typed."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from closeloop.followup.activity_templates import activity_template_save
from closeloop.followup.models import Activity

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_the_log_form_follows_the_kinds_template_and_keeps_what_was_typed(org, make_lead, new_page, tmp_path):
    activity_template_save(kind="call", data={"fields": "通话对象*\n客户需求*\n下一步*"}, actor=org.admin)
    activity_template_save(kind="visit", data={"fields": "拜访对象*\n现场情况*", "text": "拜访纪要"}, actor=org.admin)
    lead = make_lead(owner=org.owner, company_name="苏州云帆智能科技有限公司")
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)

    page.goto(reverse("followup:activity_create", args=["lead", lead.pk]))
    form = page.locator("form.activity-form")
    content = form.locator("textarea[name=content]")
    expect(content).to_have_value("通话对象：\n客户需求：\n下一步：")
    form.locator("select[name=kind]").select_option("visit")
    expect(content).to_have_value("拜访纪要\n拜访对象：\n现场情况：")
    form.locator("select[name=kind]").select_option("call")
    expect(content).to_have_value("通话对象：\n客户需求：\n下一步：")
    typed = "通话对象：周敏\n客户需求：\n下一步："
    content.fill(typed)
    form.locator("select[name=kind]").select_option("visit")
    expect(content).to_have_value(typed)  # typed text is never replaced
    form.locator("select[name=kind]").select_option("call")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    form.get_by_role("button", name="记录跟进").click()

    errors = page.locator("ul.errorlist")
    expect(errors).to_contain_text("电话模板要求填写“客户需求”")
    expect(errors).to_contain_text("电话模板要求填写“下一步”")
    expect(page.locator("textarea[name=content]")).to_have_value(typed)
    assert not Activity.objects.exists()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=tmp_path / "template-errors-phone.png", full_page=True)
    page.locator("textarea[name=content]").fill("通话对象：周敏\n客户需求：30人销售团队\n下一步：周五演示")
    page.get_by_role("button", name="记录跟进").click()
    expect(page.locator("p.message.success")).to_contain_text("苏州云帆智能科技有限公司")
    assert Activity.objects.get().content == "通话对象：周敏\n客户需求：30人销售团队\n下一步：周五演示"


def test_the_templates_settings_page_fits_a_phone(org, new_page, tmp_path):
    page = new_page(user=org.admin, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto(reverse("followup:activity_templates"))
    page.locator("textarea[name=call-fields]").fill("通话对象*\n客户需求*\n通话对象")
    page.locator("#template-call").get_by_role("button", name="保存").click()
    expect(page.locator("#template-call ul.errorlist")).to_contain_text("“通话对象”重复了")
    expect(page.locator("textarea[name=call-fields]")).to_have_value("通话对象*\n客户需求*\n通话对象")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=tmp_path / "templates-settings-phone.png", full_page=True)
