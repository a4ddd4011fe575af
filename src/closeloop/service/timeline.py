"""What deliveries add to the one timeline: a contract's and a customer's timelines show their deliveries' trail
(started, milestones, acceptance), each entry marked with its delivery."""

from closeloop.followup.timeline import AUDIT

from .models import Delivery


def _visible(deliveries, viewer):
    if viewer is not None:
        deliveries = deliveries.visible_to(viewer)
    return list(deliveries.only("id", "title"))


def contract_deliveries(contract, viewer):
    yield _visible(Delivery.objects.filter(contract=contract), viewer), {AUDIT}


def customer_deliveries(customer, viewer):
    yield _visible(Delivery.objects.filter(customer=customer), viewer), {AUDIT}


def customer_tickets(customer, viewer):
    from .models import Ticket

    tickets = Ticket.objects.filter(customer=customer)
    if viewer is not None:
        tickets = tickets.visible_to(viewer)
    yield list(tickets.only("id", "number", "title")), {AUDIT}
