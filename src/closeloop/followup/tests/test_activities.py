"""Logging follow-ups on any record: the record's next step and last activity move, its app adds its own
change (a lead starts contacting), the tasks a follow-up completes close, and it is audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from closeloop.core.errors import ValidationFailed
from closeloop.core.models import AuditEntry
from closeloop.followup.models import Activity, Task, TaskStatus
from closeloop.followup.services import activity_log
from closeloop.leads.models import LeadStatus


def test_activity_updates_the_next_follow_up(org, make_deal, make_lead):
    deal = make_deal()
    later = timezone.now() + timedelta(days=3)
    activity = activity_log(actor=org.owner, record=deal, data={
        "kind": "call", "content": "聊了报价", "feedback": "觉得贵", "next_plan": "发方案", "next_follow_up_at": later})
    deal.refresh_from_db()
    assert deal.next_follow_up_at == later and deal.last_activity_at == activity.created_at
    assert activity.record == deal and activity.record.customer == deal.customer
    lead = make_lead()
    activity_log(actor=org.owner, record=lead, data={"kind": "wechat", "content": "加了微信"})
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTING and lead.last_activity_at is not None


def test_activity_validation_says_what_to_fix(org, make_deal):
    with pytest.raises(ValidationFailed) as exc:
        activity_log(actor=org.owner, record=make_deal(), data={
            "kind": "fax", "content": "", "next_follow_up_at": timezone.now() - timedelta(hours=1)})
    assert set(exc.value.field_errors) == {"kind", "content", "next_follow_up_at"}
    assert not Activity.objects.exists()


def test_an_activity_on_a_customer_belongs_to_the_customer_and_is_audited_there(org, make_customer):
    customer = make_customer()
    later = timezone.now() + timedelta(days=1)
    activity = activity_log(actor=org.owner, record=customer, data={"kind": "visit", "content": "上门", "next_follow_up_at": later})
    assert activity.record == customer
    assert list(Activity.objects.for_record(customer)) == [activity]
    customer.refresh_from_db()
    assert customer.next_follow_up_at == later
    entry = AuditEntry.objects.for_object(customer).get(action="activity.log")
    assert entry.actor == org.owner and entry.note == "Visit: 上门" and "next_follow_up_at" in entry.changes


def test_a_follow_up_closes_the_first_contact_task_and_keeps_other_records_tasks(org, make_lead):
    lead, other = make_lead(), make_lead()
    activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "打通了"})
    assert Task.objects.get(lead=lead).status == TaskStatus.DONE
    assert Task.objects.get(lead=lead).closed_at is not None
    assert Task.objects.get(lead=other).status == TaskStatus.OPEN


def test_only_hand_logged_kinds_are_accepted(org, make_lead):
    with pytest.raises(ValidationFailed) as exc:
        activity_log(actor=org.owner, record=make_lead(), data={"kind": "touch", "content": "x"})
    assert set(exc.value.field_errors) == {"kind"}
    assert not Activity.objects.exists()


def test_logging_without_a_date_keeps_the_next_follow_up_still_ahead(org, make_lead):
    lead = make_lead()
    ahead = timezone.now() + timedelta(days=2)
    lead.__class__.objects.filter(pk=lead.pk).update(next_follow_up_at=ahead)
    activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "打过电话，没人接"})
    lead.refresh_from_db()
    assert lead.next_follow_up_at == ahead


def test_logging_without_a_date_on_an_overdue_lead_proposes_the_next_one(org, make_lead):
    from closeloop.followup.services import follow_up_time

    lead = make_lead()
    lead.__class__.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(hours=1))
    activity = activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "打过电话，没人接"})
    lead.refresh_from_db()
    # Never emptied: the lead settings' interval (3 days by default) gives the next one, in the morning.
    assert lead.next_follow_up_at == follow_up_time(3) == activity.next_follow_up_at
    assert timezone.localtime(lead.next_follow_up_at).hour == 10


def test_a_deal_takes_its_pipelines_interval(org, make_deal, pipeline):
    from closeloop.followup.services import follow_up_time

    pipeline.follow_up_days = 5
    pipeline.save()
    deal = make_deal()
    deal.__class__.objects.filter(pk=deal.pk).update(next_follow_up_at=None)
    activity_log(actor=org.owner, record=deal, data={"kind": "visit", "content": "上门拜访"})
    deal.refresh_from_db()
    assert deal.next_follow_up_at == follow_up_time(5)


def test_a_closed_lead_needs_no_next_step(org, make_lead):
    from closeloop.leads.services.editing import lead_disqualify

    lead = make_lead()
    lead = lead_disqualify(lead=lead, reason="no_need", actor=org.owner)
    activity_log(actor=org.owner, record=lead, data={"kind": "note", "content": "客户明确不需要"})
    lead.refresh_from_db()
    assert lead.next_follow_up_at is None
