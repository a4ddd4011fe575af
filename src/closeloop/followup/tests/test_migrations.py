"""The migrations that moved the follow-up family's rows keep every row, its id and its links.

The database is taken back to the state before the follow-up app existed, rows are written through the
historical models of that state (as the previous code wrote them), and the migrations run forward.
Runs on SQLite and PostgreSQL alike (`make test` with DATABASE_URL).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("core", "0003_grouprobot_notificationdelivery_and_more"), ("leads", "0012_merge_marketers_company_keys"),
          ("deals", "0006_stage_history_keeps_stage_name"), ("followup", None)]

# Transactional: SQLite cannot change its schema inside the test's transaction. pytest-django runs these
# tests after the others, so the flush that ends it takes no data migration's rows from under them.
pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1]]).apps


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _old_world(apps):
    """What the previous code wrote: a lead with a task, a customer, a deal, activities on each, reminders."""
    User = apps.get_model("core", "User")
    now = timezone.now()
    rep = User.objects.create(username="mig-rep", role="sales_rep")
    boss = User.objects.create(username="mig-boss", role="sales_manager")
    source = apps.get_model("leads", "LeadSource").objects.create(name="迁移来源")
    lead = apps.get_model("leads", "Lead").objects.create(company_name="迁移线索有限公司", source=source, owner=rep,
                                                          created_via="web")
    customer = apps.get_model("deals", "Customer").objects.create(name="迁移客户有限公司", owner=rep)
    pipeline = apps.get_model("deals", "Pipeline").objects.create(name="迁移管道")
    stage = apps.get_model("deals", "Stage").objects.create(pipeline=pipeline, name="初步接洽", position=1)
    deal = apps.get_model("deals", "Opportunity").objects.create(customer=customer, pipeline=pipeline, stage=stage,
                                                                 owner=rep, name="迁移商机", lead=lead)
    Activity = apps.get_model("deals", "Activity")
    on_lead = Activity.objects.create(lead=lead, kind="touch", content="再次提交", payload={"mobile": "13800000000"},
                                      channel="form")
    on_customer = Activity.objects.create(customer=customer, kind="call", content="回访", actor=rep,
                                          next_follow_up_at=now + timedelta(days=2))
    on_deal = Activity.objects.create(customer=customer, opportunity=deal, kind="visit", content="拜访", actor=rep,
                                      feedback="满意", next_plan="报价")
    task = apps.get_model("leads", "LeadTask").objects.create(lead=lead, owner=rep, kind="first_contact", due_at=now)
    Reminder = apps.get_model("deals", "Reminder")
    reminders = [
        Reminder.objects.create(record_key=key, kind=kind, due_at=now, level=level, recipient=recipient,
                                message=f"{key} {kind} {level}", url="/x/")
        for key, kind, level, recipient in [
            (f"lead:{lead.pk}", "first_contact", 0, rep), (f"lead:{lead.pk}", "first_contact", 1, boss),
            (f"customer:{customer.pk}", "pool_warning", 0, rep), (f"customer:{customer.pk}", "pool_returned", 0, boss),
            (f"opportunity:{deal.pk}", "stale", 0, rep),
        ]
    ]
    lead_pool = apps.get_model("leads", "PoolEvent").objects.create(lead=lead, user=rep, kind="warning",
                                                                   reason="no_follow_up", deadline=now)
    apps.get_model("leads", "LeadCollaborator").objects.create(lead=lead, user=boss, role="协助跟进")
    apps.get_model("leads", "LeadCollaborator").objects.create(lead=lead, user=rep, role="presales")
    apps.get_model("deals", "CustomerCollaborator").objects.create(customer=customer, user=boss, role="finance")
    apps.get_model("deals", "OpportunityCollaborator").objects.create(opportunity=deal, user=boss, role="product")
    handoff = apps.get_model("deals", "Handoff").objects.create(
        opportunity=deal, title="技术评估", details="对接金蝶", role="presales", requested_by=rep, assignee=boss,
        due_at=now, status="accepted", response_note="周五前", responded_at=now)
    comment = apps.get_model("deals", "Comment").objects.create(opportunity=deal, author=rep, body="@mig-boss 请看")
    preferences = apps.get_model("core", "NotificationPreference").objects
    preferences.create(user=boss, kind="opportunity.collaborator", in_app=False, email=True)
    return {"lead": lead, "customer": customer, "deal": deal, "rep": rep, "boss": boss, "task": task, "pool": lead_pool,
            "reminders": reminders, "handoff": handoff, "comment": comment,
            "activities": {"lead": on_lead, "customer": on_customer, "deal": on_deal}}


def test_follow_up_rows_keep_their_records_ids_and_values():
    old = _old_world(_migrate(BEFORE))
    apps = _migrate(_latest())
    ContentType = apps.get_model("contenttypes", "ContentType")

    def record_type(app_label, model):
        return ContentType.objects.get(app_label=app_label, model=model).pk

    lead, customer, deal = record_type("leads", "lead"), record_type("deals", "customer"), record_type("deals", "opportunity")
    Activity = apps.get_model("followup", "Activity")
    assert Activity.objects.count() == 3
    moved = {a.pk: a for a in Activity.objects.all()}
    expected = {"lead": (lead, old["lead"].pk), "customer": (customer, old["customer"].pk), "deal": (deal, old["deal"].pk)}
    for name, activity in old["activities"].items():
        row = moved[activity.pk]
        assert (row.record_type_id, row.record_id) == expected[name]
        assert (row.kind, row.content, row.feedback, row.next_plan, row.actor_id, row.channel, row.payload) == (
            activity.kind, activity.content, activity.feedback, activity.next_plan, activity.actor_id, activity.channel,
            activity.payload)
        assert row.created_at == activity.created_at and row.next_follow_up_at == activity.next_follow_up_at

    task = apps.get_model("followup", "Task").objects.get()
    assert (task.pk, task.record_type_id, task.record_id, task.owner_id, task.kind, task.status, task.due_at) == (
        old["task"].pk, lead, old["lead"].pk, old["rep"].pk, "first_contact", "open", old["task"].due_at)

    Reminder = apps.get_model("followup", "Reminder")
    pool_kinds = ("pool_warning", "pool_returned")
    assert Reminder.objects.count() == len([r for r in old["reminders"] if r.kind not in pool_kinds])
    for reminder in (r for r in old["reminders"] if r.kind not in pool_kinds):
        row = Reminder.objects.get(pk=reminder.pk)
        kind, _sep, pk = reminder.record_key.partition(":")
        assert (row.record_type_id, row.record_id) == ({"lead": lead, "customer": customer, "opportunity": deal}[kind], int(pk))
        assert (row.kind, row.level, row.recipient_id, row.message, row.due_at, row.sent_at) == (
            reminder.kind, reminder.level, reminder.recipient_id, reminder.message, reminder.due_at, reminder.sent_at)

    # New rows continue after the copied ids (PostgreSQL's sequences were moved on).
    new = Activity.objects.create(record_type_id=lead, record_id=old["lead"].pk, kind="note", content="迁移之后")
    assert new.pk > max(moved)

    # Collaborators of the three kinds are one table of participants; a free-text role is kept as the note.
    participants = {(p.record_type_id, p.record_id, p.user_id): (p.role, p.note)
                    for p in apps.get_model("followup", "Participant").objects.all()}
    rep, boss = old["rep"].pk, old["boss"].pk
    assert participants == {
        (lead, old["lead"].pk, boss): ("other", "协助跟进"), (lead, old["lead"].pk, rep): ("presales", ""),
        (customer, old["customer"].pk, boss): ("finance", ""), (deal, old["deal"].pk, boss): ("product", ""),
    }
    handoff = apps.get_model("followup", "Handoff").objects.get()
    before = old["handoff"]
    assert (handoff.pk, handoff.record_type_id, handoff.record_id, handoff.title, handoff.details, handoff.role,
            handoff.requested_by_id, handoff.assignee_id, handoff.status, handoff.response_note, handoff.due_at,
            handoff.responded_at) == (before.pk, deal, old["deal"].pk, "技术评估", "对接金蝶", "presales", rep, boss,
                                      "accepted", "周五前", before.due_at, before.responded_at)
    comment = apps.get_model("followup", "Comment").objects.get()
    assert (comment.pk, comment.record_type_id, comment.record_id, comment.author_id, comment.body) == (
        old["comment"].pk, deal, old["deal"].pk, rep, "@mig-boss 请看")
    # Both pools keep one ledger: the lead's rows point at it by type and id, the customer pool's reminders
    # became its warning (deadline: the due time) and its return (the reclaim cool-down reads it).
    PoolEvent = apps.get_model("leads", "PoolEvent")
    row = PoolEvent.objects.get(pk=old["pool"].pk)
    assert (row.record_type_id, row.record_id, row.user_id, row.kind, row.deadline) == (
        lead, old["lead"].pk, rep, "warning", old["pool"].deadline)
    on_customer = {(e.kind, e.user_id, e.deadline, e.created_at)
                   for e in PoolEvent.objects.filter(record_type_id=customer, record_id=old["customer"].pk)}
    warned, returned = (r for r in old["reminders"] if r.kind in pool_kinds)
    assert on_customer == {("warning", rep, warned.due_at, warned.sent_at), ("return", boss, None, returned.sent_at)}
    # The collaborator notification kind is the family's now; the person's choice came along.
    choice = apps.get_model("core", "NotificationPreference").objects.get(user_id=boss)
    assert (choice.kind, choice.in_app, choice.email) == ("participant.added", False, True)
