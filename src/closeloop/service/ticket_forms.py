"""The public ticket form (工单表单) of a customer: staff share a link whose key is the only credential, and whoever
has it raises tickets for that customer without a login, through the same `ticket_create` as the staff's page and
the API (channel "form"): assigned by the service team's strategy, with the SLA of its priority, and with up to three
attachments checked by their bytes and size."""

from django.db import transaction
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record
from closeloop.core.customfields.registry import clean_custom
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import Channel, User
from closeloop.deals.models import Customer

from . import access
from .actions import ServiceAction
from .models import Ticket, TicketCategory, TicketFormLink, TicketPriority, new_public_key
from .tickets import TICKET_TARGET, ticket_create

PUBLIC_CATEGORIES = [TicketCategory.FAULT, TicketCategory.QUESTION, TicketCategory.REQUEST, TicketCategory.COMPLAINT,
                     TicketCategory.OTHER]


def ticket_form_share(*, customer: Customer, actor: User, renew: bool = False,
                      channel: str = Channel.WEB) -> TicketFormLink:
    """The customer's public ticket form, made on first use; `renew` gives it a new key, so the old link stops
    working (it went where it should not). Audited on the customer."""
    if not access.can_share_ticket_form(actor, customer):
        raise Forbidden(_("Only the customer's people or an administrator share its ticket form."))
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        link = TicketFormLink.objects.filter(customer=customer).first()
        if link is None:
            link = TicketFormLink.objects.create(customer=customer, created_by=actor)
            change = [None, _("shared")]
        elif renew:
            link.key = new_public_key()
            link.save(update_fields=["key"])
            change = [_("shared"), _("a new link; the old one no longer works")]
        else:
            return link
        audit_record(actor=actor, channel=channel, action=ServiceAction.TICKET_FORM_SHARE, target=customer,
                     changes={"ticket_form": change})
    return link


def ticket_submit_public(*, link: TicketFormLink, data: dict, attachments=(), guard=None) -> Ticket:
    """A ticket from the customer's public form: who they are (a name and a phone or an email), what is wrong, and
    files. The customer does not choose the priority (every one would be urgent): P3 until the service team triages."""
    errors: dict[str, list[str]] = {}
    name = str(data.get("requester_name") or "").strip()
    if not name:
        errors["requester_name"] = [_("Tell us who you are.")]
    if not (str(data.get("requester_phone") or "").strip() or str(data.get("requester_email") or "").strip()):
        errors["requester_phone"] = [_("Leave a phone number or an email address so we can answer you.")]
    if data.get("category") not in PUBLIC_CATEGORIES:
        errors["category"] = [_("Choose a category.")]
    # The public form's custom fields, checked with the rest so the customer learns of every problem at once.
    _values, custom_errors = clean_custom(TICKET_TARGET, data.get("custom") or {}, channel=Channel.FORM, actor=None,
                                          creating=True)
    errors.update(custom_errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    fields = {key: data.get(key) for key in ("title", "description", "category", "requester_name", "requester_phone",
                                             "requester_email")}
    return ticket_create(customer=link.customer, actor=None, channel=Channel.FORM, attachments=attachments,
                         guard=guard, data={**fields, "priority": TicketPriority.P3, "custom": data.get("custom") or {}})
