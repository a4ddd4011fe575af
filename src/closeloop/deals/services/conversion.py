"""A qualified lead becomes a customer, a contact and a deal, in one transaction."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import audited_create, audited_update
from closeloop.core.errors import Conflict, ValidationFailed, invalid
from closeloop.core.models import Channel, User
from closeloop.followup.models import Activity
from closeloop.followup.rights import Act, may, require
from closeloop.leads import normalize
from closeloop.leads.models import Lead, LeadStatus

from ..models import (
    Contact,
    Customer,
    Opportunity,
    Pipeline,
)
from ..pool import claim_pooled
from .customers import clean_contact, duplicate_customer_error, find_customer_duplicate, matching_contact
from .opportunities import opportunity_create
from .ownership import check_new_owner


@dataclass
class Conversion:
    customer: Customer
    contact: Contact
    opportunity: Opportunity
    customer_created: bool


CONVERTIBLE = {LeadStatus.QUALIFIED}


def lead_convert(*, lead: Lead, actor: User, channel: str = Channel.WEB, opportunity_name: str = "",
                 amount=None, pipeline: Pipeline | None = None) -> Conversion:
    """A qualified lead becomes customer + contact + deal in one transaction.

    An existing customer (same credit code or company name) is reused, never duplicated; if another rep
    owns it, the conversion is refused naming that owner, so two reps don't chase one company (撞单).
    Converting is changing the lead: it needs the right to edit it (Act.EDIT), not only to see it; the deal
    goes to an existing customer only when the deal's owner may edit that customer (owner's side, sales
    collaborator).
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
        require(actor, lead, Act.EDIT)
        if lead.status == LeadStatus.CONVERTED:
            raise Conflict(_("This lead was already converted."), code="already_converted")
        if lead.status not in CONVERTIBLE:
            raise ValidationFailed(
                _("Only a qualified lead can be converted. Mark it as qualified once budget, decision maker, "
                  "need and timeline are confirmed."), code="not_qualified")
        owner = lead.owner or actor
        check_new_owner(owner)
        if not lead.company_name:
            raise invalid("company_name", _("The lead needs a company name to become a customer."))
        company_key = lead.company_key or normalize.company_key(lead.company_name)
        customer = find_customer_duplicate(credit_code=lead.credit_code, company_key=company_key)
        customer_created = customer is None
        if customer is None:
            customer = audited_create(instance=Customer(
                name=lead.company_name, credit_code=lead.credit_code, industry=lead.industry, region=lead.region,
                city=lead.city, company_size=lead.company_size, owner=owner, created_by=actor, owned_since=timezone.now(),
                company_key=company_key,
            ), actor=actor, channel=channel, action="customer.create", note=_("Converted from lead #%s") % lead.pk)
        elif customer.owner_id is None:
            customer = claim_pooled(customer=customer, owner=owner, actor=actor, channel=channel,
                                    note=_("Claimed by converting lead #%s") % lead.pk)
        elif not may(owner, customer, Act.EDIT):
            raise duplicate_customer_error(customer)

        contact_data = {"name": lead.contact_name or lead.company_name, "title": lead.title, "mobile": lead.mobile,
                        "landline": lead.landline, "email": lead.email, "wechat": lead.wechat}
        cleaned_contact = clean_contact(contact_data)
        contact = matching_contact(customer, cleaned_contact)
        if contact is None:
            contact = Contact.objects.create(
                customer=customer, is_primary=not Contact.objects.filter(customer=customer).exists(), **cleaned_contact
            )
        data = {
            "name": opportunity_name or f"{lead.company_name}{(' · ' + lead.need[:40]) if lead.need else ''}"[:200],
            "need": lead.need, "timeline": lead.timeline, "budget": lead.budget, "amount": amount,
            "next_follow_up_at": lead.next_follow_up_at, "contacts": [contact.pk],
            # The plan the rep wrote on the lead's last follow-up is the deal's next step.
            "next_step": (Activity.objects.for_record(lead).exclude(next_plan="").order_by("-created_at")
                          .values_list("next_plan", flat=True).first() or "")[:200],
        }
        if lead.contact_name:
            data["authority"] = f"{lead.contact_name} {lead.title}".strip()
        opportunity = opportunity_create(customer=customer, data=data, actor=actor, channel=channel, owner=owner,
                                         pipeline=pipeline, lead=lead)
        if lead.last_activity_at:
            Opportunity.objects.filter(pk=opportunity.pk).update(last_activity_at=lead.last_activity_at)
            opportunity.last_activity_at = lead.last_activity_at
        audited_update(instance=lead, data={"status": LeadStatus.CONVERTED}, actor=actor, channel=channel,
                       action="lead.convert", always=True,
                       note=_("Customer %(customer)s, deal #%(deal)s") % {"customer": customer, "deal": opportunity.pk})
    return Conversion(customer=customer, contact=contact, opportunity=opportunity, customer_created=customer_created)
