"""Customers and their contacts: create, edit (duplicates refused), delete a contact, transfer a customer."""

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record, audited_create, audited_update, creation_changes, snapshot
from closeloop.core.customfields.registry import clean_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from closeloop.core.inputs import text_limit_errors
from closeloop.core.models import Channel, User
from closeloop.core.notify import notify
from closeloop.core.sync import departures
from closeloop.followup.models import ParticipantRole
from closeloop.followup.rights import Act, may, require
from closeloop.followup.services import participant_discard, participant_ensure
from closeloop.leads import normalize

from ..models import (
    Contact,
    Customer,
    Opportunity,
    OpportunityStatus,
)
from .ownership import check_may_give, check_new_owner

CUSTOMER_FIELDS = ["name", "credit_code", "industry", "region", "city", "address", "company_size"]
CONTACT_FIELDS = ["name", "title", "mobile", "landline", "email", "wechat"]
# The record types of their custom fields (DealsConfig.custom_field_targets).
CUSTOMER_TARGET, CONTACT_TARGET = "deals.Customer", "deals.Contact"


def _clean_customer(data: dict) -> dict:
    cleaned = {name: normalize.fold_width(str(data.get(name) or "")) for name in CUSTOMER_FIELDS}
    errors = {}
    if not cleaned["name"]:
        errors["name"] = [_("This field is required.")]
    errors.update(text_limit_errors(Customer, {name: cleaned[name] for name in CUSTOMER_FIELDS if name != "credit_code"}))
    cleaned["credit_code"] = normalize.credit_code_key(cleaned["credit_code"])
    if cleaned["credit_code"] and (problem := normalize.credit_code_error(cleaned["credit_code"])):
        errors["credit_code"] = [problem]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    cleaned["company_key"] = normalize.company_key(cleaned["name"])
    return cleaned


def find_customer_duplicate(*, credit_code: str = "", company_key: str = "", exclude_pk=None) -> Customer | None:
    """An existing customer with the same credit code, or else the same normalized company name."""
    candidates = Customer.objects.select_related("owner")
    if exclude_pk:
        candidates = candidates.exclude(pk=exclude_pk)
    if credit_code and (found := candidates.filter(credit_code=credit_code).first()):
        return found
    if company_key:
        return candidates.filter(company_key=company_key).order_by("id").first()
    return None


def duplicate_customer_error(existing: Customer) -> Conflict:
    if existing.owner_id is None:
        message = _("“%(name)s” is already a customer, in the public pool: claim it instead of creating it again.")
    else:
        message = _("“%(name)s” is already a customer, owned by %(owner)s. Ask them or your manager to add you.")
    return Conflict(message % {"name": existing.name, "owner": existing.owner}, code="duplicate_customer",
                    customer_id=existing.pk)


def customer_create(*, data: dict, actor: User, channel: str = Channel.WEB, owner: User | None = None) -> Customer:
    cleaned, custom = clean_record(lambda: _clean_customer(data), CUSTOMER_TARGET, data, channel=channel, actor=actor,
                                   creating=True)
    owner = owner or actor
    check_may_give(actor, owner)
    check_new_owner(owner)
    with transaction.atomic():
        if existing := find_customer_duplicate(credit_code=cleaned["credit_code"], company_key=cleaned["company_key"]):
            raise duplicate_customer_error(existing)
        customer = Customer(**cleaned, custom=custom, owner=owner, created_by=actor, owned_since=timezone.now())
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError:
            # Two people saved the same credit code at once; the unique constraint decided.
            raise duplicate_customer_error(find_customer_duplicate(credit_code=cleaned["credit_code"])) from None
        audit_record(actor=actor, channel=channel, action="customer.create", target=customer,
                     changes=creation_changes(customer))
    return customer


def customer_update(*, customer: Customer, data: dict, actor: User, channel: str = Channel.WEB) -> Customer:
    require(actor, customer, Act.EDIT)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        merged = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
        merged.update({k: v for k, v in data.items() if k in CUSTOMER_FIELDS})
        cleaned, custom = clean_record(lambda: _clean_customer(merged), CUSTOMER_TARGET, data, channel=channel,
                                       actor=actor, current=customer.custom)
        cleaned["custom"] = custom
        existing = find_customer_duplicate(credit_code=cleaned["credit_code"], company_key=cleaned["company_key"],
                                           exclude_pk=customer.pk)
        if existing:
            raise duplicate_customer_error(existing)
        audited_update(instance=customer, data=cleaned, actor=actor, channel=channel, action="customer.update")
    return customer


def clean_contact(data: dict) -> dict:
    cleaned = {name: normalize.fold_width(str(data.get(name) or "")) for name in CONTACT_FIELDS}
    errors = {}
    if not cleaned["name"]:
        errors["name"] = [_("This field is required.")]
    for name in ("mobile", "landline"):
        cleaned[f"{name}_key"] = normalize.phone_key(cleaned[name]) if cleaned[name] else ""
        if cleaned[name] and not cleaned[f"{name}_key"]:
            errors[name] = [normalize.phone_error(name, cleaned[name])]
    cleaned["email_key"] = normalize.email_key(cleaned["email"]) if cleaned["email"] else ""
    if cleaned["email"] and not cleaned["email_key"]:
        errors["email"] = [_("“%(value)s” is not a valid email address.") % {"value": cleaned["email"]}]
    elif cleaned["email_key"]:
        cleaned["email"] = cleaned["email_key"]
    for name in CONTACT_FIELDS:
        if len(cleaned[name]) > Contact._meta.get_field(name).max_length:
            errors.setdefault(name, []).append(_("Too long."))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return cleaned


def matching_contact(customer: Customer, cleaned: dict, exclude_pk=None) -> Contact | None:
    contacts = Contact.objects.filter(customer=customer).exclude(pk=exclude_pk)
    if cleaned["mobile_key"] and (found := contacts.filter(mobile_key=cleaned["mobile_key"]).first()):
        return found
    if cleaned["email_key"] and (found := contacts.filter(email_key=cleaned["email_key"]).first()):
        return found
    return None


def contact_create(*, customer: Customer, data: dict, actor: User, channel: str = Channel.WEB) -> Contact:
    require(actor, customer, Act.EDIT)
    cleaned, custom = clean_record(lambda: clean_contact(data), CONTACT_TARGET, data, channel=channel, actor=actor,
                                   creating=True)
    with transaction.atomic():
        if existing := matching_contact(customer, cleaned):
            raise _duplicate_contact_error(existing)
        contact = Contact(customer=customer, is_primary=not Contact.objects.filter(customer=customer).exists(),
                          custom=custom, **cleaned)
        audited_create(instance=contact, actor=actor, channel=channel, action="contact.create", target=customer,
                       note=str(contact), fields=CONTACT_FIELDS)
    return contact


def _duplicate_contact_error(existing: Contact) -> Conflict:
    return Conflict(_("%(name)s is already a contact of this customer with the same phone or email.")
                    % {"name": existing.name}, code="duplicate_contact", contact_id=existing.pk)


def contact_update(*, contact: Contact, data: dict, actor: User, channel: str = Channel.WEB) -> Contact:
    """Edit a contact with the same normalization and duplicate check as adding one."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update(of=("self",)).select_related("customer").get(pk=contact.pk)
        require(actor, contact.customer, Act.EDIT)
        merged = {name: getattr(contact, name) for name in CONTACT_FIELDS}
        merged.update({k: v for k, v in data.items() if k in CONTACT_FIELDS})
        cleaned, custom = clean_record(lambda: clean_contact(merged), CONTACT_TARGET, data, channel=channel,
                                       actor=actor, current=contact.custom)
        cleaned["custom"] = custom
        existing = matching_contact(contact.customer, cleaned, exclude_pk=contact.pk)
        if existing:
            raise _duplicate_contact_error(existing)
        # On the customer's trail, like adding a contact: that is where people look for it.
        audited_update(instance=contact, data=cleaned, actor=actor, channel=channel, action="contact.update",
                       target=contact.customer, note=f"{cleaned['name']} {cleaned['title']}".strip())
    return contact


def open_deals_needing(contact: Contact) -> list[Opportunity]:
    """Open deals for which this contact is the only person on record; deleting it would leave them with nobody."""
    return list(
        # Filtered by id, not by `contacts=`: a join on the same relation would count only this contact.
        Opportunity.objects.filter(pk__in=contact.opportunities.values("pk"), status=OpportunityStatus.OPEN)
        .annotate(contact_count=Count("contacts")).filter(contact_count=1).order_by("pk")
    )


def can_delete_contact(actor: User, customer: Customer) -> bool:
    """Collaborators may add and correct contacts; removing one is for the owner and their manager."""
    return may(actor, customer, Act.MANAGE)


def contact_delete(*, contact: Contact, actor: User, channel: str = Channel.WEB) -> None:
    """Delete a contact. Refused while it is the only contact of an open deal; otherwise the deals drop it.

    Refusing rather than detaching: an open deal without any contact has nobody to follow up with and
    would fail a stage gate that requires contacts at its next move. The owner adds or links another
    contact first, then deletes. Closed deals simply lose the link; the trail keeps who it was.
    """
    with transaction.atomic():
        contact = Contact.objects.select_for_update(of=("self",)).select_related("customer__owner").get(pk=contact.pk)
        customer = contact.customer
        if not can_delete_contact(actor, customer):
            raise Forbidden(_("Only the customer's owner or their manager can delete its contacts."))
        if blocked := open_deals_needing(contact):
            raise Conflict(
                _("%(name)s is the only contact of the open deal(s) %(deals)s. Add another contact to the deal "
                  "first, then delete this one.") % {"name": contact.name, "deals": "、".join(d.name for d in blocked[:5])},
                code="only_contact_of_open_deal", deals=[d.pk for d in blocked])
        linked = list(contact.opportunities.values_list("name", flat=True)[:20])
        was_primary = contact.is_primary
        before = snapshot(contact, CONTACT_FIELDS)
        label = str(contact)
        contact.delete()
        if was_primary and (successor := Contact.objects.filter(customer=customer).order_by("created_at", "id").first()):
            # A customer with contacts always has a primary one to call first.
            successor.is_primary = True
            successor.save(update_fields=["is_primary", "updated_at"])
        # What was deleted stays readable in the trail: every filled field, and the deals it was linked to.
        changes = {name: [value, None] for name, value in before.items() if value}
        if linked:
            changes["opportunities"] = [", ".join(linked), None]
        audit_record(actor=actor, channel=channel, action="contact.delete", target=customer, note=label,
                     changes=changes)


def customer_transfer(*, customer: Customer, new_owner: User, actor: User, reason: str, keep_as_collaborator=False,
                      channel: str = Channel.WEB) -> Customer:
    if not reason.strip():
        raise invalid("reason", _("Give the reason for the transfer; it is kept in the trail."))
    check_new_owner(new_owner)
    with transaction.atomic():
        customer = Customer.objects.select_for_update(of=("self",)).select_related("owner").get(pk=customer.pk)
        if not may(actor, customer, Act.OVERSEE):
            raise Forbidden(_("Only a manager of the current owner, or an administrator, can transfer a customer."))
        old = customer.owner
        if old == new_owner:
            return customer
        customer.owner = new_owner
        customer.pooled_at = None
        customer.owned_since = timezone.now()
        with departures(customer):  # the old owner's line, unless kept as a collaborator
            customer.save(update_fields=["owner", "pooled_at", "owned_since", "updated_at"])
            participant_discard(record=customer, user=new_owner)
            if keep_as_collaborator and old is not None:
                participant_ensure(record=customer, user=old, role=ParticipantRole.SALES)
        audit_record(actor=actor, channel=channel, action="customer.transfer", target=customer,
                     changes={"owner": [str(old) if old else None, str(new_owner)]}, note=reason)
        notify(recipient=new_owner, kind="customer.transferred",
               message=_("Customer transferred to you: %s") % customer, url=customer.get_absolute_url())
    return customer
