"""Delivery reads. Every one starts from `Delivery.objects.visible_to(user)`; a delivery outside it is a 404."""

from django.db.models import Count, Q
from django.http import Http404

from .models import Delivery, DeliveryStatus, Milestone


def delivery_list(*, user, status: str = "", q: str = "", customer: int | None = None):
    deliveries = Delivery.objects.visible_to(user)
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    if q:
        deliveries = deliveries.filter(Q(title__icontains=q) | Q(customer__name__icontains=q)
                                       | Q(contract__number__icontains=q))
    if customer is not None:
        deliveries = deliveries.filter(customer_id=customer)
    return (deliveries.select_related("customer", "owner", "contract")
            .annotate(milestone_count=Count("milestones", distinct=True),
                      milestones_done=Count("milestones", filter=Q(milestones__done_date__isnull=False), distinct=True))
            .order_by("-created_at", "-id"))


def get_delivery_for_user(user, pk) -> Delivery:
    delivery = (Delivery.objects.visible_to(user)
                .select_related("customer", "owner", "contract", "contract__owner", "recorded_by", "created_by")
                .filter(pk=pk).first())
    if delivery is None:
        raise Http404
    return delivery


def get_milestone_for_user(user, delivery_pk, pk) -> Milestone:
    delivery = get_delivery_for_user(user, delivery_pk)
    milestone = delivery.milestones.select_related("owner").filter(pk=pk).first()
    if milestone is None:
        raise Http404
    milestone.delivery = delivery
    return milestone


def ticket_list(*, user, status: str = "", q: str = "", customer: int | None = None, mine: bool = False,
                priority: str = ""):
    from .models import OPEN_TICKET_STATUSES, Ticket, TicketPriority, TicketStatus

    tickets = Ticket.objects.visible_to(user)
    if status == "open":
        tickets = tickets.filter(status__in=OPEN_TICKET_STATUSES)
    elif status in TicketStatus.values:
        tickets = tickets.filter(status=status)
    if priority in TicketPriority.values:
        tickets = tickets.filter(priority=priority)
    if q:
        tickets = tickets.filter(Q(number__icontains=q) | Q(title__icontains=q) | Q(customer__name__icontains=q))
    if customer is not None:
        tickets = tickets.filter(customer_id=customer)
    if mine:
        tickets = tickets.filter(owner=user)
    return tickets.select_related("customer", "owner").order_by("-created_at", "-id")


def get_ticket_for_user(user, pk):
    from .models import Ticket

    ticket = (Ticket.objects.visible_to(user)
              .select_related("customer", "customer__owner", "owner", "contact", "contract", "product", "created_by",
                              "sla_policy")
              .filter(pk=pk).first())
    if ticket is None:
        raise Http404
    return ticket
