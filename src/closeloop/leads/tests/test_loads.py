"""Open leads per owner: the counters least-load assignment reads follow every way a lead opens, changes
hands or closes, and the recount fixes (and says) what drifted."""

import logging

from django.db import connection
from django.utils import timezone

from closeloop.core.models import Channel
from closeloop.leads import loads
from closeloop.leads.assignment import OPEN_STATUSES
from closeloop.leads.models import Lead, LeadStatus, OwnerLoad
from closeloop.leads.pool import _return_one, lead_claim
from closeloop.leads.quality import AssignmentStrategy
from closeloop.leads.services.editing import lead_assign, lead_disqualify
from closeloop.leads.tests.test_assignment import rule, submit


def counted() -> dict[int, int]:
    counts: dict[int, int] = {}
    for owner_id in Lead.objects.filter(owner__isnull=False, status__in=OPEN_STATUSES).values_list("owner", flat=True):
        counts[owner_id] = counts.get(owner_id, 0) + 1
    return counts


def kept() -> dict[int, int]:
    return {row.owner_id: row.open_leads for row in OwnerLoad.objects.all() if row.open_leads}


def test_the_counters_follow_every_write_that_opens_moves_or_closes_a_lead(org, make_lead):
    first, second, third = (make_lead(owner=org.owner) for _ in range(3))
    make_lead(owner=org.teammate)
    assert kept() == counted() == {org.owner.pk: 3, org.teammate.pk: 1}
    lead_assign(lead=first, owner=org.teammate, actor=org.admin)  # a service
    Lead.objects.filter(pk=second.pk).update(status=LeadStatus.CONTACTING)  # open → open: no change
    assert kept() == counted() == {org.owner.pk: 2, org.teammate.pk: 2}
    lead_disqualify(lead=second, reason="no_need", note="不需要", actor=org.owner)
    Lead.objects.filter(pk=third.pk).update(owner=org.outsider)  # a bulk update, no service
    assert kept() == counted() == {org.teammate.pk: 2, org.outsider.pk: 1}
    assert _return_one(Lead.objects.get(pk=third.pk), reason="no_follow_up", now=timezone.now())  # the pool sweep
    assert kept() == counted() == {org.teammate.pk: 2}
    lead_claim(lead=Lead.objects.get(pk=third.pk), actor=org.owner)
    Lead.objects.filter(pk=first.pk).delete()
    Lead.objects.filter(pk=second.pk).update(status=LeadStatus.NEW)  # reopened by hand
    assert kept() == counted() == {org.teammate.pk: 1, org.owner.pk: 2}
    assert loads.recount() == []


def test_least_load_reads_the_counters_and_the_recount_fixes_drift_and_logs_it(org, make_lead, caplog):
    make_lead(owner=org.owner)
    rule(org, members=[(org.owner, 1), (org.teammate, 1)], strategy=AssignmentStrategy.LEAST_LOAD)
    # Drift (as after a restore that missed the counters): the owner's counter says 5, the table says 1.
    OwnerLoad.objects.filter(owner_id=org.owner.pk).update(open_leads=5)
    assert submit(org, 1).owner == org.teammate
    assert submit(org, 2).owner == org.teammate  # 5 against 1 on the counters; a count would say 1 against 1
    with caplog.at_level(logging.WARNING, logger="closeloop.leads.loads"):
        drift = loads.recount()
    assert drift == [(org.owner.pk, 5, 1)]
    assert f"user {org.owner.pk} had 5, counted 1" in caplog.text
    assert kept() == counted() == {org.owner.pk: 1, org.teammate.pk: 2}
    assert submit(org, 3).owner == org.owner
    assert loads.recount() == []


def test_a_lost_trigger_is_put_back_and_the_counters_recounted(org, make_lead):
    make_lead(owner=org.owner)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER leads_ownerload_insert")
        else:
            cursor.execute("DROP TRIGGER leads_ownerload_insert_delete ON leads_lead")
    make_lead(owner=org.owner, channel=Channel.API)  # assigned after intake: the update trigger counts it
    Lead.objects.create(company_name="无人知晓", owner=org.owner, status=LeadStatus.ASSIGNED,
                        source=org.sources["官网"])  # inserted while the trigger is missing: not counted
    assert kept() == {org.owner.pk: 2} != counted()
    assert loads.ensure_triggers() is True
    assert kept() == counted() == {org.owner.pk: 3}
    assert loads.ensure_triggers() is False
    make_lead(owner=org.owner)
    assert kept() == counted()
