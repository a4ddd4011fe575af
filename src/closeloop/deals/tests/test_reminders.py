"""The deals' part of the reminder sweep: deals whose follow-up is due, stale in their stage, without activity;
each notified once, however often or late the sweep runs; overdue escalates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from closeloop.core.models import Notification
from closeloop.deals.models import Opportunity
from closeloop.deals.reminders import NO_ACTIVITY, NO_ACTIVITY_DAYS, STALE
from closeloop.deals.services.opportunities import opportunity_move_stage
from closeloop.followup.models import Reminder
from closeloop.followup.reminders import ESCALATION_GRACE_HOURS, run_reminder_sweep
from closeloop.followup.services import activity_log
from closeloop.followup.tasks import reminder_sweep


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    def run(now=None):
        with django_capture_on_commit_callbacks(execute=True):
            return run_reminder_sweep(now=now)

    return run


def _notes(user, kind=None):
    notes = Notification.objects.filter(recipient=user)
    return notes.filter(kind=kind) if kind else notes


def test_follow_up_due_notifies_once_even_when_run_twice_and_late(org, make_deal, sweep):
    deal = make_deal()
    now = timezone.now()
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=now - timedelta(minutes=1))
    assert sweep(now) >= 1
    assert _notes(org.owner, "reminder.follow_up").count() == 1
    assert sweep(now) == 0
    # Late: the worker was down for hours; still one reminder for that due time, plus now the escalation.
    later = now + timedelta(hours=ESCALATION_GRACE_HOURS + 1)
    sweep(later)
    sweep(later)
    assert _notes(org.owner, "reminder.follow_up").count() == 1
    assert _notes(org.manager, "reminder.escalation").count() == 1


def test_a_new_follow_up_time_is_a_new_reminder(org, make_deal, sweep):
    deal = make_deal()
    now = timezone.now()
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=now - timedelta(minutes=1))
    sweep(now)
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=now + timedelta(hours=2))
    assert sweep(now + timedelta(hours=1)) == 0
    sweep(now + timedelta(hours=3))
    assert _notes(org.owner, "reminder.follow_up").count() == 2


def test_logging_a_follow_up_stops_reminders(org, make_deal, sweep):
    deal = make_deal()
    activity_log(actor=org.owner, record=deal, data={
        "kind": "call", "content": "x", "next_follow_up_at": timezone.now() + timedelta(days=2)})
    sweep(timezone.now())
    assert not _notes(org.owner).filter(kind__startswith="reminder").exists()


def test_stale_in_stage_and_no_activity(org, make_deal, stages, sweep):
    deal = make_deal()
    days = stages["初步接洽"].stale_after_days
    Opportunity.objects.filter(pk=deal.pk).update(
        stage_entered_at=timezone.now() - timedelta(days=days + 1),
        created_at=timezone.now() - timedelta(days=NO_ACTIVITY_DAYS + 1),
    )
    sweep()
    sweep()
    kinds = list(Reminder.objects.for_record(deal).filter(level=0).values_list("kind", flat=True))
    assert sorted(kinds) == sorted([STALE, NO_ACTIVITY])
    assert _notes(org.owner, "reminder.stale").count() == 1


def test_closed_deals_are_not_reminded(org, make_deal, stages, sweep):
    deal = make_deal()
    opportunity_move_stage(opportunity=deal, stage=stages["输单"], actor=org.owner, fields={"lost_reason": "其他"})
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=timezone.now() - timedelta(hours=1),
                                                  created_at=timezone.now() - timedelta(days=60))
    assert sweep() == 0


def test_escalation_appears_on_the_managers_today_page(client, org, make_deal, sweep):
    deal = make_deal()
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=timezone.now() - timedelta(days=2))
    sweep()
    client.force_login(org.manager)
    body = client.get("/").content.decode()
    assert "Escalation" in body and deal.name in body


def test_the_task_runs_the_sweep(org, make_deal, django_capture_on_commit_callbacks):
    deal = make_deal()
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert reminder_sweep.call() >= 1
    assert _notes(org.owner, "reminder.follow_up").count() == 1
