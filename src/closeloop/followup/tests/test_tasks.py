"""Tasks with due dates on any record: opened for an owner, taken over by a new owner, opened in bulk for an
import, cancelled when the record goes back to the pool; kinds come from the apps."""

from datetime import timedelta

import pytest
from django.utils import timezone

from closeloop.followup.models import Task, TaskStatus
from closeloop.followup.registry import task_kinds
from closeloop.followup.services import task_open, tasks_cancel, tasks_open_bulk


def test_task_kinds_are_declared_by_the_apps():
    kinds = task_kinds()
    assert {"first_contact", "follow_up"} <= set(kinds)
    assert str(kinds["first_contact"].label) == "First contact" and kinds["first_contact"].done_by_activity


def test_an_unknown_kind_is_refused(org, make_customer):
    with pytest.raises(ValueError):
        task_open(record=make_customer(), owner=org.owner, kind="no_such_kind", due_at=timezone.now())


def test_a_new_owner_takes_over_the_open_task(org, make_customer):
    customer = make_customer()
    due = timezone.now() + timedelta(days=1)
    first = task_open(record=customer, owner=org.owner, kind="follow_up", due_at=due)
    again = task_open(record=customer, owner=org.teammate, kind="follow_up", due_at=due + timedelta(hours=1))
    assert again.pk == first.pk and Task.objects.for_record(customer).count() == 1
    again.refresh_from_db()
    assert again.owner == org.teammate and again.due_at == due + timedelta(hours=1)
    assert again.kind_label == "Follow-up" and again.record == customer
    second = task_open(record=customer, owner=org.owner, kind="follow_up", due_at=due, take_over=False)
    assert second.pk != first.pk


def test_bulk_opening_and_cancelling(org, make_customer):
    customers = [make_customer(), make_customer(owner=org.teammate)]
    tasks_open_bulk(records=customers, kind="follow_up", due_at=timezone.now())
    assert {(t.record_id, t.owner_id) for t in Task.objects.all()} == {(c.pk, c.owner_id) for c in customers}
    assert tasks_cancel(record=customers[0]) == 1
    assert Task.objects.for_record(customers[0]).get().status == TaskStatus.CANCELLED
    assert Task.objects.for_record(customers[1]).get().status == TaskStatus.OPEN


def test_deleting_a_record_deletes_its_follow_up_rows(org, make_customer):
    customer = make_customer()
    task_open(record=customer, owner=org.owner, kind="follow_up", due_at=timezone.now())
    customer.delete()
    assert not Task.objects.exists()
