"""Customers, conversion, stage moves and gates, transfers, through the services."""

from decimal import Decimal

import pytest

from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry, Notification
from closeloop.deals.models import Customer, LostReason, Opportunity, OpportunityStatus, StageHistory
from closeloop.deals.pool import customer_claim, customer_release
from closeloop.deals.services.conversion import lead_convert
from closeloop.deals.services.customers import contact_create, customer_create, customer_transfer
from closeloop.deals.services.opportunities import (
    opportunity_create,
    opportunity_move_stage,
    opportunity_transfer,
    opportunity_update,
)
from closeloop.deals.services.pipelines import pipeline_save, stage_save
from closeloop.followup.services import activity_log
from closeloop.leads.models import Lead, LeadStatus

VALID_CODE = "91350100M000100Y43"


def test_it_refuses_a_duplicate_customer_naming_the_owner(org, make_customer):
    make_customer(owner=org.owner, name="上海华信科技有限公司")
    with pytest.raises(Conflict) as exc:
        customer_create(data={"name": " 上海华信科技有限公司 "}, actor=org.teammate)
    assert "owner" in exc.value.message and exc.value.code == "duplicate_customer"


def test_it_refuses_a_duplicate_credit_code(org, make_customer):
    make_customer(credit_code=VALID_CODE)
    with pytest.raises(Conflict):
        customer_create(data={"name": "另一个名字有限公司", "credit_code": VALID_CODE.lower()}, actor=org.teammate)


def test_it_rejects_a_bad_credit_code(org):
    with pytest.raises(ValidationFailed) as exc:
        customer_create(data={"name": "某公司", "credit_code": "91350100M000100Y44"}, actor=org.owner)
    assert "credit_code" in exc.value.field_errors


def test_it_normalizes_contacts_and_refuses_a_duplicate(org, make_customer):
    customer = make_customer()
    contact = contact_create(customer=customer, data={"name": "王伟", "mobile": "139 1234 0001"}, actor=org.owner)
    assert contact.mobile_key == "+8613912340001" and contact.is_primary
    with pytest.raises(Conflict):
        contact_create(customer=customer, data={"name": "王伟2", "mobile": "+86 13912340001"}, actor=org.owner)


def test_it_converts_a_qualified_lead_in_one_step(org, qualified_lead, stages):
    lead = qualified_lead()
    result = lead_convert(lead=lead, actor=org.owner, amount=Decimal("180000"))
    lead.refresh_from_db()
    deal = result.opportunity
    assert lead.status == LeadStatus.CONVERTED
    assert result.customer_created and result.customer.owner == org.owner
    assert deal.lead == lead and deal.customer == result.customer and deal.stage == stages["初步接洽"]
    assert deal.budget == Decimal("200000.00") and deal.amount == Decimal("180000.00")
    assert list(deal.contacts.all()) == [result.contact]
    assert StageHistory.objects.filter(opportunity=deal, exited_at__isnull=True).count() == 1
    assert AuditEntry.objects.for_object(lead).filter(action="lead.convert").exists()


def test_it_reuses_an_existing_customer_when_converting(org, qualified_lead, make_customer):
    customer = make_customer(owner=org.owner, name="上海转化测试科技有限公司")
    result = lead_convert(lead=qualified_lead(company_name="上海转化测试科技有限公司"), actor=org.owner)
    assert result.customer == customer and not result.customer_created
    assert Customer.objects.filter(company_key=customer.company_key).count() == 1


def test_it_refuses_to_convert_into_another_reps_customer(org, qualified_lead, make_customer):
    make_customer(owner=org.outsider, name="北京撞单有限公司")
    lead = qualified_lead(company_name="北京撞单有限公司")
    with pytest.raises(Conflict) as exc:
        lead_convert(lead=lead, actor=org.owner)
    assert "outsider" in exc.value.message
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED and not Opportunity.objects.exists()


def test_it_claims_a_pooled_customer_when_converting(org, qualified_lead, make_customer):
    customer = make_customer(owner=org.owner, name="苏州公海有限公司")
    customer_release(customer=customer, actor=org.owner, reason="no budget this year")
    result = lead_convert(lead=qualified_lead(owner=org.teammate, company_name="苏州公海有限公司"), actor=org.teammate)
    assert result.customer == customer and result.customer.owner == org.teammate


def test_it_converts_only_qualified_leads_and_only_once(org, make_lead, qualified_lead):
    with pytest.raises(ValidationFailed):
        lead_convert(lead=make_lead(), actor=org.owner)
    lead = qualified_lead()
    lead_convert(lead=lead, actor=org.owner)
    with pytest.raises(Conflict):
        lead_convert(lead=lead, actor=org.owner)
    assert Opportunity.objects.count() == 1


def test_the_budget_gate_blocks_quote_until_filled(org, make_deal, stages):
    deal = make_deal(need="需要CRM")
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(opportunity=deal, stage=stages["方案报价"], actor=org.owner)
    assert exc.value.code == "stage_gate"
    assert set(exc.value.details["missing"]) == {"budget", "amount"}
    deal.refresh_from_db()
    assert deal.stage == stages["初步接洽"]
    deal = opportunity_move_stage(opportunity=deal, stage=stages["方案报价"], actor=org.owner,
                                           fields={"budget": "¥300,000", "amount": "250000"})
    assert deal.stage == stages["方案报价"] and deal.budget == Decimal("300000.00") and deal.probability == 50


def test_skipping_ahead_still_requires_earlier_gates(org, make_deal, stages):
    deal = make_deal()
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(opportunity=deal, stage=stages["商务谈判"], actor=org.owner)
    assert {"need", "budget", "amount", "authority", "expected_close_date"} == set(exc.value.details["missing"])


def test_a_failed_move_saves_none_of_the_fields(org, make_deal, stages):
    deal = make_deal()
    with pytest.raises(ValidationFailed):
        opportunity_move_stage(opportunity=deal, stage=stages["方案报价"], actor=org.owner,
                                        fields={"budget": "1000"})
    deal.refresh_from_db()
    assert deal.budget is None


def test_stage_history_records_entry_exit_and_actor(org, make_deal, stages, django_capture_on_commit_callbacks):
    deal = make_deal(need="x")
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_move_stage(opportunity=deal, stage=stages["需求确认"], actor=org.manager)
    history = list(StageHistory.objects.filter(opportunity=deal).order_by("entered_at", "id"))
    assert [h.stage.name for h in history] == ["初步接洽", "需求确认"]
    assert history[0].exited_at is not None and history[0].exited_by == org.manager
    assert history[1].exited_at is None and history[1].entered_by == org.manager
    # The owner hears when someone else moves their deal.
    assert Notification.objects.filter(recipient=org.owner, kind="opportunity.stage").exists()


def test_winning_requires_the_won_gate_and_sets_the_date(org, make_deal, stages):
    deal = make_deal(need="x", budget="1", authority="张总", expected_close_date="2026-12-31")
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(opportunity=deal, stage=stages["赢单"], actor=org.owner)
    assert exc.value.details["missing"] == ["amount"]
    deal = opportunity_move_stage(opportunity=deal, stage=stages["赢单"], actor=org.owner, fields={"amount": "99"})
    assert deal.status == OpportunityStatus.WON and deal.won_at and deal.probability == 100


def test_losing_always_requires_a_reason(org, make_deal, stages):
    deal = make_deal()
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(opportunity=deal, stage=stages["输单"], actor=org.owner)
    assert exc.value.details["missing"] == ["lost_reason"]
    reason = LostReason.objects.get(name="价格过高")
    deal = opportunity_move_stage(opportunity=deal, stage=stages["输单"], actor=org.owner,
                                           fields={"lost_reason": reason.pk, "lost_note": "竞品便宜30%"})
    assert deal.status == OpportunityStatus.LOST and deal.lost_reason == reason and deal.lost_at


def test_reopening_a_lost_deal_clears_the_loss(org, make_deal, stages):
    deal = make_deal()
    deal = opportunity_move_stage(opportunity=deal, stage=stages["输单"], actor=org.owner,
                                           fields={"lost_reason": "其他"})
    deal = opportunity_move_stage(opportunity=deal, stage=stages["初步接洽"], actor=org.owner)
    assert deal.status == OpportunityStatus.OPEN and deal.lost_reason is None and deal.lost_at is None


def test_a_stage_of_another_pipeline_is_refused(org, make_deal):
    other = pipeline_save(actor=org.admin, data={"name": "续约"})
    stage = stage_save(actor=org.admin, pipeline=other, data={"name": "续约洽谈", "probability": 40})
    with pytest.raises(ValidationFailed):
        opportunity_move_stage(opportunity=make_deal(), stage=stage, actor=org.owner)


def test_update_cannot_empty_a_gated_field(org, make_deal, stages):
    deal = make_deal(need="x")
    opportunity_move_stage(opportunity=deal, stage=stages["需求确认"], actor=org.owner)
    with pytest.raises(ValidationFailed):
        opportunity_update(opportunity=deal, data={"need": ""}, actor=org.owner)


def test_admin_configures_a_gate(org, make_deal, stages):
    stage = stages["需求确认"]
    stage_save(actor=org.admin, pipeline=stage.pipeline, stage=stage, data={
        "name": stage.name, "position": stage.position, "probability": 25, "required_fields": ["need", "contacts"],
        "stale_after_days": 7})
    deal = make_deal(need="x")
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(opportunity=deal, stage=stage, actor=org.owner)
    assert exc.value.details["missing"] == ["contacts"]
    with pytest.raises(Forbidden):
        stage_save(actor=org.manager, pipeline=stage.pipeline, stage=stage, data={"name": "x"})


def test_a_stage_put_at_a_taken_position_goes_before_the_stage_there(org, stages, pipeline):
    from closeloop.core.models import AuditEntry

    assert stages["赢单"].position == 4
    stage_save(actor=org.admin, pipeline=pipeline, data={"name": "合同审批", "position": 4, "probability": 90})
    order = list(pipeline.stages.order_by("position", "id").values_list("name", flat=True))
    assert order == ["初步接洽", "需求确认", "方案报价", "商务谈判", "合同审批", "赢单", "输单"]
    assert AuditEntry.objects.for_object(stages["赢单"]).filter(action="stage.update").exists()
    # Moving a stage up makes room the same way; the stages before the new place stay where they are.
    stage = pipeline.stages.get(name="合同审批")
    stage_save(actor=org.admin, pipeline=pipeline, stage=stage, data={"name": "合同审批", "position": 1})
    order = list(pipeline.stages.order_by("position", "id").values_list("name", flat=True))
    assert order == ["初步接洽", "合同审批", "需求确认", "方案报价", "商务谈判", "赢单", "输单"]


def test_transfer_by_manager_removes_the_old_owners_access(org, make_deal):
    deal = make_deal()
    with pytest.raises(Forbidden):
        opportunity_transfer(opportunity=deal, new_owner=org.teammate, actor=org.owner, reason="x")
    with pytest.raises(Forbidden):
        opportunity_transfer(opportunity=deal, new_owner=org.teammate, actor=org.other_manager, reason="x")
    with pytest.raises(ValidationFailed):
        opportunity_transfer(opportunity=deal, new_owner=org.teammate, actor=org.manager, reason=" ")
    opportunity_transfer(opportunity=deal, new_owner=org.teammate, actor=org.manager, reason="owner leaves")
    assert not Opportunity.objects.visible_to(org.owner).filter(pk=deal.pk).exists()
    assert Opportunity.objects.visible_to(org.teammate).filter(pk=deal.pk).exists()
    entry = AuditEntry.objects.for_object(deal).get(action="opportunity.transfer")
    assert entry.note == "owner leaves" and entry.actor == org.manager


def test_transfer_can_keep_the_old_owner_as_collaborator(org, make_deal):
    deal = make_deal()
    opportunity_transfer(opportunity=deal, new_owner=org.teammate, actor=org.manager, reason="split",
                                  keep_as_collaborator=True)
    assert Opportunity.objects.visible_to(org.owner).filter(pk=deal.pk).exists()


def test_customer_transfer_and_pool(org, make_customer):
    customer = make_customer()
    customer_transfer(customer=customer, new_owner=org.teammate, actor=org.manager, reason="rebalance")
    assert not Customer.objects.visible_to(org.owner).filter(pk=customer.pk).exists()
    with pytest.raises(Forbidden):
        customer_release(customer=customer, actor=org.outsider, reason="x")
    customer_release(customer=customer, actor=org.teammate, reason="not reachable")
    customer.refresh_from_db()
    assert customer.owner is None and customer.pooled_at
    customer_claim(customer=customer, actor=org.outsider)
    with pytest.raises(Conflict):
        customer_claim(customer=customer, actor=org.owner)


def test_opportunity_timeline_includes_the_leads_history(org, qualified_lead):
    from closeloop.followup.timeline import record_timeline

    lead = qualified_lead()
    activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "首次电话"})
    deal = lead_convert(lead=Lead.objects.get(pk=lead.pk), actor=org.owner).opportunity
    timeline = record_timeline(deal)
    assert any(i.kind == "activity" and i.item.content == "首次电话" for i in timeline)
    assert any(i.kind == "audit" and i.item.action == "lead.create" for i in timeline)
    assert any(i.kind == "stage" for i in timeline)


def test_money_totals_are_exact(org, make_deal):
    from closeloop.deals.selectors import money_totals

    for amount in ("0.10", "0.20", "1234567890.33"):
        make_deal(amount=amount)
    totals = money_totals(Opportunity.objects.all())
    assert totals["amount"] == Decimal("1234567890.63")
    assert totals["weighted"] == Decimal("123456789.06")  # 10% in the first stage


def test_without_a_pipeline_creating_a_deal_says_what_to_do(org, make_customer):
    from closeloop.deals.defaults import install_default_pipeline
    from closeloop.deals.models import Pipeline

    Pipeline.objects.update(active=False)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_create(customer=make_customer(), data={"name": "x"}, actor=org.owner)
    assert exc.value.code == "no_pipeline"
    # Installing defaults is a no-op while pipelines exist (even inactive ones).
    install_default_pipeline()
    assert Pipeline.objects.count() == 1


def test_a_win_keeps_its_reason_until_the_deal_is_reopened(org, make_deal, stages):
    deal = make_deal(need="x", budget="1000", amount="1000", authority="王总", expected_close_date="2026-12-31")
    deal = opportunity_move_stage(opportunity=deal, stage=stages["赢单"], actor=org.owner,
                                  fields={"win_reason": "客户关系好", "win_note": "老客户介绍"})
    assert deal.status == OpportunityStatus.WON and deal.win_reason.name == "客户关系好"
    deal = opportunity_move_stage(opportunity=deal, stage=stages["商务谈判"], actor=org.owner)
    assert deal.win_reason is None and deal.win_note == ""
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(opportunity=deal, stage=stages["赢单"], actor=org.owner, fields={"win_reason": "不存在"})
    assert "win_reason" in exc.value.field_errors


def test_a_converted_lead_hands_its_next_step_to_the_deal(org, qualified_lead):
    from datetime import timedelta

    from django.utils import timezone

    lead = qualified_lead()
    ahead = timezone.now() + timedelta(days=4)
    activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "确认了预算",
                                                     "next_plan": "发送方案和报价", "next_follow_up_at": ahead})
    deal = lead_convert(lead=lead, actor=org.owner).opportunity
    assert deal.next_follow_up_at == ahead and deal.next_step == "发送方案和报价"


def test_a_lead_with_an_overdue_follow_up_converts_to_a_deal_with_a_next_one(org, qualified_lead):
    from datetime import timedelta

    from django.utils import timezone

    from closeloop.followup.services import follow_up_time

    lead = qualified_lead()
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=2))
    deal = lead_convert(lead=lead, actor=org.owner).opportunity
    assert deal.next_follow_up_at == follow_up_time(deal.pipeline.follow_up_days)
