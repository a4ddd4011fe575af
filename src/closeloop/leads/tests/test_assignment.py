from datetime import timedelta

import pytest
from django.utils import timezone

from closeloop.core.errors import ValidationFailed
from closeloop.core.models import AuditEntry, Channel, Notification, Role, SummaryItem, User
from closeloop.followup.models import Task, TaskStatus
from closeloop.leads.assignment import FIRST_CONTACT
from closeloop.leads.models import Lead, LeadStatus
from closeloop.leads.quality import AssignmentStrategy
from closeloop.leads.rule_services import (
    assignment_rule_move,
    assignment_rule_save,
    quality_settings_update,
)
from closeloop.leads.services.editing import lead_assign
from closeloop.leads.services.intake import lead_submit

GOOD = {"budget": "600000", "title": "总经理", "need": "要上线CRM", "timeline": "1个月内"}


def submit(org, n=0, **fields):
    data = {"company_name": f"杭州博雅{n}科技有限公司", "contact_name": "李娜", "mobile": f"1390000{n:04d}",
            "source": "展会", "region": "浙江", **GOOD, **fields}
    return lead_submit(data=data, channel=Channel.FORM, actor=None).lead


def rule(org, *, members=(), strategy=AssignmentStrategy.ROUND_ROBIN, **conditions):
    return assignment_rule_save(
        data={"name": conditions.pop("name", "rule"), "strategy": strategy, "position": conditions.pop("position", 0),
              "active": True, **conditions},
        members=list(members), actor=org.admin,
    )


def test_round_robin_takes_turns_and_skips_people_on_leave_or_inactive(org):
    third = User.objects.create_user("third", role=Role.SALES_REP, department=org.team_a)
    rule(org, members=[(org.owner, 1), (org.teammate, 1), (third, 1)])
    owners = [submit(org, n).owner for n in range(4)]
    assert owners == [org.owner, org.teammate, third, org.owner]
    org.teammate.on_leave = True
    org.teammate.save()
    third.is_active = False
    third.save()
    assert [submit(org, n).owner for n in range(4, 6)] == [org.owner, org.owner]


def test_a_team_rule_assigns_among_its_reps(org):
    rule(org, department=org.team_b)
    lead = submit(org)
    assert lead.owner == org.outsider and lead.status == LeadStatus.ASSIGNED and not lead.in_pool


def test_least_open_load_goes_to_the_least_busy(org, make_lead):
    make_lead(owner=org.owner, need="x")
    make_lead(owner=org.owner, need="x")
    make_lead(owner=org.teammate, need="x")
    rule(org, members=[(org.owner, 1), (org.teammate, 1), (org.outsider, 1)], strategy=AssignmentStrategy.LEAST_LOAD)
    assert submit(org, 1).owner == org.outsider
    assert submit(org, 2).owner == org.teammate  # teammate 1, outsider 1 → first in order of equals
    assert submit(org, 3).owner == org.outsider


def test_weighted_shares_follow_the_weights(org):
    rule(org, members=[(org.owner, 3), (org.teammate, 1)], strategy=AssignmentStrategy.WEIGHTED)
    owners = [submit(org, n).owner for n in range(8)]
    assert owners.count(org.owner) == 6 and owners.count(org.teammate) == 2


def test_conditions_pick_the_rule_in_order(org):
    rule(org, name="华南", position=0, regions="广东，福建", members=[(org.outsider, 1)])
    rule(org, name="A级展会", position=1, grades="A", sources=[org.sources["展会"]], members=[(org.teammate, 1)])
    rule(org, name="产品", position=2, products="CRM", members=[(org.owner, 1)])
    assert submit(org, 1, region="广东").owner == org.outsider
    assert submit(org, 2).owner == org.teammate
    assert submit(org, 3, source="官网", product_interest="CRM标准版").owner == org.owner
    lost = submit(org, 4, source="官网", product_interest="ERP")
    assert lost.owner is None and lost.in_pool and lost.status == LeadStatus.NEW


def test_a_rule_without_available_people_falls_through_to_the_pool(org):
    org.owner.on_leave = True
    org.owner.save()
    rule(org, members=[(org.owner, 1)])
    lead = submit(org)
    assert lead.owner is None and lead.in_pool and lead.pooled_at is not None


def test_no_rule_sends_the_lead_to_the_pool(org):
    lead = submit(org)
    assert lead.in_pool and lead.owner is None and not Task.objects.exists()


def test_assignment_creates_a_first_contact_task_and_notifies(org, django_capture_on_commit_callbacks):
    quality_settings_update(data={"first_contact_hours": 24}, actor=org.admin)
    rule(org, members=[(org.owner, 1)])
    with django_capture_on_commit_callbacks(execute=True):
        lead = submit(org)
    task = Task.objects.get(lead=lead)
    assert task.owner == org.owner and task.kind == FIRST_CONTACT and task.status == TaskStatus.OPEN
    assert timedelta(hours=23) < task.due_at - timezone.now() <= timedelta(hours=24)
    assert Lead.objects.get(pk=lead.pk).next_follow_up_at == task.due_at
    # Today lists the new lead; the notice waits for the morning summary instead of adding an unread item.
    assert not Notification.objects.filter(recipient=org.owner, kind="lead.assigned").exists()
    assert SummaryItem.objects.filter(recipient=org.owner, kind="lead.assigned").count() == 1


def test_manager_reassigns_with_the_reason_audited_and_the_task_follows(org):
    rule(org, members=[(org.owner, 1)])
    lead = submit(org)
    lead_assign(lead=lead, owner=org.teammate, actor=org.manager, reason="owner is travelling")
    entry = AuditEntry.objects.for_object(lead).get(action="lead.assign")
    assert entry.note == "owner is travelling" and entry.changes["owner"] == [org.owner.pk, org.teammate.pk]
    task = Task.objects.get(lead=lead)
    assert task.owner == org.teammate


def test_a_rule_needs_people_and_sane_grades(org):
    with pytest.raises(ValidationFailed):
        rule(org)
    with pytest.raises(ValidationFailed):
        rule(org, members=[(org.owner, 1)], grades="AZ")
    with pytest.raises(ValidationFailed):
        rule(org, department=org.team_a, strategy=AssignmentStrategy.WEIGHTED)


def test_rules_can_be_reordered(org):
    first = rule(org, name="first", position=0, members=[(org.owner, 1)])
    second = rule(org, name="second", position=1, members=[(org.teammate, 1)])
    assignment_rule_move(rule=second, up=True, actor=org.admin)
    assert submit(org).owner == org.teammate
    first.refresh_from_db()
    assert first.position == 1


def test_a_batch_gives_least_load_as_a_scan_would_with_loads_growing_from_elsewhere(org):
    """The batch's least-load heap picks what `_fewest` over the current loads picks, the first of equals in
    the rule's order, also when another rule (or "assign to me") gave the same people leads in between."""
    import random
    from types import SimpleNamespace

    from closeloop.leads.assignment import AssignmentBatch, _fewest

    rng = random.Random(16)
    people = [SimpleNamespace(pk=pk) for pk in range(1, 13)]
    batch = AssignmentBatch()
    batch.loads = {p.pk: rng.choice([0, 0, 1, 3, 7]) for p in people}  # as counted from the table
    rules = [SimpleNamespace(pk=1), SimpleNamespace(pk=2)]
    members = {1: people[:8], 2: people[4:]}  # people 5-8 are in both rules
    for _n in range(400):
        if rng.random() < 0.2:
            batch.given[rng.choice(people).pk] += rng.choice([1, 2])  # given outside the heaps
            continue
        rule = rng.choice(rules)
        eligible = members[rule.pk]
        expected = _fewest(eligible, {p.pk: batch.loads[p.pk] + batch.given[p.pk] for p in eligible})
        chosen = batch.least_loaded(rule, eligible)
        assert chosen is expected
        batch.given[chosen.pk] += 1
