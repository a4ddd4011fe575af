"""Forms as a person meets them in a real browser (issue 15): what they chose survives an error, no answer
is chosen for them, and each error sits under the field it is about."""

import pytest
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline
from closeloop.deals.models import LostReason, Opportunity, OpportunityStatus, WinReason
from closeloop.leads.models import Lead, LeadStatus

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_the_merge_form_keeps_the_choices_after_a_missing_confirmation(org, make_lead, new_page, tmp_path):
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="张三", mobile="13900000001")
    b = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="李四", mobile="13900000002")
    page = new_page(user=org.owner)
    page.set_default_timeout(WAIT)
    page.goto(f"/leads/merge/?ids={a.pk},{b.pk}")
    page.locator(f'input[name="field_contact_name"][value="{b.pk}"]').check()
    page.get_by_role("button", name="Merge").click()

    # Back with an error under the box to tick, and the chosen contact still chosen.
    expect(page.locator("#confirm_error")).to_contain_text("Tick the confirmation box")
    expect(page.locator(f'input[name="field_contact_name"][value="{b.pk}"]')).to_be_checked()
    expect(page.locator(f'input[name="field_contact_name"][value="{a.pk}"]')).not_to_be_checked()
    page.screenshot(path=tmp_path / "merge-error.png", full_page=True)
    assert Lead.objects.get(pk=b.pk).status != LeadStatus.MERGED

    page.get_by_label("I understand merged leads cannot be separated again.").check()
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_text("1 leads merged into")).to_be_visible()
    a.refresh_from_db()
    assert a.contact_name == "李四"
    assert Lead.objects.get(pk=b.pk).merged_into_id == a.pk


def test_losing_a_deal_asks_for_a_reason_without_choosing_one(org, make_deal, new_page, tmp_path):
    install_default_pipeline()
    deal = make_deal(need="30人销售团队需要CRM")
    reason = LostReason.objects.filter(active=True).order_by("position", "id").last()
    page = new_page(user=org.owner)
    page.set_default_timeout(WAIT)
    page.goto(deal.get_absolute_url())
    page.locator("form.stage-path").get_by_role("button", name="输单").click()

    select = page.get_by_label("Lost reason")
    expect(select).to_have_value("")
    # The message that a reason is needed is under the reason, not under the optional note.
    expect(page.locator("#gate_lost_reason_error")).to_contain_text("Required for “输单”")
    expect(page.get_by_label("Note on the loss (optional)")).to_be_visible()
    page.screenshot(path=tmp_path / "lost-reason.png", full_page=True)

    select.select_option(str(reason.pk))
    page.get_by_label("Note on the loss (optional)").fill("客户选择了自研")
    page.get_by_role("button", name="Save and move").click()
    expect(page.get_by_role("heading", name=deal.name)).to_be_visible()
    deal = Opportunity.objects.get(pk=deal.pk)
    assert deal.status == OpportunityStatus.LOST and deal.lost_reason == reason and deal.lost_note == "客户选择了自研"


def test_winning_a_deal_asks_why_and_chooses_nothing_for_the_person(org, make_deal, new_page, tmp_path):
    install_default_pipeline()
    deal = make_deal(need="30人销售团队需要CRM", budget="200000", amount="180000", authority="王总",
                     expected_close_date="2026-12-31")
    reason = WinReason.objects.get(name="服务与响应快")
    page = new_page(user=org.owner)
    page.set_default_timeout(WAIT)
    page.goto(deal.get_absolute_url())
    page.locator("form.stage-path").get_by_role("button", name="赢单").click()

    expect(page.get_by_text("Why was this deal won?")).to_be_visible()
    select = page.get_by_label("Win reason")
    expect(select).to_have_value("")
    page.screenshot(path=tmp_path / "win-reason.png", full_page=True)
    select.select_option(str(reason.pk))
    page.get_by_label("Note on the win (optional)").fill("两天内完成了演示环境")
    page.get_by_role("button", name="Save and move").click()
    expect(page.get_by_role("heading", name=deal.name)).to_be_visible()
    expect(page.locator("dd").filter(has_text="服务与响应快")).to_contain_text("两天内完成了演示环境")
    deal = Opportunity.objects.get(pk=deal.pk)
    assert deal.status == OpportunityStatus.WON and deal.win_reason == reason
