"""Approvals on the approver's Today page, and reminded (then escalated) when they wait too long."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.core.models import Notification
from closeloop.followup.models import Reminder
from closeloop.followup.reminders import ESCALATION_GRACE_HOURS, run_reminder_sweep
from closeloop.quotes import approvals, services
from closeloop.quotes.models import ApprovalRequest, ApprovalStep

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(org, director, make_quote, discount_rule):
    discount_rule("15", levels=2)
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner, note="老客户")
    return quote


def today(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("followup:today"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("who", "sees"), [("owner", False), ("teammate", False), ("manager", True),
                                           ("director", False), ("outsider", False)])
def test_the_step_waiting_for_someone_is_on_their_today_page(client, org, director, submitted, who, sees):
    user = director if who == "director" else getattr(org, who)
    page = today(client, user)
    assert (submitted.number in page) == sees
    if sees:
        request = ApprovalRequest.objects.get()
        assert 'id="today-approvals"' in page and f"#approval-{request.pk}" in page
        assert "Discount off list price 20.00% above 15.00%" in page


def test_it_moves_to_the_next_approver_and_leaves_when_decided(client, org, director, submitted):
    request = ApprovalRequest.objects.get()
    approvals.approval_decide(request=request, actor=org.manager, approve=True)
    assert submitted.number not in today(client, org.manager)
    assert submitted.number in today(client, director)
    approvals.approval_decide(request=request, actor=director, approve=True)
    assert submitted.number not in today(client, director)


def test_a_step_for_any_administrator_is_on_the_administrators_page(client, org, make_quote, discount_rule):
    discount_rule("15", levels=1)
    quote = make_quote(lines=[("10000", "20")])
    # The manager submits their team's quote and has no manager: nobody is left, so any administrator decides.
    services.quote_submit(quote=quote, actor=org.manager)
    assert ApprovalStep.objects.get().approver is None
    assert quote.number in today(client, org.admin)
    assert quote.number not in today(client, org.manager)


def test_a_waiting_approval_is_reminded_once_then_escalated(org, director, submitted, settings):
    step = ApprovalStep.objects.get(approver=org.manager)
    run_reminder_sweep(now=timezone.now())
    assert not Reminder.objects.filter(kind="approval").exists()  # not due yet
    late = step.activated_at + timedelta(hours=settings.CLOSELOOP_APPROVAL_DUE_HOURS, minutes=1)
    run_reminder_sweep(now=late)
    run_reminder_sweep(now=late + timedelta(minutes=5))  # a second run sends nothing more
    notes = Notification.objects.filter(recipient=org.manager, kind="reminder.approval")
    assert notes.count() == 1 and submitted.number in notes.get().message
    assert not Notification.objects.filter(recipient=director, kind="reminder.escalation").exists()
    # Still waiting after the grace period: the approver's own manager hears of it, once.
    grace = timedelta(hours=ESCALATION_GRACE_HOURS)
    run_reminder_sweep(now=late + grace + timedelta(minutes=1))
    run_reminder_sweep(now=late + grace + timedelta(minutes=2))
    escalations = Notification.objects.filter(recipient=director, kind="reminder.escalation")
    assert escalations.count() == 1 and submitted.number in escalations.get().message


def test_a_decided_approval_is_not_reminded(org, director, submitted, settings):
    request = ApprovalRequest.objects.get()
    approvals.approval_decide(request=request, actor=org.manager, approve=True)
    approvals.approval_decide(request=request, actor=director, approve=True)
    run_reminder_sweep(now=timezone.now() + timedelta(hours=settings.CLOSELOOP_APPROVAL_DUE_HOURS + 1))
    assert not Notification.objects.filter(kind="reminder.approval").exists()
