from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.translation import pgettext

from ..access import can_start
from ..models import Delivery

register = template.Library()


@register.simple_tag
def delivery_of(contract, user) -> dict:
    """The contract page's delivery panel: its delivery if the user may see it, and whether they may start one."""
    delivery = Delivery.objects.visible_to(user).filter(contract=contract).select_related("owner").first()
    exists = delivery is not None or Delivery.objects.filter(contract=contract).exists()
    from closeloop.deals.models import Opportunity

    from ..models import Renewal

    renewal = Renewal.objects.filter(contract=contract).select_related("opportunity").first()
    if renewal is not None and not Opportunity.objects.visible_to(user).filter(pk=renewal.opportunity_id).exists():
        renewal = None
    return {"delivery": delivery, "renewal": renewal, "may_start": not exists and contract.status in ("signed", "active")
            and can_start(user, contract)}


@register.simple_tag
def deliveries_of(customer, user) -> list:
    """The customer's deliveries `user` may see, newest first (at most 10)."""
    return list(Delivery.objects.visible_to(user).filter(customer=customer).select_related("owner", "contract")
                .order_by("-created_at", "-id")[:10])


@register.simple_tag
def tickets_of(customer, user) -> list:
    """The customer's tickets `user` may see, newest first (at most 10)."""
    from ..models import Ticket

    return list(Ticket.objects.visible_to(user).filter(customer=customer).order_by("-created_at", "-id")[:10])


@register.simple_tag
def satisfaction_of(customer, user) -> dict:
    """The customer page's CSAT and NPS (see selectors.customer_satisfaction)."""
    from ..selectors import customer_satisfaction

    return customer_satisfaction(customer, user)


@register.simple_tag
def ticket_form_of(customer, user) -> dict:
    """The customer's public ticket form for its page (which only who sees the customer reads): its link, and
    whether `user` may share it or give it a new key."""
    from closeloop.core.notify import absolute_url

    from ..access import can_share_ticket_form
    from ..models import TicketFormLink

    link = TicketFormLink.objects.filter(customer=customer).first()
    return {"url": absolute_url(link.get_absolute_url()) if link else "",
            "may_share": can_share_ticket_form(user, customer)}


@register.simple_tag
def renewal_of_deal(opportunity, user):
    """The contract a renewal deal renews, or None; None too when `user` may not see that contract (a colleague
    working on the renewal deal is not shown the old contract's number and dates)."""
    from ..selectors import renewals_for_user

    return renewals_for_user(user).filter(opportunity=opportunity).select_related("contract", "quote").first()


@register.simple_tag
def tier_of_customer(customer, user) -> dict:
    """A customer's service tier, the tiers to choose from and whether `user` may set it (administrators and the
    service manager)."""
    from ..access import can_manage_sla
    from ..models import CustomerTier
    from ..sla import tier_of

    return {"tier": CustomerTier(tier_of(customer)), "tiers": CustomerTier.choices,
            "may_set": can_manage_sla(user)}


@register.simple_tag
def sla_timer(timer) -> str:
    """A clock as the ticket page and each row of the ticket list show it (`sla.Timer`). Written here rather than as
    a template include: the list has two per row, and 50 includes cost more than the rest of the page's rows."""
    if timer.state == "none":
        return format_html('<small class="muted">—</small>')
    title = str(timer.label)
    if timer.due_at:
        title += " · " + dateformat.format(timezone.localtime(timer.due_at), "Y-m-d H:i")
    if timer.state == "met":
        shown = format_html("✓ {}", pgettext("sla", "met"))
    elif timer.state == "paused":
        shown = format_html("{} {}", pgettext("sla", "paused"), timer.text)
    elif timer.state == "breached":
        shown = format_html('<mark class="overdue">{}{}</mark>', pgettext("sla", "breached"),
                            f" {timer.text}" if timer.text else "")
    else:
        shown = timer.text
    return format_html('<span class="sla sla-{}" title="{}">{}</span>', timer.state, title, shown)


@register.simple_tag
def record_link(record, user, text=None):
    """The record's name, a link to its page only for who may open it: after-sales service works a customer's
    tickets and deliveries without seeing the customer's or the contract's page, and a link would lead them to a
    404."""
    if record is None:
        return ""
    if type(record).objects.visible_to(user).filter(pk=record.pk).exists():
        return format_html('<a href="{}">{}</a>', record.get_absolute_url(), text or record)
    return format_html("{}", text or record)
