"""A lead from a spreadsheet to a deal in a real browser, never without an owner or a next step (issue 15)."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from closeloop.core.tests.sheets import xlsx_bytes
from closeloop.deals.defaults import install_default_pipeline
from closeloop.deals.models import Opportunity
from closeloop.followup.models import Activity
from closeloop.leads.models import Lead, LeadStatus

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_a_lead_keeps_its_owner_and_next_step_from_import_to_deal(org, new_page, tmp_path, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.MEDIA_ROOT = tmp_path / "media"
    install_default_pipeline()
    sheet = tmp_path / "展会名片.xlsx"
    sheet.write_bytes(xlsx_bytes([["苏州云帆智能科技有限公司", "周敏", "13912345678", "zhou@example.com", "30万", "展会"]]))
    page = new_page(user=org.owner)
    page.set_default_timeout(WAIT)

    # A rep imports the cards from a trade fair and keeps them (the default for sales staff).
    page.goto("/leads/import/")
    page.get_by_label("Excel or CSV file").set_input_files(sheet)
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_role("button", name="Start import").click()
    # The result says where the row went, with a link to it.
    destination = page.get_by_role("link", name="1 assigned to owner")
    expect(destination).to_be_visible()
    page.screenshot(path=tmp_path / "import-result.png", full_page=True)
    destination.click()
    page.get_by_role("link", name="苏州云帆智能科技有限公司").first.click()
    lead = Lead.objects.get(company_name="苏州云帆智能科技有限公司")
    assert lead.owner == org.owner and lead.next_follow_up_at is not None and lead.budget == 300000

    # A call nobody answered: the form proposes the next follow-up; emptying it is refused, not obeyed.
    page.get_by_text("Log a follow-up").click()
    form = page.locator("#log-follow-up form")
    next_field = form.get_by_label("Next follow-up")
    proposed = next_field.input_value()
    assert proposed
    form.get_by_label("What happened").fill("打过电话，没人接")
    next_field.fill("")
    form.get_by_role("button", name="Log follow-up").click()
    # The browser holds the form back on the required date (the server says so too, see test_views).
    assert next_field.evaluate("input => input.validity.valueMissing")
    assert not Activity.objects.exists()
    expect(form.get_by_label("What happened")).to_have_value("打过电话，没人接")
    next_field.fill(proposed)
    form.get_by_role("button", name="Log follow-up").click()
    expect(page.locator("ul.timeline")).to_contain_text("打过电话，没人接")
    lead.refresh_from_db()
    assert lead.owner == org.owner
    assert timezone.localtime(lead.next_follow_up_at).strftime("%Y-%m-%d %H:%M") == proposed

    # Qualified on the lead's edit form: saving it keeps the owner and the next step.
    page.locator(f'a[href="{reverse("leads:edit", args=[lead.pk])}"]').click()
    page.get_by_label("Status").select_option(label="Qualified")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="苏州云帆智能科技有限公司")).to_be_visible()
    expect(page.locator("mark").first).to_have_text("Qualified")
    next_step = lead.next_follow_up_at
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED and lead.owner == org.owner and lead.next_follow_up_at == next_step

    # Converted: the deal has the same owner and carries the next follow-up over.
    page.get_by_role("button", name="Convert to deal").click()
    page.get_by_label("Deal name").fill("云帆CRM项目")
    # The amount as a rep says it, echoed as it will be saved before converting.
    page.get_by_label("Expected amount (CNY)").fill("30万")
    expect(page.locator("#id_amount_echo")).to_have_text("→ ¥300,000.00")
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("heading", name="云帆CRM项目")).to_be_visible()
    deal = Opportunity.objects.get(name="云帆CRM项目")
    assert deal.owner == org.owner and deal.next_follow_up_at == lead.next_follow_up_at and deal.amount == 300000
    expect(page.locator("dd").filter(has_text=timezone.localtime(deal.next_follow_up_at).strftime("%Y-%m-%d %H:%M"))
           ).to_be_visible()
    page.screenshot(path=tmp_path / "deal.png", full_page=True)
