"""The life of a quote: lines and totals, versions, approval, sending, acceptance moving the deal."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry, Notification
from closeloop.deals.services import opportunities as deal_services
from closeloop.followup.models import ParticipantRole
from closeloop.followup.rights import Act, may
from closeloop.followup.services import participant_add
from closeloop.quotes import catalog, services
from closeloop.quotes.models import ApprovalRequest, ApprovalStatus, QuoteStatus, QuoteTemplate, StepStatus

pytestmark = pytest.mark.django_db


def actions(quote):
    return list(AuditEntry.objects.for_object(quote).order_by("id").values_list("action", flat=True))


def test_a_new_quote_is_numbered_and_starts_a_draft_version(org, deal):
    first = services.quote_create(opportunity=deal, actor=org.owner)
    second = services.quote_create(opportunity=deal, actor=org.owner, title="备选方案")
    year = timezone.localdate().year
    assert (first.number, second.number) == (f"BJ-{year}-0001", f"BJ-{year}-0002")
    assert first.title == deal.name and first.status == QuoteStatus.DRAFT
    version = first.current_version
    assert version.number == 1 and version.prices_include_tax  # the default: 含税
    assert version.valid_until == timezone.localdate() + timedelta(days=30)
    assert actions(first) == ["quote.create"]


def test_lines_take_the_product_and_the_totals_follow(org, deal, make_product):
    product = make_product(list_price="10000", cost="4000", tax_rate="13", price_includes_tax=False)
    quote = services.quote_create(opportunity=deal, actor=org.owner)
    line = services.quote_line_add(quote=quote, actor=org.owner, data={"product": product.pk, "quantity": "2"})
    # The version is 含税: the catalog's 10,000 excl. tax is 11,300 incl. tax.
    assert (line.name, line.unit, line.list_price, line.unit_price) == (product.name, "套", D("11300.00"), D("11300.00"))
    services.quote_line_update(line=line, actor=org.owner, data={"discount_pct": "10"})
    services.quote_line_add(quote=quote, actor=org.owner, data={"name": "实施服务", "unit": "人天", "quantity": "5",
                                                                 "unit_price": "1,500", "tax_rate": "6"})
    version = quote.current_version
    version.refresh_from_db()
    assert version.total_incl_tax == D("20340.00") + D("7500.00")
    assert version.total_excl_tax == D("18000.00") + D("7075.47")
    assert version.tax_total == version.total_incl_tax - version.total_excl_tax
    assert version.cost_total == D("8000.00")
    assert version.margin_amount == version.total_excl_tax - D("8000.00")
    assert version.discount_pct == D("7.51")  # 1 - 27,840 / 30,100
    assert version.max_line_discount_pct == D("10.00")
    assert actions(quote) == ["quote.create", "quote_line.add", "quote_line.update", "quote_line.add"]


def test_a_line_refuses_what_cannot_be_priced(org, deal, make_product):
    quote = services.quote_create(opportunity=deal, actor=org.owner)
    with pytest.raises(ValidationFailed) as caught:
        services.quote_line_add(quote=quote, actor=org.owner, data={"quantity": "0", "discount_pct": "120",
                                                                     "tax_rate": "17"})
    assert set(caught.value.field_errors) == {"quantity", "discount_pct", "tax_rate", "name", "unit_price"}
    retired = make_product(active=False)
    with pytest.raises(ValidationFailed) as caught:
        services.quote_line_add(quote=quote, actor=org.owner, data={"product": retired.pk})
    assert "product" in caught.value.field_errors


def test_a_template_fills_a_new_quote(org, deal, make_product):
    a, b = make_product(), make_product(list_price="2000")
    template = catalog.quote_template_save(actor=org.admin, data={"name": "标准版", "payment_terms": "预付30%"}, lines=[
        {"product": a.pk, "quantity": "1"}, {"product": b.pk, "quantity": "10", "discount_pct": "5"}])
    quote = services.quote_create(opportunity=deal, actor=org.owner, template=template)
    lines = list(quote.current_version.lines.order_by("position"))
    assert [(line.product, line.quantity, line.discount_pct) for line in lines] == [(a, 1, 0), (b, 10, 5)]
    assert quote.current_version.payment_terms == "预付30%"
    assert quote.current_version.total_incl_tax == D("10000.00") + D("19000.00")
    assert QuoteTemplate.objects.count() == 1


def test_sending_freezes_the_version_and_changes_make_version_two(org, make_quote):
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)  # no rule crossed: approved on the way
    quote.refresh_from_db()
    first = quote.current_version
    assert quote.status == QuoteStatus.SENT and first.sent_at is not None
    line = first.lines.get()
    with pytest.raises(Conflict):
        services.quote_line_update(line=line, actor=org.owner, data={"quantity": "3"})
    with pytest.raises(Conflict):
        services.quote_update(quote=quote, actor=org.owner, data={"notes": "改"})
    services.quote_revise(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    second = quote.current_version
    assert (second.number, quote.status) == (2, QuoteStatus.DRAFT)
    new_line = second.lines.get()
    services.quote_line_update(line=new_line, actor=org.owner, data={"quantity": "3"})
    first.refresh_from_db()
    line.refresh_from_db()
    assert line.quantity == 1 and first.total_incl_tax == D("10000.00")  # version 1 as it was sent
    second.refresh_from_db()
    assert second.total_incl_tax == D("30000.00")
    assert "quote.send" in actions(quote) and "quote.revise" in actions(quote)


def test_a_discount_over_the_threshold_needs_the_managers_approval(org, make_quote, discount_rule):
    discount_rule("15")
    quote = make_quote(lines=[("10000", "20")])
    with pytest.raises(Conflict) as caught:
        services.quote_send(quote=quote, actor=org.owner)
    assert caught.value.code == "approval_required"
    services.quote_submit(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    request = ApprovalRequest.objects.get()
    assert [step.approver for step in request.steps.all()] == [org.manager]
    assert Notification.objects.filter(recipient=org.manager, kind="approval.requested").exists()
    with pytest.raises(Conflict):
        services.quote_line_add(quote=quote, actor=org.owner, data={"name": "加项", "unit_price": "1"})

    from closeloop.quotes.approvals import approval_decide

    with pytest.raises(Forbidden):
        approval_decide(request=request, actor=org.owner, approve=True)
    approval_decide(request=request, actor=org.manager, approve=True, comment="同意，尽快签")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    assert Notification.objects.filter(recipient=org.owner, kind="approval.decided").exists()
    services.quote_send(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    assert actions(quote)[-5:] == ["approval.submit", "quote.submit", "approval.approve", "quote.approved", "quote.send"]


def test_a_rejected_quote_is_changed_and_submitted_again(org, make_quote, discount_rule):
    from closeloop.quotes.approvals import approval_decide

    discount_rule("15")
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    request = ApprovalRequest.objects.get()
    with pytest.raises(ValidationFailed):
        approval_decide(request=request, actor=org.manager, approve=False)  # a rejection says why
    approval_decide(request=request, actor=org.manager, approve=False, comment="折扣太大，最多九折")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.REJECTED
    line = quote.current_version.lines.get()
    services.quote_line_update(line=line, actor=org.owner, data={"discount_pct": "10"})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT
    services.quote_submit(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED  # 10% crosses no rule
    assert ApprovalRequest.objects.get().status == ApprovalStatus.REJECTED


def test_withdrawing_cancels_the_round_and_tells_the_approver(org, make_quote, discount_rule):
    discount_rule("15")
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    services.quote_withdraw(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    request = ApprovalRequest.objects.get()
    assert quote.status == QuoteStatus.DRAFT and request.status == ApprovalStatus.CANCELLED
    assert [s.status for s in request.steps.all()] == [StepStatus.SKIPPED]
    assert Notification.objects.filter(recipient=org.manager, kind="approval.decided").exists()


def test_an_approved_quote_changed_goes_back_to_draft(org, make_quote):
    quote = make_quote()
    services.quote_submit(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    services.quote_update(quote=quote, actor=org.owner, data={"payment_terms": "货到付款"})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT


def test_accepting_moves_the_deal_to_the_configured_stage(org, deal, stages, pipeline, make_quote):
    catalog.pipeline_quote_settings_save(actor=org.admin, pipeline=pipeline, sent_stage=stages["方案报价"],
                                         accepted_stage=stages["商务谈判"])
    deal_services.opportunity_update(opportunity=deal, data={"budget": "200000", "need": "CRM",
                                                             "authority": "王总",
                                                             "expected_close_date": "2027-01-31"}, actor=org.owner)
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    deal.refresh_from_db()
    assert deal.stage == stages["方案报价"]
    decision = services.quote_decide(quote=quote, accept=True, actor=None, name="周敏", phone="13912345678")
    deal.refresh_from_db()
    quote.refresh_from_db()
    assert decision.refused == "" and deal.stage == stages["商务谈判"]
    assert (quote.status, quote.decided_by_name, quote.decided_by_phone) == (QuoteStatus.ACCEPTED, "周敏", "13912345678")
    entry = AuditEntry.objects.for_object(quote).get(action="quote.accept")
    assert entry.actor is None and entry.channel == "form"
    # The pipeline's rule moved the deal, as the system, naming what triggered it.
    stage_entry = AuditEntry.objects.for_object(deal).filter(action="opportunity.stage").first()
    assert stage_entry.actor is None and stage_entry.channel == "system" and "周敏" in stage_entry.note
    assert Notification.objects.filter(recipient=org.owner, kind="quote.decided", message__contains="周敏").exists()


def test_a_stage_gate_that_refuses_leaves_the_acceptance_standing(org, deal, stages, pipeline, make_quote):
    catalog.pipeline_quote_settings_save(actor=org.admin, pipeline=pipeline, accepted_stage=stages["商务谈判"])
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    decision = services.quote_decide(quote=quote, accept=True, actor=None, name="周敏", phone="13912345678")
    deal.refresh_from_db()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert deal.stage == stages["初步接洽"]
    assert "decision maker" in decision.refused
    notice = Notification.objects.get(recipient=org.owner, kind="quote.decided")
    assert "could not move to 商务谈判" in notice.message


def deal_amount_entries(deal):
    return list(AuditEntry.objects.for_object(deal).filter(action="opportunity.update", changes__has_key="amount")
                .order_by("id"))


def test_an_accepted_quote_sets_the_open_deals_amount(client, org, deal, make_quote):
    """The deal was opened at ¥200,000; the customer accepted 30% off a ¥10,000 line and a ¥5,000 one: the deal
    is worth what was agreed, incl. tax (as the contract made from the quote), and its trail says where from."""
    quote = make_quote(lines=(("10000", "30"), ("5000", "0")))
    services.quote_send(quote=quote, actor=org.owner)
    services.quote_decide(quote=quote, accept=True, actor=org.owner, name="周敏")
    deal.refresh_from_db()
    quote.refresh_from_db()
    assert deal.amount == quote.current_version.total_incl_tax == D("12000.00")
    [entry] = deal_amount_entries(deal)
    assert [D(value) for value in entry.changes["amount"]] == [D("200000"), D("12000")]
    assert entry.actor is None and entry.channel == "system"
    assert entry.note == f"the total of {quote.number}, accepted by {org.owner}"  # who recorded it, as the stage move
    # The deal page's timeline shows the change with the quote it came from.
    client.force_login(org.owner)
    body = client.get(deal.get_absolute_url()).content.decode()
    assert entry.note in body


def test_a_declined_quote_leaves_the_deals_amount(org, deal, make_quote):
    quote = make_quote(lines=(("10000", "30"),))
    services.quote_send(quote=quote, actor=org.owner)
    services.quote_decide(quote=quote, accept=False, actor=org.owner, note="太贵")
    deal.refresh_from_db()
    assert deal.amount == D("200000.00") and deal_amount_entries(deal) == []


def test_a_won_deal_keeps_its_amount_when_a_later_quote_is_accepted(org, deal, stages, make_quote):
    """A won (or lost) deal's amount is its history: an add-on quote accepted afterwards does not rewrite it."""
    deal_services.opportunity_update(opportunity=deal, data={"budget": "200000", "need": "CRM", "authority": "王总",
                                                             "expected_close_date": "2027-01-31"}, actor=org.owner)
    quote = make_quote(lines=(("10000", "30"),))
    services.quote_send(quote=quote, actor=org.owner)
    for name in ("需求确认", "方案报价", "赢单"):
        deal_services.opportunity_move_stage(opportunity=deal, stage=stages[name], actor=org.owner)
    services.quote_decide(quote=quote, accept=True, actor=None, name="周敏", phone="13912345678")
    deal.refresh_from_db()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert deal.status == "won" and deal.amount == D("200000.00") and deal_amount_entries(deal) == []


def test_accepting_into_a_won_stage_wins_the_deal_at_the_quotes_total(org, deal, stages, pipeline, make_quote):
    """The amount is set before the pipeline's move: a deal the acceptance wins is won at the price agreed."""
    catalog.pipeline_quote_settings_save(actor=org.admin, pipeline=pipeline, accepted_stage=stages["赢单"])
    deal_services.opportunity_update(opportunity=deal, data={"budget": "200000", "need": "CRM", "authority": "王总",
                                                             "expected_close_date": "2027-01-31"}, actor=org.owner)
    quote = make_quote(lines=(("10000", "30"),))
    services.quote_send(quote=quote, actor=org.owner)
    decision = services.quote_decide(quote=quote, accept=True, actor=None, name="周敏", phone="13912345678")
    deal.refresh_from_db()
    assert decision.refused == "" and deal.status == "won" and deal.amount == D("7000.00")


def test_the_customer_link_refuses_an_expired_or_answered_quote(org, make_quote):
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    with pytest.raises(ValidationFailed) as caught:
        services.quote_decide(quote=quote, accept=True, actor=None, name="", phone="123")
    assert set(caught.value.field_errors) == {"name", "phone"}
    version = quote.current_version
    version.valid_until = timezone.localdate() - timedelta(days=1)
    version.save(update_fields=["valid_until"])
    with pytest.raises(Conflict) as caught:
        services.quote_decide(quote=quote, accept=True, actor=None, name="周敏", phone="13912345678")
    assert caught.value.code == "quote_expired"
    services.quote_decide(quote=quote, accept=False, actor=org.owner, note="客户选了别家")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DECLINED
    with pytest.raises(Conflict) as caught:
        services.quote_decide(quote=quote, accept=True, actor=None, name="周敏", phone="13912345678")
    assert caught.value.code == "quote_answered"


def test_who_may_change_a_quote(org, deal, make_quote, finance, presales):
    quote = make_quote()
    for outsider in (org.teammate, org.outsider, org.other_manager, finance, presales):
        with pytest.raises(Forbidden):
            services.quote_update(quote=quote, actor=outsider, data={"notes": "x"})
    services.quote_update(quote=quote, actor=org.manager, data={"notes": "经理改"})
    participant_add(record=deal, user=presales, role=ParticipantRole.PRESALES, actor=org.owner)
    services.quote_update(quote=quote, actor=presales, data={"notes": "售前改"})
    services.quote_update(quote=quote, actor=org.admin, data={"notes": "管理员改"})
    with pytest.raises(Forbidden):
        services.quote_create(opportunity=deal, actor=org.teammate)


def test_a_lost_deal_takes_no_new_quote(org, deal, stages, make_quote):
    from closeloop.deals.models import LostReason

    deal_services.opportunity_move_stage(opportunity=deal, stage=stages["输单"], actor=org.owner,
                                         fields={"lost_reason": LostReason.objects.first().pk})
    deal.refresh_from_db()
    with pytest.raises(Conflict):
        services.quote_create(opportunity=deal, actor=org.owner)


def test_a_presales_collaborator_sends_and_answers_a_quote_and_the_pipeline_moves_the_deal(
        org, deal, stages, pipeline, presales, make_quote):
    """Pre-sales may build and send quotes but not edit the deal; the move the pipeline makes on sending used to
    run with their rights and roll the send back with Forbidden. The system moves the deal on the owner's behalf."""
    catalog.pipeline_quote_settings_save(actor=org.admin, pipeline=pipeline, sent_stage=stages["方案报价"],
                                         accepted_stage=stages["商务谈判"])
    deal_services.opportunity_update(opportunity=deal, data={"budget": "200000", "need": "CRM", "authority": "王总",
                                                             "expected_close_date": "2027-01-31"}, actor=org.owner)
    participant_add(record=deal, user=presales, role=ParticipantRole.PRESALES, actor=org.owner)
    assert may(presales, deal, Act.QUOTE) and not may(presales, deal, Act.EDIT)
    quote = make_quote(actor=presales)
    services.quote_send(quote=quote, actor=presales)
    quote.refresh_from_db()
    deal.refresh_from_db()
    assert quote.status == QuoteStatus.SENT and deal.stage == stages["方案报价"]
    moved = AuditEntry.objects.for_object(deal).get(action="opportunity.stage")
    assert moved.actor is None and moved.channel == "system" and quote.number in moved.note and "presales" in moved.note
    assert Notification.objects.filter(recipient=org.owner, kind="opportunity.stage", message__contains="方案报价").exists()
    decision = services.quote_decide(quote=quote, accept=True, actor=presales, name="周敏")
    deal.refresh_from_db()
    assert decision.refused == "" and deal.stage == stages["商务谈判"]
    with pytest.raises(Forbidden):
        deal_services.opportunity_move_stage(opportunity=deal, stage=stages["赢单"], actor=presales)
