"""Custom fields past leads, in a real browser: a stage gate that needs a deal's custom field asks for it in the
board's dialog and moves the deal once it is chosen; a service agent on a phone changes a ticket's field on its
page, which does not scroll sideways."""

import pytest
from playwright.sync_api import expect

from closeloop.core.customfields.services import custom_field_create
from closeloop.deals.defaults import install_default_pipeline
from closeloop.deals.models import Opportunity, Stage
from closeloop.deals.services.pipelines import stage_save
from closeloop.service.models import Ticket
from closeloop.service.tests.conftest import default_sla_policies, service_staff, service_team  # noqa: F401 (fixtures)
from closeloop.service.tickets import ticket_create

pytestmark = pytest.mark.browser

WAIT = 30_000


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_gate_asks_for_a_custom_field_on_the_board(org, make_deal, new_page, tmp_path):
    install_default_pipeline()
    custom_field_create(target="deals.Opportunity", key="rival", field_type="choice", actor=org.admin,
                        data={"label_zh": "竞争对手", "label_en": "Main rival", "options": "纷享销客\n销售易"})
    deal = make_deal(need="CRM")
    stage = Stage.objects.get(pipeline=deal.pipeline, name="需求确认")
    stage_save(actor=org.admin, pipeline=stage.pipeline, stage=stage, data={
        "name": stage.name, "probability": stage.probability, "position": stage.position,
        "required_fields": ["need", "custom.rival"], "stale_after_days": stage.stale_after_days})
    page = new_page(user=org.owner)
    page.set_default_timeout(WAIT)
    page.goto("/deals/board/")
    page.locator(f"#deal-{deal.pk}").drag_to(page.locator(f'section.column[data-stage="{stage.pk}"]'))
    dialog = page.locator("#gate-dialog")
    expect(dialog).to_contain_text("To move to “需求确认”, fill in: Main rival.")
    dialog.get_by_label("Main rival").select_option("销售易")
    page.screenshot(path=tmp_path / "board-gate-custom.png", full_page=True)
    dialog.get_by_role("button", name="Save and move").click()
    expect(page.locator(f'section.column[data-stage="{stage.pk}"] #deal-{deal.pk}')).to_be_visible()
    deal = Opportunity.objects.get(pk=deal.pk)
    assert deal.stage == stage and deal.custom == {"rival": "销售易"}


def test_an_agent_changes_a_tickets_field_on_a_phone(org, make_customer, service_team, default_sla_policies,  # noqa: F811
                                                     new_page, tmp_path):
    agent = service_team.second
    custom_field_create(target="service.Ticket", key="device_sn", field_type="text", actor=org.admin,
                        data={"label_zh": "设备序列号", "label_en": "Device serial"})
    ticket = ticket_create(customer=make_customer(owner=org.owner), actor=org.owner, assignee=agent,
                           data={"title": "扫码枪失灵", "priority": "P3"})
    page = new_page(user=agent, phone=True)
    page.set_default_timeout(WAIT)
    page.goto(ticket.get_absolute_url())
    page.locator("#ticket-fields summary").click()
    page.get_by_label("Device serial").fill("SN-2026-0042")
    page.locator("#ticket-fields").get_by_role("button", name="Save").click()
    expect(page.locator("article.custom-fields")).to_contain_text("SN-2026-0042")
    page.screenshot(path=tmp_path / "ticket-custom-phone.png", full_page=True)
    assert overflow(page) <= 0
    assert Ticket.objects.get(pk=ticket.pk).custom == {"device_sn": "SN-2026-0042"}
