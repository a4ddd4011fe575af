"""The contracts app's part of `closeloop demo`: an approval rule for large contracts and some demo deals carried
to contracts in every state — a draft, one awaiting the manager's approval, one approved and waiting for the
signature, one signed, one in performance with an overdue instalment and invoices, one completed and one
terminated — so a newcomer sees the whole loop to the money, and finance's receivables have every age. The completed
one is paid in full here and completes when its delivery is accepted: by the demo of the app that tracks deliveries
(through its own services, as its pages do), or here when no app does."""

from datetime import timedelta

from django.db import transaction

from closeloop.core.errors import DomainError
from closeloop.core.models import Channel
from closeloop.deals.models import Opportunity, OpportunityStatus
from closeloop.quotes import approvals, catalog
from closeloop.quotes.models import ApprovalChain, ApprovalOperator, Quote, QuoteStatus

from . import invoices, payments, plans, services
from .models import ContractStatus, SignedVia
from .reminders import run_contract_reminders

# What becomes of each demo contract, in order: the accepted quotes take the first ones, then deals.
OUTCOMES = ["active_overdue", "completed", "signed", "pending", "approved", "draft", "terminated"]
# Typed amounts of the contracts made from deals (the pending one crosses the 500,000 approval rule).
DEAL_AMOUNTS = {"pending": "680000", "completed": "120000", "signed": "300000", "approved": "96000",
                "draft": "50000", "terminated": "88000", "active_overdue": "240000"}
S = ContractStatus
# `DemoContext.shared` key: the (contract, accepted on) pairs whose delivery the app recording acceptances accepts.
DELIVERIES_TO_ACCEPT = "contracts.deliveries_to_accept"


def load_demo_contracts(ctx) -> str:
    admin = ctx.admin
    finance = ctx.users.get("finance1") or admin
    catalog.approval_rule_save(actor=admin, data={
        "kind": services.APPROVAL_KIND, "name": "合同金额超过50万（经理审批）", "metric": "amount",
        "operator": ApprovalOperator.ABOVE, "threshold": "500000", "chain": ApprovalChain.MANAGERS, "levels": 1})
    today = ctx.now.date()
    quotes = list(Quote.objects.filter(status=QuoteStatus.ACCEPTED).select_related("opportunity__owner").order_by("id"))
    deals = list(Opportunity.objects.exclude(status=OpportunityStatus.LOST).exclude(quotes__status=QuoteStatus.ACCEPTED)
                 .select_related("owner", "customer").order_by("-status", "id")[: len(OUTCOMES) * 2])
    sources = [("quote", quote) for quote in quotes] + [("deal", deal) for deal in deals]
    made = 0
    for kind, source in sources:
        if made >= len(OUTCOMES):
            break
        outcome = OUTCOMES[made]
        try:
            with transaction.atomic():
                contract = _make(kind, source, outcome, admin=admin)
                _carry(contract, outcome, today=today, finance=finance, admin=admin, ctx=ctx)
        except DomainError:
            continue  # a deal its owner can no longer contract: the next one takes its place
        made += 1
    # The reminders a day of the sweep would have sent (the overdue instalment, the one due soon).
    ctx.finish.append(run_contract_reminders)
    return f"{made} contracts"


def _make(kind, source, outcome, *, admin):
    if kind == "quote":
        owner = source.opportunity.owner
        return services.contract_create_from_quote(quote=source, actor=owner, channel=Channel.SYSTEM)
    return services.contract_create_from_deal(opportunity=source, actor=source.owner, channel=Channel.SYSTEM,
                                              data={"amount": DEAL_AMOUNTS[outcome]})


def _plan(contract, rows) -> None:
    plans.payment_plan_save(contract=contract, actor=contract.owner, channel=Channel.SYSTEM, instalments=rows)


def _approve(contract, *, admin) -> None:
    """Submit, and let every approver in the chain agree (the demo's managers are quick)."""
    contract = services.contract_submit(contract=contract, actor=contract.owner, channel=Channel.SYSTEM,
                                        note="客户要求本月内签约")
    request = approvals.pending_request(services.APPROVAL_KIND, contract.pk)
    while request is not None:
        step = request.current_step
        approvals.approval_decide(request=request, actor=step.approver or admin, approve=True,
                                  comment="同意，注意回款节点", channel=Channel.SYSTEM)
        request = approvals.pending_request(services.APPROVAL_KIND, contract.pk)


def _carry(contract, outcome: str, *, today, finance, admin, ctx) -> None:
    owner = contract.owner
    if outcome == "terminated":
        services.contract_terminate(contract=contract, actor=owner, channel=Channel.SYSTEM, reason="客户预算冻结，项目取消")
        return
    if outcome == "draft":
        return  # no plan yet: the breakpoint "contract without payment plan"
    # Performance periods: the one in performance ends within the reminder window (renewal); the signed one
    # starts next week, so the start sweep leaves it signed.
    period = {"active_overdue": (-70, 25), "completed": (-115, 250), "signed": (10, 375)}.get(outcome)
    if period:
        services.contract_update(contract=contract, actor=owner, channel=Channel.SYSTEM, data={
            "start_date": (today + timedelta(days=period[0])).isoformat(),
            "end_date": (today + timedelta(days=period[1])).isoformat()})
    if outcome == "active_overdue":
        _plan(contract, [
            {"title": "首付款", "condition": "on_signing", "days_after": "7", "percentage": "30"},
            {"title": "上线款", "condition": "on_date", "due_date": (today - timedelta(days=40)).isoformat(),
             "percentage": "40"},
            {"title": "验收款", "condition": "on_acceptance", "days_after": "15", "percentage": "30"}])
    elif outcome == "completed":
        _plan(contract, [{"title": "首付款", "condition": "on_signing", "days_after": "5", "percentage": "50"},
                         {"title": "验收款", "condition": "on_acceptance", "days_after": "10", "percentage": "50"}])
    elif outcome == "signed":
        _plan(contract, [{"title": "预付款", "condition": "on_signing", "days_after": "15", "percentage": "30"},
                         {"title": "验收款", "condition": "on_acceptance", "days_after": "30", "percentage": "70"}])
    else:
        _plan(contract, [{"title": "首付款", "condition": "on_signing", "days_after": "7", "percentage": "50"},
                         {"title": "尾款", "condition": "on_date", "due_date": (today + timedelta(days=90)).isoformat(),
                          "percentage": "50"}])
    if outcome == "pending":
        services.contract_submit(contract=contract, actor=owner, channel=Channel.SYSTEM, note="大客户，申请加急审批")
        return
    _approve(contract, admin=admin)
    if outcome == "approved":
        return
    signed_days_ago = {"active_overdue": 75, "completed": 120, "signed": 3}[outcome]
    services.contract_sign(contract=contract, actor=owner, sign_date=today - timedelta(days=signed_days_ago),
                           via=SignedVia.SCAN if outcome != "completed" else SignedVia.ESIGN, channel=Channel.SYSTEM)
    if outcome == "signed":
        return
    first = contract.instalments.order_by("position").first()
    payments.payment_record(contract=contract, actor=finance, channel=Channel.SYSTEM, data={
        "amount": first.amount, "received_on": (today - timedelta(days=signed_days_ago - 6)).isoformat(),
        "method": "transfer", "reference": f"ZH{contract.pk:04d}01", "note": "首付款到账"})
    if outcome == "active_overdue":
        request = invoices.invoice_request_create(contract=contract, actor=owner, channel=Channel.SYSTEM, data={
            "amount": first.amount, "invoice_type": "special", "buyer_tax_id": "91310115MA1K4XYZ12",
            "note": "首付款发票"})
        invoices.invoice_issue(request=request, actor=finance, channel=Channel.SYSTEM, data={
            "invoice_number": f"{31000000 + contract.pk}", "issued_on": (today - timedelta(days=60)).isoformat()})
        second = contract.instalments.order_by("position")[1]
        invoices.invoice_request_create(contract=contract, actor=owner, channel=Channel.SYSTEM, data={
            "amount": second.amount, "invoice_type": "special", "buyer_tax_id": "91310115MA1K4XYZ12",
            "note": "客户要求先开票再付上线款"})
        return
    accepted_on = today - timedelta(days=20)
    if services.acceptance_by_delivery():
        # The app that tracks deliveries records this acceptance through its own flow in its demo (above this one),
        # as its pages do; that acceptance completes the contract, paid in full below.
        ctx.shared.setdefault(DELIVERIES_TO_ACCEPT, []).append((contract, accepted_on))
    else:
        services.contract_delivery_record(contract=contract, accepted_on=accepted_on, actor=owner,
                                          channel=Channel.SYSTEM)
    rest = contract.amount - first.amount
    payments.payment_record(contract=contract, actor=finance, channel=Channel.SYSTEM, data={
        "amount": rest, "received_on": (today - timedelta(days=12)).isoformat(), "method": "acceptance_bill",
        "reference": f"CD{contract.pk:06d}", "note": "验收款（银行承兑汇票）"})
