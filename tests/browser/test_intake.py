"""Intake in a real browser: manual entry, the public web form (also framed by another origin), phone layout."""

import pytest
from playwright.sync_api import expect

from closeloop.core.models import Channel
from closeloop.leads.models import Campaign, Lead

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(org):
    return Campaign.objects.create(name="2026上海工博会", source=org.sources["展会"],
                                   thank_you_message="感谢关注，我们会在24小时内联系您。")


def test_the_public_form_says_what_to_fix_on_a_phone(org, campaign, new_page, tmp_path):
    page = new_page(phone=True)
    page.goto(f"/f/{campaign.form_key}/")
    page.get_by_label("Company").fill("成都天府茶业有限公司")
    page.get_by_label("Mobile").fill("12345")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the marked fields.")
    expect(page.locator("#id_mobile_error")).to_contain_text("not a valid phone number")
    expect(page.locator("#id_contact_name_error")).to_be_visible()
    # What the visitor typed is still there to correct.
    expect(page.get_by_label("Company")).to_have_value("成都天府茶业有限公司")
    page.screenshot(path=tmp_path / "public-form-errors-phone.png", full_page=True)
    assert horizontal_overflow(page) <= 0
    assert not Lead.objects.exists()


def horizontal_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_it_enters_a_lead_by_hand_and_shows_it_with_its_trail(org, new_page, tmp_path):
    page = new_page()
    page.goto("/leads/new/")
    expect(page).to_have_url("/login/?next=/leads/new/")
    page.get_by_label("Username").fill("owner")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="New lead")).to_be_visible()

    # The first field has the focus: a person can start typing straight away.
    page.keyboard.type("南京星河软件有限公司")
    page.get_by_label("Contact").fill("陈晓")
    page.get_by_label("Source").select_option(label="电话")
    mobile = page.get_by_label("Mobile")
    mobile.fill("139 0513 1234")
    page.screenshot(path=tmp_path / "lead-form-desktop.png", full_page=True)
    mobile.press("Enter")

    expect(page.get_by_role("heading", name="南京星河软件有限公司 · 陈晓")).to_be_visible()
    # The trail reads in words: the action's label and the fields' verbose names, not their codes.
    timeline = page.locator("ul.timeline").filter(has_text="Lead created")
    expect(timeline).to_contain_text("Lead created")
    expect(timeline).to_contain_text("Owner")
    expect(timeline).not_to_contain_text("lead.create")
    lead = Lead.objects.get(company_name="南京星河软件有限公司")
    assert (lead.owner, lead.created_via, lead.mobile_key) == (org.owner, Channel.WEB, "+8613905131234")

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Leads").click()
    nav.get_by_role("link", name="Lead list").click()
    expect(page.locator("#lead-rows")).to_contain_text("南京星河软件有限公司")


def test_the_embed_codes_work_on_another_site(org, campaign, new_page, other_origin, live_server, tmp_path):
    # The marketer copies both embed codes from the campaign page onto the company's website.
    marketer = new_page(user=org.marketer)
    marketer.goto(f"/leads/campaigns/{campaign.pk}/")
    iframe_code = marketer.locator("#snippet-iframe").input_value()
    form_code = marketer.locator("#snippet-form").input_value()
    marketer.screenshot(path=tmp_path / "campaign-desktop.png", full_page=True)
    assert f'<iframe src="{live_server.url}/f/{campaign.form_key}/"' in iframe_code
    site = other_origin(f"""<!doctype html><meta charset="utf-8"><title>客户官网</title><h1>客户官网</h1>
        {iframe_code}<h2>联系我们</h2>{form_code}""")

    visitor = new_page()
    visitor.goto(site)
    frame = visitor.frame_locator("iframe")
    frame.get_by_label("Company").fill("厦门海风贸易有限公司")
    frame.get_by_label("Contact").fill("林海")
    frame.get_by_label("Mobile").fill("13806001234")
    frame.get_by_label("Need").fill("需要一套CRM")
    visitor.screenshot(path=tmp_path / "public-form-in-iframe.png", full_page=True)
    frame.get_by_role("button", name="Submit").click()
    expect(frame.get_by_text("感谢关注，我们会在24小时内联系您。")).to_be_visible()
    visitor.screenshot(path=tmp_path / "public-form-thanks.png", full_page=True)
    lead = Lead.objects.get(company_name="厦门海风贸易有限公司")
    assert (lead.campaign, lead.source, lead.created_via) == (campaign, org.sources["展会"], Channel.FORM)

    # The plain HTML form posts across sites and lands on the thank-you page.
    visitor.get_by_label("Company").fill("福州闽江机械有限公司")
    visitor.get_by_label("Contact").fill("郑强")
    visitor.get_by_label("Mobile").fill("13905911234")
    visitor.get_by_role("button", name="Submit").click()
    expect(visitor).to_have_url(f"{live_server.url}/f/{campaign.form_key}/thanks/")
    expect(visitor.get_by_text("感谢关注，我们会在24小时内联系您。")).to_be_visible()
    assert Lead.objects.get(company_name="福州闽江机械有限公司").campaign == campaign

    admin = new_page(user=org.admin)
    admin.goto("/leads/")
    rows = admin.locator("#lead-rows")
    expect(rows).to_contain_text("厦门海风贸易有限公司")
    expect(rows).to_contain_text("福州闽江机械有限公司")


def test_pages_fit_a_phone_screen(org, campaign, new_page, make_lead, tmp_path):
    make_lead(company_name="上海某某信息技术股份有限公司", contact_name="王", need="需要一套很长很长的解决方案")
    page = new_page(user=org.admin, phone=True, locale="zh-CN")
    too_wide = []
    for name, url in [("lead-form", "/leads/new/"), ("lead-list", "/leads/"), ("campaigns", "/leads/campaigns/"),
                      ("campaign", f"/leads/campaigns/{campaign.pk}/"), ("sources", "/leads/sources/"),
                      ("public-form", f"/f/{campaign.form_key}/")]:
        page.goto(url)
        page.screenshot(path=tmp_path / f"phone-{name}.png", full_page=True)
        if horizontal_overflow(page) > 0:
            too_wide.append(url)
    assert not too_wide, f"wider than a 390px phone screen: {too_wide}"
