"""One timeline for every record: audit entries, activities, comments and what apps register, newest first;
related records' history as their apps say, and only what the viewer may see."""

from datetime import timedelta

from django.utils import timezone

from closeloop.deals.services.conversion import lead_convert
from closeloop.deals.services.opportunities import opportunity_move_stage
from closeloop.followup.services import activity_log, comment_add, participant_add
from closeloop.followup.timeline import record_timeline
from closeloop.leads.models import Lead


def _kinds(entries):
    return [entry.kind for entry in entries]


def test_a_deals_timeline_merges_its_own_rows_its_stages_and_its_leads_history(org, qualified_lead, stages):
    lead = qualified_lead()
    activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "首次电话"})
    deal = lead_convert(lead=Lead.objects.get(pk=lead.pk), actor=org.owner).opportunity
    activity_log(actor=org.owner, record=deal, data={"kind": "visit", "content": "上门演示"})
    comment_add(record=deal, actor=org.owner, body="客户很满意")
    opportunity_move_stage(opportunity=deal, stage=stages["需求确认"], actor=org.owner, fields={"need": "CRM"})
    entries = record_timeline(deal, viewer=org.owner)
    assert {"audit", "activity", "comment", "stage"} <= set(_kinds(entries))
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    on_lead = next(e for e in entries if e.kind == "activity" and e.item.content == "首次电话")
    on_deal = next(e for e in entries if e.kind == "activity" and e.item.content == "上门演示")
    assert on_lead.about == lead and on_deal.about is None
    assert any(e.kind == "audit" and e.item.action == "lead.create" for e in entries)
    assert sum(e.kind == "stage" for e in entries) == 2
    assert all(e.template.endswith(".html") for e in entries)


def test_a_customers_timeline_shows_its_deals_follow_ups_only_to_those_who_see_the_deal(org, make_customer, make_deal):
    customer = make_customer()
    mine = make_deal(customer=customer)
    theirs = make_deal(customer=customer, owner=org.outsider)
    activity_log(actor=org.owner, record=mine, data={"kind": "call", "content": "我的商机"})
    activity_log(actor=org.outsider, record=theirs, data={"kind": "call", "content": "别人的商机"})
    activity_log(actor=org.owner, record=customer, data={"kind": "visit", "content": "拜访客户"})
    seen = {e.item.content for e in record_timeline(customer, viewer=org.owner) if e.kind == "activity"}
    assert seen == {"我的商机", "拜访客户"}
    seen = {e.item.content for e in record_timeline(customer, viewer=org.admin) if e.kind == "activity"}
    assert seen == {"我的商机", "别人的商机", "拜访客户"}


def test_a_merged_leads_trail_shows_on_its_survivor(org, make_lead):
    from closeloop.leads.services.merge import lead_merge

    a = make_lead(company_name="甲乙科技有限公司", mobile="13900000001")
    b = make_lead(company_name="甲乙科技有限公司", contact_name="李四", mobile="13900000002")
    comment_add(record=b, actor=org.owner, body="b 的评论")
    lead_merge(survivor=a, others=[b], field_choices={}, actor=org.owner)
    entries = record_timeline(a, viewer=org.owner)
    assert any(e.kind == "audit" and e.item.target_id == str(b.pk) and e.item.action == "lead.create" for e in entries)
    # Rows of the family moved with the merge: the comment is the survivor's own now.
    assert any(e.kind == "comment" and e.item.body == "b 的评论" and e.about is None for e in entries)


def test_the_timeline_is_cut_at_its_limit_newest_first(org, make_customer):
    customer = make_customer()
    participant_add(record=customer, user=org.teammate, role="finance", actor=org.owner)
    for n in range(5):
        activity_log(actor=org.owner, record=customer, data={
            "kind": "note", "content": f"第{n}条", "next_follow_up_at": timezone.now() + timedelta(days=1)})
    entries = record_timeline(customer, viewer=org.owner, limit=3)
    assert len(entries) == 3 and entries[0].at >= entries[-1].at
