"""The demo has a delivery under way with a milestone past its date and one the customer accepted."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from closeloop.contracts.models import Contract, ContractStatus
from closeloop.core.models import Notification, User
from closeloop.followup.models import Task
from closeloop.service.models import (
    AcceptedVia,
    Delivery,
    DeliveryStatus,
    Milestone,
    Renewal,
    ServiceSettings,
    Survey,
    Ticket,
    TicketFormLink,
    TicketStatus,
)
from closeloop.service.renewals import renewal_sweep

pytestmark = pytest.mark.django_db


def test_the_demo_has_deliveries(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    out = StringIO()
    call_command("demo", leads=60, stdout=out)
    assert "3 deliveries" in out.getvalue()
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.IN_PROGRESS, DeliveryStatus.ACCEPTED}
    assert Milestone.objects.filter(done_date__isnull=True, planned_date__lt=timezone.localdate()).exists()
    by_link = Delivery.objects.get(status=DeliveryStatus.ACCEPTED, accepted_via=AcceptedVia.LINK)
    assert by_link.contract.delivered_at is not None
    # The contract the contracts demo paid in full completed when this app recorded its signed acceptance form,
    # on the day the contracts demo named, through the delivery's own service (no acceptance beside it).
    by_form = Delivery.objects.get(status=DeliveryStatus.ACCEPTED, accepted_via=AcceptedVia.FORM)
    assert by_form.contract.status == ContractStatus.COMPLETED and by_form.acceptance_form
    assert timezone.localdate(by_form.contract.delivered_at) < timezone.localdate() - timedelta(days=15)
    assert not Contract.objects.filter(delivered_at__isnull=False, delivery__isnull=True).exists()
    assert "5 tickets" in out.getvalue() and "1 public ticket form" in out.getvalue()
    assert Ticket.objects.filter(channel="form", customer__ticket_form__in=TicketFormLink.objects.all()).count() == 1
    assert set(Ticket.objects.values_list("status", flat=True)) == set(TicketStatus.values)
    breached = Ticket.objects.get(first_response_breached_at__isnull=False)
    assert breached.priority == "P1" and Notification.objects.filter(kind="ticket.sla_breached").exists()
    # The agents take the tickets in turn; the service manager takes none and hears of the agent's breach.
    agents = set(User.objects.filter(username__in=["service2", "service3"]))
    manager = User.objects.get(username="service1")
    assert ServiceSettings.objects.get(pk=1).service_manager == manager
    assert {ticket.owner for ticket in Ticket.objects.select_related("owner")} == agents
    assert breached.owner in agents
    assert Notification.objects.filter(kind="ticket.sla_breached", recipient=manager, url__contains=f"/{breached.pk}/").exists()
    assert {delivery.owner for delivery in Delivery.objects.select_related("owner")} <= agents
    # The closed ticket's survey was answered low (a call-back each for its account owner and the service manager),
    # the accepted delivery's high, the resolved ticket's waits.
    assert "4 surveys (2 answered)" in out.getvalue()
    low = Survey.objects.get(ticket__status=TicketStatus.CLOSED)
    assert low.low_score and Survey.objects.filter(answered_at__isnull=True, ticket__status=TicketStatus.RESOLVED).exists()
    assert Task.objects.for_record(low.ticket).filter(kind="survey_low_score").count() == 2
    # The contract in performance ends within the renewal window: the worker's first renewal sweep opens its deal.
    assert not Renewal.objects.exists()
    assert renewal_sweep() == 1
    renewal = Renewal.objects.get()
    assert renewal.contract.status == "active" and renewal.opportunity.owner == renewal.contract.customer.owner
