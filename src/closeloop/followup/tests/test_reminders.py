"""The reminder engine: open tasks past due (a lead's first contact) notify once, however often or late the
sweep runs; a record reminded by its task gets no second notice; overdue escalates to the manager once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from closeloop.core.models import Notification
from closeloop.followup.models import Reminder, Task, TaskStatus
from closeloop.followup.reminders import ESCALATION_GRACE_HOURS, run_reminder_sweep
from closeloop.followup.services import activity_log
from closeloop.leads.models import Lead


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    def run(now=None):
        with django_capture_on_commit_callbacks(execute=True):
            return run_reminder_sweep(now=now)

    return run


def _notes(user, kind=None):
    notes = Notification.objects.filter(recipient=user)
    return notes.filter(kind=kind) if kind else notes


def test_first_contact_due_and_escalation(org, make_lead, sweep):
    lead = make_lead()
    # Assignment opened a first-contact task with its SLA; let it lapse.
    Task.objects.filter(lead=lead).update(due_at=timezone.now() - timedelta(minutes=1))
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(minutes=1))
    sweep()
    sweep()
    assert _notes(org.owner, "reminder.first_contact").count() == 1
    # The lead's next follow-up is the same moment: no second notice for it.
    assert not _notes(org.owner, "reminder.follow_up").exists()
    assert not _notes(org.manager, "reminder.escalation").exists()
    sweep(timezone.now() + timedelta(hours=ESCALATION_GRACE_HOURS))
    assert _notes(org.manager, "reminder.escalation").count() == 1
    assert Reminder.objects.for_record(lead).filter(level=1).count() == 1


def test_first_contact_met_by_a_logged_call(org, make_lead, sweep):
    lead = make_lead()
    Task.objects.filter(lead=lead).update(due_at=timezone.now() - timedelta(minutes=1))
    activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "打通了"})
    assert Task.objects.get(lead=lead).status == TaskStatus.DONE
    sweep()
    assert not _notes(org.owner, "reminder.first_contact").exists()


def test_the_sweep_is_registered_with_the_scheduler():
    from closeloop.core.schedule import SWEEPS

    assert "followup.reminders" in SWEEPS
