"""The demo has a delivery under way with a milestone past its date and one the customer accepted."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from closeloop.core.models import Notification
from closeloop.service.models import Delivery, DeliveryStatus, Milestone, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def test_the_demo_has_deliveries(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    out = StringIO()
    call_command("demo", leads=60, stdout=out)
    assert "2 deliveries" in out.getvalue()
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.IN_PROGRESS, DeliveryStatus.ACCEPTED}
    assert Milestone.objects.filter(done_date__isnull=True, planned_date__lt=timezone.localdate()).exists()
    accepted = Delivery.objects.get(status=DeliveryStatus.ACCEPTED)
    assert accepted.contract.delivered_at is not None
    assert "5 tickets" in out.getvalue()
    assert set(Ticket.objects.values_list("status", flat=True)) == set(TicketStatus.values)
    breached = Ticket.objects.get(first_response_breached_at__isnull=False)
    assert breached.priority == "P1" and Notification.objects.filter(kind="ticket.sla_breached").exists()
