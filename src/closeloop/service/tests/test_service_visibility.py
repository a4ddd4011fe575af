"""After-sales service works company-wide by design (DESIGN.md's roles: "service tickets"): every service colleague
sees every ticket, delivery and survey, whoever sells to the customer, and nothing more of the sales side (the
customers' and deals' pages stay their people's). Stated here once, for each kind of record."""

import pytest

from closeloop.deals.models import Customer, Opportunity
from closeloop.service import tickets
from closeloop.service.models import Delivery, Survey, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def test_service_sees_every_ticket_delivery_and_survey_and_not_the_sales_side(org, make_customer, make_ticket,
                                                                              make_delivery, service_team, finance):
    theirs = make_customer(owner=org.outsider)
    ticket = make_ticket(customer=theirs, actor=org.outsider)
    tickets.ticket_move(ticket=ticket, status=TicketStatus.RESOLVED, actor=ticket.owner)
    delivery = make_delivery(owner=org.owner)  # run by a rep, for the owner's customer
    for user in (service_team.first, service_team.second, service_team.manager):
        assert Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists(), user
        assert Delivery.objects.visible_to(user).filter(pk=delivery.pk).exists(), user
        assert Survey.objects.visible_to(user).filter(ticket=ticket).exists(), user
        assert not Customer.objects.visible_to(user).filter(pk__in=[theirs.pk, delivery.customer_id]).exists(), user
        assert not Opportunity.objects.visible_to(user).exists(), user
    # The sales side sees its own customers' service records only.
    assert not Ticket.objects.visible_to(org.owner).filter(pk=ticket.pk).exists()
    assert Ticket.objects.visible_to(org.outsider).filter(pk=ticket.pk).exists()
    assert not Delivery.objects.visible_to(org.outsider).filter(pk=delivery.pk).exists()
    assert not Ticket.objects.visible_to(finance).exists()
