"""The middle of the loop in a real browser: convert a lead, drag the deal across the board through a gate,
log a follow-up, and find the reminder on the Today page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from closeloop.core.models import Channel, Notification
from closeloop.deals.defaults import install_default_pipeline
from closeloop.deals.models import Opportunity, Stage
from closeloop.followup.reminders import run_reminder_sweep
from closeloop.leads.models import LeadStatus
from closeloop.leads.services.editing import lead_update

pytestmark = pytest.mark.browser

# Each step waits on a server round trip (a page load, an HTMX swap): allow for a busy CI machine.
WAIT = 30_000


def test_convert_drag_through_a_gate_follow_up_and_today(org, make_lead, new_page, tmp_path):
    # Browser tests run on a transactional database that earlier tests may have flushed, taking the
    # migration's default pipeline with it.
    install_default_pipeline()
    lead = make_lead(company_name="苏州云帆智能科技有限公司", contact_name="周敏", title="采购经理",
                     need="50人销售团队的CRM", budget="300000", timeline="3个月内")
    lead = lead_update(lead=lead, data={"status": LeadStatus.QUALIFIED}, actor=org.owner, channel=Channel.WEB)
    page = new_page(user=org.owner)
    page.set_default_timeout(WAIT)

    # Convert the qualified lead from its page.
    page.goto(lead.get_absolute_url())
    page.get_by_role("button", name="Convert to deal").click()
    page.get_by_label("Deal name").fill("云帆CRM项目")
    page.get_by_label("Expected amount (CNY)").fill("280000")
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("heading", name="云帆CRM项目")).to_be_visible(timeout=WAIT)
    deal = Opportunity.objects.get(name="云帆CRM项目")
    assert deal.lead_id == lead.pk and deal.stage.name == "初步接洽"

    # Drag the card to 商务谈判: the gate wants an expected close date, which the lead did not have.
    page.goto("/deals/board/")
    first = deal.stage
    negotiation = Stage.objects.get(pipeline=deal.pipeline, name="商务谈判")
    card = page.locator(f"#deal-{deal.pk}")
    column = page.locator(f'section.column[data-stage="{negotiation.pk}"]')
    first_totals = page.locator(f"#column-head-{first.pk} .column-totals")
    negotiation_totals = page.locator(f"#column-head-{negotiation.pk} .column-totals")
    expect(first_totals).to_contain_text("1 · ¥280,000.00")
    expect(negotiation_totals).to_contain_text("0 · ¥0.00")
    # A reload would wipe this marker: it proves the board is updated in place.
    page.evaluate("window.boardMarker = 'still here'")
    card.drag_to(column)
    dialog = page.locator("#gate-dialog")
    expect(dialog).to_be_visible(timeout=WAIT)
    expect(dialog).to_contain_text("To move to “商务谈判”, fill in: expected close date.", timeout=WAIT)
    page.screenshot(path=tmp_path / "board-gate.png", full_page=True)
    deal.refresh_from_db()
    assert deal.stage.name == "初步接洽"

    # Fill in what the gate asks for, in the dialog, and the move goes through.
    dialog.get_by_label("Expected close date").fill((timezone.localdate() + timedelta(days=30)).isoformat())
    dialog.get_by_role("button", name="Save and move").click()
    expect(column.locator(f"#deal-{deal.pk}")).to_be_visible(timeout=WAIT)
    expect(dialog).to_be_hidden(timeout=WAIT)
    expect(page.locator(f"#deal-{deal.pk}")).to_have_count(1)
    expect(negotiation_totals).to_contain_text("1 · ¥280,000.00", timeout=WAIT)
    expect(first_totals).to_contain_text("0 · ¥0.00", timeout=WAIT)
    assert page.evaluate("window.boardMarker") == "still here"
    deal.refresh_from_db()
    assert deal.stage == negotiation and deal.expected_close_date is not None

    # A plain drag (no gate in the way) moves the card back the same way, still without a reload.
    page.locator(f"#deal-{deal.pk}").drag_to(page.locator(f'section.column[data-stage="{first.pk}"]'))
    expect(page.locator(f'section.column[data-stage="{first.pk}"] #deal-{deal.pk}')).to_be_visible(timeout=WAIT)
    expect(first_totals).to_contain_text("1 · ¥280,000.00", timeout=WAIT)
    expect(negotiation_totals).to_contain_text("0 · ¥0.00", timeout=WAIT)
    expect(page.locator("#board-status")).to_contain_text("moved to 初步接洽", timeout=WAIT)
    assert page.evaluate("window.boardMarker") == "still here"
    page.screenshot(path=tmp_path / "board-moved.png", full_page=True)
    deal.refresh_from_db()
    assert deal.stage == first

    # Log a follow-up on the deal with the next one for tomorrow.
    page.goto(deal.get_absolute_url())
    page.get_by_text("Log a follow-up").click()
    form = page.locator("form").filter(has_text="What happened")
    form.get_by_label("Type").select_option("visit")
    form.get_by_label("What happened").fill("上门演示了看板和移动端")
    form.get_by_label("Customer feedback").fill("希望下周给出正式报价")
    tomorrow = timezone.localtime() + timedelta(days=1)
    form.get_by_label("Next follow-up").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Log follow-up").click()
    expect(page.locator("ul.timeline")).to_contain_text("上门演示了看板和移动端", timeout=WAIT)

    # A day later the follow-up is due: the sweep reminds the owner, and Today shows it.
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=timezone.now() - timedelta(minutes=5))
    assert run_reminder_sweep() >= 1
    assert Notification.objects.filter(recipient=org.owner, kind="reminder.follow_up").count() == 1
    page.goto("/")
    item = page.locator("li.today-item").filter(has_text="云帆CRM项目")
    expect(item).to_contain_text("Overdue follow-up", timeout=WAIT)
    page.screenshot(path=tmp_path / "today.png", full_page=True)

    # One click opens the inline form; logging there clears the item.
    item.get_by_role("button", name="Log follow-up").click()
    item.get_by_label("What happened").fill("电话确认了报价时间")
    item.get_by_role("button", name="Log follow-up").click()
    expect(item).to_contain_text("Follow-up logged", timeout=WAIT)
    page.reload()
    expect(page.locator("li.today-item").filter(has_text="云帆CRM项目")).to_have_count(0, timeout=WAIT)
