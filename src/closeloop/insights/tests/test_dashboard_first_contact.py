"""The first-contact SLA by rep (issue #12): each rep is judged on the first-contact tasks they held, whoever owns
the lead now, once per lead and period (their latest task due in it), on the leads the viewer sees. A lead handed on
after its first contact counts for the rep who made it and for the new owner on theirs, never as both met and missed
for one rep; the figures equal a plain count in Python and every figure's drill-down lists as many leads."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from closeloop.core.customfields import indexes, registry
from closeloop.core.customfields.services import custom_field_create
from closeloop.followup.models import Task, TaskStatus
from closeloop.followup.services import participant_add
from closeloop.insights import dashboard
from closeloop.leads.models import Lead
from closeloop.leads.services.editing import lead_assign

from .dashboards import follow_drill_downs, scope_for

pytestmark = pytest.mark.django_db

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
OUTCOMES = ("met", "late", "missed")


def first_contact(lead, **fields):
    """The lead's open first-contact task (the current owner's), with `fields` written on it."""
    task = Task.objects.for_record(lead).get(kind="first_contact", status=TaskStatus.OPEN)
    Task.objects.filter(pk=task.pk).update(**fields)
    return task


def made(lead, due, closed):
    return first_contact(lead, due_at=due, status=TaskStatus.DONE, closed_at=closed)


@pytest.fixture
def handed_on(org, make_lead):
    """Leads whose first contact changed hands within the period:
    - `to_teammate`: the owner made it in time, then it went to the teammate, who has not made theirs (missed);
    - `to_outsider`: the owner made it in time, then it went to the outsider (another team), theirs still to come;
    - `back`: the owner made it late, it went to the teammate and back: the teammate's open task passed to the owner,
      who missed it (the owner held two; the latest counts);
    - `teammates`: the teammate's own, made in time; `shared`: the outsider's, missed, the owner collaborates on it."""
    now = timezone.now()
    leads = {}
    leads["to_teammate"] = make_lead(owner=org.owner)
    made(leads["to_teammate"], now - 2 * HOUR, now - 3 * HOUR)
    lead_assign(lead=leads["to_teammate"], owner=org.teammate, actor=org.manager)
    first_contact(leads["to_teammate"], due_at=now - HOUR)

    leads["to_outsider"] = make_lead(owner=org.owner)
    made(leads["to_outsider"], now - 4 * HOUR, now - 5 * HOUR)
    lead_assign(lead=leads["to_outsider"], owner=org.outsider, actor=org.admin)
    first_contact(leads["to_outsider"], due_at=now + 2 * HOUR)

    leads["back"] = make_lead(owner=org.owner)
    made(leads["back"], now - 6 * HOUR, now - HOUR)
    lead_assign(lead=leads["back"], owner=org.teammate, actor=org.manager)
    lead_assign(lead=leads["back"], owner=org.owner, actor=org.manager)
    first_contact(leads["back"], due_at=now - HOUR / 2)

    leads["teammates"] = make_lead(owner=org.teammate)
    made(leads["teammates"], now - 2 * HOUR, now - 2 * HOUR)  # made at the due time: in time

    leads["shared"] = make_lead(owner=org.outsider, source="展会")
    first_contact(leads["shared"], due_at=now - 3 * HOUR)
    participant_add(record=leads["shared"], user=org.owner, role="sales", actor=org.admin)
    return leads


def figures(user, **kwargs):
    rows = dashboard.first_contact_sla(scope_for(user, **kwargs), timezone.now())["rows"]
    return {row["rep"]: (row["due"], row["met"], row["late"], row["missed"], row["pending"]) for row in rows}


def test_a_lead_handed_on_counts_for_each_rep_on_their_own_task_and_once(org, handed_on):
    # The owner still sees `back` and the shared lead, not the two handed on; the shared one is the outsider's figure.
    assert figures(org.owner) == {"owner": (1, 0, 0, 1, 0)}
    assert figures(org.teammate) == {"teammate": (2, 1, 0, 1, 0)}
    # The manager sees the owner's in-time first contact of the lead now the teammate's, not the one now in team B.
    assert figures(org.manager) == {"owner": (2, 1, 0, 1, 0), "teammate": (2, 1, 0, 1, 0)}
    assert figures(org.other_manager) == {"outsider": (2, 0, 0, 1, 1)}
    assert figures(org.outsider) == figures(org.other_manager)
    assert figures(org.admin) == {"outsider": (2, 0, 0, 1, 1), "owner": (3, 2, 0, 1, 0), "teammate": (2, 1, 0, 1, 0)}
    assert figures(org.manager, rep=org.owner) == {"owner": (2, 1, 0, 1, 0)}
    assert figures(org.admin, source=org.sources["展会"]) == {"outsider": (1, 0, 0, 1, 0)}


def sla_links(figures):
    for row in figures["sla"]["rows"]:
        assert row["pending"] >= 0, row
        for key in OUTCOMES:
            yield row[key], row["urls"][key]


def test_every_first_contact_figure_drills_down_to_as_many_leads(client, org, handed_on):
    viewers = ("owner", "teammate", "manager", "other_manager", "outsider", "admin")
    assert follow_drill_downs(client, org, sla_links, viewers=viewers) == 3 * (1 + 1 + 2 + 1 + 1 + 3)
    assert follow_drill_downs(client, org, sla_links, query="&source=" + str(org.sources["展会"].pk),
                              viewers=viewers) == 3 * 3
    # The owner's in-time list as the manager: the lead now the teammate's, not `back` (the owner's latest missed it).
    client.force_login(org.manager)
    owner_row = next(row for row in dashboard.first_contact_sla(scope_for(org.manager), timezone.now())["rows"]
                     if row["rep"] == "owner")
    assert [lead.pk for lead in client.get(owner_row["urls"]["met"]).context["page"]["rows"]] == [
        handed_on["to_teammate"].pk]
    assert "owner=" not in owner_row["urls"]["met"] and f"first_contact_by={org.owner.pk}" in owner_row["urls"]["met"]
    page = client.get(owner_row["urls"]["met"]).content.decode()
    assert f'type="hidden" name="first_contact_by" value="{org.owner.pk}"' in page


def plain_count(scope, now):
    """The figure counted the plain way: every first-contact task, then in Python the line's, due in the period,
    not cancelled, on a lead the viewer sees (from the source, with the custom values), each rep's latest per lead."""
    leads = indexes.apply_filters(Lead.objects.visible_to(scope.viewer), scope.lead_filters)
    if scope.source is not None:
        leads = leads.filter(source=scope.source)
    seen = set(leads.values_list("pk", flat=True))
    latest = {}
    for task in Task.objects.of_type(Lead).filter(kind="first_contact").order_by("due_at", "pk"):
        if (task.status != TaskStatus.CANCELLED and scope.since <= task.due_at < scope.until
                and (scope.owners is None or task.owner_id in scope.owners) and task.record_id in seen):
            latest[(task.owner_id, task.record_id)] = task
    counted = {}
    for (owner, _lead), task in latest.items():
        row = counted.setdefault(owner, {"owner_id": owner, "due": 0, "met": 0, "late": 0, "missed": 0})
        row["due"] += 1
        if task.status == TaskStatus.DONE:
            row["met" if task.closed_at <= task.due_at else "late"] += 1
        elif task.due_at < now:
            row["missed"] += 1
    return sorted(counted.values(), key=lambda row: row["owner_id"])


def test_the_figures_equal_a_plain_count_over_periods_viewers_and_filters(org, make_lead, handed_on):
    """Tasks due at the period's edges (its first local midnight, just before and at the midnight after its last day),
    made exactly at their due time, and open at `now` itself, over several periods, as each viewer, with and without a
    source, a rep and a lead field."""
    tier = custom_field_create(target="leads.Lead", key="tier", field_type="choice", actor=org.admin,
                               data={"label_zh": "客户等级", "label_en": "Tier", "options": "金\n银"})
    now = timezone.now()
    today = timezone.localdate()
    midnight = timezone.make_aware(datetime.combine(today, time.min))
    for owner, due, status, closed in [
        (org.owner, midnight, TaskStatus.DONE, midnight), (org.owner, midnight - timedelta(microseconds=1),
                                                           TaskStatus.OPEN, None),
        (org.teammate, midnight + DAY, TaskStatus.DONE, midnight + DAY + HOUR),
        (org.teammate, midnight + DAY - timedelta(microseconds=1), TaskStatus.OPEN, None),
        (org.outsider, now, TaskStatus.OPEN, None), (org.owner, midnight - DAY, TaskStatus.CANCELLED, midnight),
        (org.outsider, midnight - 3 * DAY, TaskStatus.DONE, midnight - 4 * DAY),
    ]:
        lead = make_lead(owner=owner, source="展会" if status == TaskStatus.OPEN else "官网")
        first_contact(lead, due_at=due, status=status, closed_at=closed)
    Lead.objects.filter(owner=org.teammate).update(custom={"tier": "金"})
    gold = indexes.filters_from_query(registry.visible_fields("leads.Lead", org.admin), {"cf.tier": "金"})
    assert gold and gold[0][0].pk == tier.pk
    periods = [(today - 10 * DAY, today + 10 * DAY), (today, today), (today - DAY, today - DAY),
               (today + DAY, today + DAY), (today - 3 * DAY, today - DAY), (today - 30 * DAY, today - 11 * DAY)]
    checked = 0
    for start, end in periods:
        for viewer in (org.admin, org.manager, org.other_manager, org.owner, org.outsider):
            for extra in ({}, {"source": org.sources["展会"]}, {"lead_filters": tuple(gold)},
                          *([{"rep": org.owner}] if viewer in (org.admin, org.manager) else [])):
                scope = dashboard.Scope(viewer=viewer, start=start, end=end, **extra)
                assert dashboard.first_contacts_by_owner(scope, now) == plain_count(scope, now), (
                    viewer, start, end, extra)
                checked += 1
    assert checked == len(periods) * (5 * 3 + 2)
    # The edges did count: today's first local midnight is in today, the microsecond before it is yesterday's.
    today_only = dashboard.first_contacts_by_owner(dashboard.Scope(viewer=org.admin, start=today, end=today), now)
    assert {row["owner_id"]: row["due"] for row in today_only}[org.owner.pk] >= 1


def test_the_owner_index_hint_is_left_out_when_the_database_lacks_that_index(org, handed_on, monkeypatch):
    """SQLite refuses a query naming a missing index: without it the probe reads each lead by id, same figures."""
    hinted = figures(org.manager)
    sql = str(dashboard.first_contact_tasks(scope_for(org.manager)).query)
    assert ("INDEXED BY" in sql) == (connection.vendor == "sqlite")
    monkeypatch.setitem(dashboard._lead_owner_indexes, (connection.alias, connection.settings_dict["NAME"]), None)
    assert "INDEXED BY" not in str(dashboard.first_contact_tasks(scope_for(org.manager)).query)
    assert figures(org.manager) == hinted == {"owner": (2, 1, 0, 1, 0), "teammate": (2, 1, 0, 1, 0)}
