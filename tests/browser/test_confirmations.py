"""Irreversible acts ask first in a real browser: dismissing the question leaves the record as it was."""

import re

import pytest
from playwright.sync_api import expect

from closeloop.contracts.models import ContractStatus
from closeloop.contracts.tests.conftest import (  # noqa: F401 (fixtures)
    accepted_quote,
    deal,
    finance,
    make_contract,
    make_product,
    make_quote,
    signed_contract,
)

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_terminating_a_signed_contract_asks_first(data_migration_rows, org, signed_contract, new_page):  # noqa: F811 (fixtures above)
    # A reason typed and one tap ended a signed contract for good, with no question asked.
    contract = signed_contract()
    page = new_page(user=org.manager, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto(contract.get_absolute_url())
    page.get_by_text("退回草稿或终止").click()
    page.get_by_placeholder("终止原因？").fill("客户取消项目")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="终止合同").click()
    expect(page.get_by_role("button", name="终止合同")).to_be_visible()
    page.wait_for_timeout(500)
    contract.refresh_from_db()
    assert asked == [f"确定终止 {contract.number}？终止后不能恢复，不再有待回款，也不再提醒。"]
    assert contract.status != ContractStatus.TERMINATED
    page.get_by_role("button", name="终止合同").click()
    expect(page.locator(".status").first).to_have_text("已终止")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.TERMINATED and len(asked) == 2


def test_returning_a_lead_to_the_pool_asks_first(org, make_lead, new_page):
    from closeloop.leads.models import Lead

    lead = make_lead(owner=org.owner, company_name="杭州退回测试科技有限公司", contact_name="周敏")
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto(f"/leads/{lead.pk}/")
    page.locator("summary", has_text="退回公海").click()
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    # No reason yet: the browser says so at the field first; the question waits for a form it would send.
    page.get_by_role("button", name="退回公海").click()
    page.wait_for_timeout(300)
    reason = page.get_by_placeholder("原因？")
    assert asked == [] and reason.evaluate("field => field.validity.valueMissing")
    reason.fill("号码停机，联系不上")
    page.get_by_role("button", name="退回公海").click()
    page.wait_for_timeout(500)
    assert asked == ["确定将该线索退回公海？"] and Lead.objects.get(pk=lead.pk).owner_id == org.owner.pk
    page.get_by_role("button", name="退回公海").click()
    expect(page.get_by_role("status")).to_contain_text("杭州退回测试科技有限公司 · 周敏 已退回公海。")
    lead.refresh_from_db()
    assert lead.in_pool and lead.owner_id is None and len(asked) == 2


def test_a_new_ticket_form_link_asks_first(org, make_customer, new_page):
    # One tap on "new link" killed the link the customer had been given, with no question asked.
    from closeloop.service import ticket_forms
    from closeloop.service.models import TicketFormLink

    customer = make_customer(owner=org.owner, name="杭州换链测试科技有限公司")
    old = ticket_forms.ticket_form_share(customer=customer, actor=org.owner).key
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto(f"{customer.get_absolute_url()}#tickets")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="更换链接（旧链接随即失效）").click()
    page.wait_for_timeout(500)
    assert asked == ["确定更换链接？客户手上的旧链接将立即失效。"]
    assert TicketFormLink.objects.get(customer=customer).key == old
    page.get_by_role("button", name="更换链接（旧链接随即失效）").click()
    expect(page.get_by_role("status")).to_contain_text("已更换链接，旧链接已失效，请把新链接发给客户。")
    new = TicketFormLink.objects.get(customer=customer).key
    assert new != old and len(asked) == 2
    expect(page.locator("#ticket-form-link input")).to_have_value(re.compile(f"/t/{new}/$"))


def test_a_deal_left_open_after_its_contract_is_signed_offers_the_win(data_migration_rows, org, signed_contract,  # noqa: F811 (fixtures above)
                                                                      new_page):
    # The contract was signed and paid, and the deal stayed "open" in the forecast: nothing on its page said so.
    from datetime import date

    from closeloop.deals.models import Opportunity, OpportunityStatus, WinReason

    contract = signed_contract()
    # What the won stage's gate asks for is known (the gate itself is walked by the deal tests).
    Opportunity.objects.filter(pk=contract.opportunity_id).update(
        need="销售管理", budget="30000", authority="周总", expected_close_date=date(2027, 1, 31))
    opportunity = Opportunity.objects.get(pk=contract.opportunity_id)
    assert opportunity.status == OpportunityStatus.OPEN
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto(opportunity.get_absolute_url())
    expect(page.locator("#contracts")).to_contain_text("该商机的合同已签署，但商机仍在进行中")
    page.locator("#contracts").get_by_role("button", name="将商机移到“赢单”").click()
    # Why it was won is asked as on the stage path.
    page.get_by_label("赢单原因").select_option(label=WinReason.objects.order_by("position", "id").first().name)
    page.get_by_role("button", name="保存并移动").click()
    expect(page.get_by_role("status")).to_contain_text("赢单")
    opportunity.refresh_from_db()
    assert opportunity.status == OpportunityStatus.WON and opportunity.win_reason is not None
    page.goto(opportunity.get_absolute_url())
    expect(page.locator(".deal-left-open")).to_have_count(0)


def test_voiding_a_payment_asks_first(data_migration_rows, org, signed_contract, new_page):  # noqa: F811 (fixtures above)
    # A reason typed and one tap undid money finance had recorded, with no question asked; the row then read
    # "作废时间: 重复登记" (the voiding time's label before the reason).
    from closeloop.contracts import payments
    from closeloop.contracts.models import Payment
    from closeloop.core.models import Role, User

    finance = User.objects.create_user("finance", "finance@example.com", "pw", role=Role.FINANCE,  # noqa: F811
                                       display_name="钱会计")
    contract = signed_contract()
    payment = payments.payment_record(contract=contract, data={"amount": "9000", "reference": "ZH001"}, actor=finance)
    page = new_page(user=finance, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto(contract.get_absolute_url())
    page.locator("summary", has_text=re.compile("^作废$")).click()
    page.get_by_placeholder("原因？").fill("重复登记")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="作废", exact=True).click()
    page.wait_for_timeout(500)
    day = payment.received_on.strftime("%Y-%m-%d")
    assert asked == [f"确定作废 {day} 到账的 ¥9,000.00 回款？对应回款节点将重新变为待回款，作废后不能恢复。"]
    assert not Payment.objects.get(pk=payment.pk).is_void
    page.get_by_role("button", name="作废", exact=True).click()
    expect(page.locator("main")).to_contain_text("已作废: 重复登记")
    assert Payment.objects.get(pk=payment.pk).is_void and len(asked) == 2
