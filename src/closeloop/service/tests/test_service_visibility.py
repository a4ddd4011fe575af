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


def test_the_customers_owner_and_their_managers_line_see_its_tickets_and_nobody_else_on_the_sales_side(
        org, make_customer, make_ticket, service_team):
    """Through the ticket's customer (`CustomerQuerySet.seen_through`, asked as EXISTS on the customer): its owner
    and the owner's manager see a ticket the service team works; a teammate, the other team and its manager do not,
    on the open list as through `visible_to`, until the customer changes hands."""
    from closeloop.service.selectors import ticket_list

    customer = make_customer(owner=org.owner)
    ticket = make_ticket(customer=customer)
    assert ticket.owner in (service_team.first, service_team.second)
    for user, sees in ((org.owner, True), (org.manager, True), (org.teammate, False), (org.outsider, False),
                       (org.other_manager, False)):
        assert Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists() is sees, user
        assert (ticket in ticket_list(user=user, status="open")) is sees, user
    Customer.objects.filter(pk=customer.pk).update(owner=org.outsider)
    for user, sees in ((org.owner, False), (org.manager, False), (org.outsider, True), (org.other_manager, True)):
        assert (ticket in ticket_list(user=user, status="open")) is sees, user
