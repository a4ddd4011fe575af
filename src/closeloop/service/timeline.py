"""What deliveries and tickets add to the one timeline: a contract's and a customer's timelines show their deliveries'
trail (started, milestones, acceptance), each entry marked with its delivery; a ticket's shows the files sent with its
replies and notes, where they were sent."""

from closeloop.followup.timeline import AUDIT, TimelineEntry

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


ATTACHMENT_TEMPLATE = "service/timeline/_attachment.html"


def ticket_attachment_entries(ticket, viewer):
    """Files added with a reply or a note (the ticket's page is read only by who may see the ticket, and each
    download checks it again)."""
    from .models import TicketAttachment

    return [TimelineEntry(attachment.created_at, "attachment", attachment, ATTACHMENT_TEMPLATE)
            for attachment in TicketAttachment.objects.filter(ticket=ticket, added_later=True).select_related("uploaded_by")]
