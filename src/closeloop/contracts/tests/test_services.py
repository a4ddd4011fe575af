"""The life of a contract: from an accepted quote or a deal, the plan, approval through the quotes' engine,
signing, payments, invoices, completion and termination; who may do each."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone, translation

from closeloop.contracts import invoices, payments, plans, services
from closeloop.contracts.models import ContractStatus, Instalment, InvoiceStatus, SignedVia
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry, Notification
from closeloop.followup.models import Task, TaskStatus
from closeloop.quotes import approvals
from closeloop.quotes.models import ApprovalRequest, ApprovalStatus

pytestmark = pytest.mark.django_db


def actions(contract):
    return list(AuditEntry.objects.for_object(contract).order_by("id").values_list("action", flat=True))


def test_a_contract_from_an_accepted_quote_carries_its_lines_and_amounts(org, accepted_quote):
    quote = accepted_quote()
    contract = services.contract_create_from_quote(quote=quote, actor=org.owner)
    year = timezone.localdate().year
    assert contract.number == f"HT-{year}-0001" and contract.status == ContractStatus.DRAFT
    assert contract.amount == D("30000.00") and contract.lines.count() == 2
    assert contract.party_b == quote.opportunity.customer.name and contract.owner == org.owner
    assert actions(contract) == ["contract.create"]
    with pytest.raises(Conflict):
        services.contract_create_from_quote(quote=quote, actor=org.owner)
    second = services.contract_create_from_quote(quote=accepted_quote(), actor=org.owner)
    assert second.number == f"HT-{year}-0002"


def test_only_an_accepted_quote_becomes_a_contract(org, make_quote):
    with pytest.raises(Conflict):
        services.contract_create_from_quote(quote=make_quote(), actor=org.owner)


def test_a_contract_from_a_deal_takes_the_typed_amount(org, deal):
    contract = services.contract_create_from_deal(opportunity=deal, data={"amount": "123456.78"}, actor=org.owner)
    assert contract.amount == D("123456.78") and contract.title == deal.name


def test_who_may_make_a_contract(org, accepted_quote, finance):
    quote = accepted_quote()
    for user in (org.teammate, org.outsider, finance):
        with pytest.raises(Forbidden):
            services.contract_create_from_quote(quote=quote, actor=user)
    assert services.contract_create_from_quote(quote=quote, actor=org.manager).owner == org.owner


def test_the_plan_must_add_up_and_shares_take_the_rounding(org, make_contract, deal):
    contract = make_contract(plan=False)
    with pytest.raises(ValidationFailed) as refused:
        plans.payment_plan_save(contract=contract, actor=org.owner, instalments=[
            {"title": "首付款", "condition": "on_signing", "amount": "10000"}])
    assert "20,000.00 less" in str(refused.value.message).replace("¥", "")
    with pytest.raises(ValidationFailed):
        services.contract_submit(contract=contract, actor=org.owner)
    odd = services.contract_create_from_deal(opportunity=deal, data={"amount": "100000.01"}, actor=org.owner)
    rows = plans.payment_plan_save(contract=odd, actor=org.owner, instalments=[
        {"title": "一期", "condition": "on_signing", "percentage": "33.33"},
        {"title": "二期", "condition": "on_acceptance", "days_after": "15", "percentage": "33.33"},
        {"title": "三期", "condition": "on_date", "due_date": "2027-03-31", "percentage": "33.34"}])
    assert [r.amount for r in rows] == [D("33330.00"), D("33330.00"), D("33340.01")]
    assert sum(r.amount for r in rows) == odd.amount
    assert [r.due_date for r in rows][:2] == [None, None]



def test_the_plan_in_the_trail_reads_in_the_writers_language(org, make_contract):
    # The trail's "+15d" was English in a Chinese trail; the plan's own table said "+15天".
    contract = make_contract(plan=False)
    with translation.override("zh-hans"):
        plans.payment_plan_save(contract=contract, actor=org.owner, instalments=[
            {"title": "首付款", "condition": "on_acceptance", "days_after": "15", "percentage": "100"}])
    entry = AuditEntry.objects.filter(target_id=str(contract.pk)).order_by("-id").first()
    assert "验收后 +15天" in str(entry.changes) and "+15d" not in str(entry.changes)

def test_submitting_without_a_rule_approves_at_once_and_signing_releases_the_plan(org, make_contract):
    contract = make_contract()
    contract = services.contract_submit(contract=contract, actor=org.owner)
    assert contract.status == ContractStatus.APPROVED
    services.contract_sign(contract=contract, actor=org.owner, sign_date=None, via=SignedVia.SCAN)
    contract.refresh_from_db()
    first, last = contract.instalments.order_by("position")
    today = timezone.localdate()
    assert contract.status == ContractStatus.SIGNED and contract.sign_date == today
    assert first.due_date == today + timedelta(days=7) and first.receivable and last.receivable
    assert first.amount == D("9000.00") and last.amount == D("21000.00")
    # The owner collects each instalment from their Today page.
    assert Task.objects.filter(owner=org.owner, kind="instalment_due", status=TaskStatus.OPEN).count() == 2
    assert actions(contract) == ["contract.create", "instalment.plan", "contract.approved", "contract.sign"]


def test_a_contract_over_the_amount_rule_goes_through_the_one_approval_engine(org, make_contract):
    from closeloop.quotes import catalog
    from closeloop.quotes.models import ApprovalChain, ApprovalOperator

    catalog.approval_rule_save(actor=org.admin, data={
        "kind": "contract", "name": "合同金额超过2万", "metric": "amount", "operator": ApprovalOperator.ABOVE,
        "threshold": "20000", "chain": ApprovalChain.MANAGERS, "levels": 1})
    contract = services.contract_submit(contract=make_contract(), actor=org.owner)
    assert contract.status == ContractStatus.PENDING_APPROVAL
    request = ApprovalRequest.objects.get(kind="contract")
    with pytest.raises((Forbidden, Conflict)):
        services.contract_sign(contract=contract, actor=org.owner, sign_date=None, via=SignedVia.SCAN)
    # The rep cannot change the plan while it waits.
    with pytest.raises(Conflict):
        plans.payment_plan_save(contract=contract, actor=org.owner, instalments=[
            {"title": "全款", "condition": "on_signing", "percentage": "100"}])
    approvals.approval_decide(request=request, actor=org.manager, approve=True, comment="同意")
    contract.refresh_from_db()
    request.refresh_from_db()
    assert request.status == ApprovalStatus.APPROVED and contract.status == ContractStatus.APPROVED
    assert "contract.approved" in actions(contract)


def test_a_rejected_contract_returns_to_draft(org, make_contract):
    from closeloop.quotes import catalog
    from closeloop.quotes.models import ApprovalChain, ApprovalOperator

    catalog.approval_rule_save(actor=org.admin, data={
        "kind": "contract", "name": "金额", "metric": "amount", "operator": ApprovalOperator.ABOVE,
        "threshold": "1000", "chain": ApprovalChain.MANAGERS, "levels": 1})
    contract = services.contract_submit(contract=make_contract(), actor=org.owner)
    approvals.approval_decide(request=ApprovalRequest.objects.get(kind="contract"), actor=org.manager, approve=False,
                              comment="首付比例太低")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFT and "contract.rejected" in actions(contract)


def test_finance_records_payments_and_the_contract_runs_to_completed(org, signed_contract, finance):
    contract = signed_contract()
    with pytest.raises(Forbidden):
        payments.payment_record(contract=contract, data={"amount": "9000"}, actor=org.owner)
    with pytest.raises(ValidationFailed):
        payments.payment_record(contract=contract, data={"amount": "30000.01"}, actor=finance)
    payment = payments.payment_record(contract=contract, data={"amount": "5000", "reference": "BANK-1"}, actor=finance)
    contract.refresh_from_db()
    first, last = contract.instalments.order_by("position")
    assert contract.status == ContractStatus.ACTIVE and contract.paid_amount == D("5000.00")
    assert (first.paid_amount, first.outstanding) == (D("5000.00"), D("4000.00"))
    assert Notification.objects.filter(recipient=org.owner, kind="payment.recorded").exists()
    payments.payment_void(payment=payment, actor=finance, reason="录错了")
    contract.refresh_from_db()
    assert contract.paid_amount == D("0.00")
    payments.payment_record(contract=contract, data={"amount": "30000"}, actor=finance)
    contract.refresh_from_db()
    assert contract.is_fully_paid and not Instalment.objects.filter(contract=contract, receivable=True).exists()
    assert contract.status == ContractStatus.ACTIVE  # delivery not yet accepted
    assert not Task.objects.filter(record_id=contract.pk, kind="instalment_due", status=TaskStatus.OPEN).exists()
    services.contract_delivery_accept(contract=contract, accepted_on=timezone.localdate(), actor=org.owner)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.COMPLETED


def test_on_acceptance_instalments_fall_due_when_the_delivery_is_accepted(org, deal, finance):
    contract = services.contract_create_from_deal(opportunity=deal, data={"amount": "10000"}, actor=org.owner)
    plans.payment_plan_save(contract=contract, actor=org.owner, instalments=[
        {"title": "验收款", "condition": "on_acceptance", "days_after": "10", "amount": "10000"}])
    services.contract_submit(contract=contract, actor=org.owner)
    services.contract_sign(contract=contract, actor=org.owner, sign_date=None, via=SignedVia.SCAN)
    instalment = contract.instalments.get()
    assert instalment.due_date is None and instalment.receivable
    day = timezone.localdate() - timedelta(days=2)
    assert services.contract_delivery_accept(contract=contract, accepted_on=day, actor=org.owner) == [instalment]
    assert services.contract_delivery_accept(contract=contract, accepted_on=day, actor=org.owner) == []  # idempotent
    instalment.refresh_from_db()
    assert instalment.due_date == day + timedelta(days=10)
    assert actions(contract).count("contract.delivered") == 1


def test_invoices_requested_by_the_rep_and_issued_by_finance(org, signed_contract, finance):
    contract = signed_contract()
    with pytest.raises(Forbidden):
        invoices.invoice_request_create(contract=contract, actor=org.outsider, data={"amount": "100",
                                                                                     "invoice_type": "general"})
    request = invoices.invoice_request_create(contract=contract, actor=org.owner, data={
        "amount": "9000", "invoice_type": "special", "buyer_tax_id": "91330106MA2B1C2D3E"})
    assert Notification.objects.filter(recipient=finance, kind="invoice.requested").exists()
    with pytest.raises(ValidationFailed):
        invoices.invoice_request_create(contract=contract, actor=org.owner, data={"amount": "21000.01",
                                                                                  "invoice_type": "general"})
    with pytest.raises(Forbidden):
        invoices.invoice_issue(request=request, actor=org.owner, data={"invoice_number": "12345678"})
    invoices.invoice_issue(request=request, actor=finance, data={"invoice_number": "12345678"})
    request.refresh_from_db()
    contract.refresh_from_db()
    assert request.status == InvoiceStatus.ISSUED and contract.invoiced_amount == D("9000.00")
    again = invoices.invoice_request_create(contract=contract, actor=org.owner, data={"amount": "100",
                                                                                      "invoice_type": "special",
                                                                                      "buyer_tax_id": "91330106MA2B1C2D3E"})
    with pytest.raises(Conflict):
        invoices.invoice_issue(request=again, actor=finance, data={"invoice_number": "12345678"})


def test_once_approved_the_rep_no_longer_changes_amounts_or_plan(org, signed_contract, finance):
    contract = signed_contract()
    with pytest.raises(Conflict):
        services.contract_update(contract=contract, data={"title": "改"}, actor=org.owner)
    with pytest.raises(Forbidden):
        plans.payment_plan_save(contract=contract, actor=org.owner, instalments=[
            {"title": "全款", "condition": "on_signing", "percentage": "100"}])
    # Finance moves the dates; the total stays the contract amount.
    rows = plans.payment_plan_save(contract=contract, actor=finance, instalments=[
        {"id": i.pk, "title": i.title, "condition": i.condition, "days_after": i.days_after,
         "due_date": "2027-07-31" if i.condition == "on_date" else "", "percentage": i.percentage}
        for i in contract.instalments.order_by("position")])
    assert rows[1].due_date.isoformat() == "2027-07-31"


def test_terminating_a_signed_contract_is_the_managers(org, signed_contract):
    contract = signed_contract()
    with pytest.raises(Forbidden):
        services.contract_terminate(contract=contract, actor=org.owner, reason="客户取消")
    services.contract_terminate(contract=contract, actor=org.manager, reason="客户取消")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.TERMINATED
    assert not Instalment.objects.filter(contract=contract, receivable=True).exists()
