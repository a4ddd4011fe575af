"""Deal writes: customers, contacts, conversion, stage moves with gates, transfers, pipeline settings.

Every function here runs in one transaction, writes its audit entry in it, and sends notifications
after commit (`notify` defers to on_commit). Views, the API, the demo and jobs all call these.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, models, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from closeloop.core.audit import audit_record, diff, snapshot
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import Channel, Role, User
from closeloop.core.money import parse_money
from closeloop.core.notify import notify
from closeloop.core.visibility import subtree_users
from closeloop.followup.models import ParticipantRole
from closeloop.followup.services import is_participant, participant_discard, participant_ensure
from closeloop.leads import normalize
from closeloop.leads.models import Lead, LeadStatus

from .models import (
    GATE_FIELDS,
    Contact,
    Customer,
    LostReason,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageHistory,
)

SELLING_ROLES = {Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN}


def _list_separator() -> str:
    """How a list of field names is joined in a message: 、 in Chinese, a comma otherwise."""
    # Translators: the separator between items of a short list, e.g. "budget, need".
    return pgettext("list separator", ", ")


def money(value) -> Decimal | None:
    """Parse an amount in yuan as people type it (“¥50,000”); see core.money.parse_money."""
    return parse_money(value)


def _invalid(field: str, message: str):
    return ValidationFailed(_("Please correct the marked fields."), field_errors={field: [message]})


def _aware(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            raise _invalid(field, _("Enter a date and time, for example 2026-12-01 10:00."))
        value = parsed
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parsed = parse_date(str(value).strip())
    if parsed is None:
        raise _invalid(field, _("Enter a date, for example 2026-12-31."))
    return parsed


def can_manage(actor: User, owner: User | None) -> bool:
    """Admins, and managers over the current owner's department, may transfer a record."""
    if actor.is_admin:
        return True
    if actor.role != Role.SALES_MANAGER:
        return False
    return owner is None or subtree_users(actor).filter(pk=owner.pk).exists()


def _check_new_owner(owner: User):
    if not owner.is_active or owner.role not in SELLING_ROLES:
        raise _invalid("owner", _("%(user)s cannot own customers or deals.") % {"user": owner})


# ---------------------------------------------------------------------------------------------------
# Customers and contacts


CUSTOMER_FIELDS = ["name", "credit_code", "industry", "region", "city", "address", "company_size"]
CONTACT_FIELDS = ["name", "title", "mobile", "landline", "email", "wechat"]


def _clean_customer(data: dict) -> dict:
    cleaned = {name: normalize.fold_width(str(data.get(name) or "")) for name in CUSTOMER_FIELDS}
    errors = {}
    if not cleaned["name"]:
        errors["name"] = [_("This field is required.")]
    for name in CUSTOMER_FIELDS:
        limit = Customer._meta.get_field(name).max_length
        if len(cleaned[name]) > limit and name != "credit_code":
            errors.setdefault(name, []).append(_("At most %(limit)d characters.") % {"limit": limit})
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


def _duplicate_error(existing: Customer) -> Conflict:
    if existing.owner_id is None:
        message = _("“%(name)s” is already a customer, in the public pool: claim it instead of creating it again.")
    else:
        message = _("“%(name)s” is already a customer, owned by %(owner)s. Ask them or your manager to add you.")
    return Conflict(message % {"name": existing.name, "owner": existing.owner}, code="duplicate_customer",
                    customer_id=existing.pk)


def customer_create(*, data: dict, actor: User, channel: str = Channel.WEB, owner: User | None = None) -> Customer:
    cleaned = _clean_customer(data)
    owner = owner or actor
    _check_new_owner(owner)
    with transaction.atomic():
        if existing := find_customer_duplicate(credit_code=cleaned["credit_code"], company_key=cleaned["company_key"]):
            raise _duplicate_error(existing)
        customer = Customer(**cleaned, owner=owner, created_by=actor, owned_since=timezone.now())
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError:
            # Two people saved the same credit code at once; the unique constraint decided.
            raise _duplicate_error(find_customer_duplicate(credit_code=cleaned["credit_code"])) from None
        audit_record(actor=actor, channel=channel, action="customer.create", target=customer,
                     changes=diff({}, snapshot(customer)))
    return customer


def customer_update(*, customer: Customer, data: dict, actor: User, channel: str = Channel.WEB) -> Customer:
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        merged = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
        merged.update({k: v for k, v in data.items() if k in CUSTOMER_FIELDS})
        cleaned = _clean_customer(merged)
        existing = find_customer_duplicate(credit_code=cleaned["credit_code"], company_key=cleaned["company_key"],
                                           exclude_pk=customer.pk)
        if existing:
            raise _duplicate_error(existing)
        before = snapshot(customer)
        for name, value in cleaned.items():
            setattr(customer, name, value)
        changes = diff(before, snapshot(customer))
        if changes:
            customer.save()
            audit_record(actor=actor, channel=channel, action="customer.update", target=customer, changes=changes)
    return customer


def _clean_contact(data: dict) -> dict:
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


def _matching_contact(customer: Customer, cleaned: dict, exclude_pk=None) -> Contact | None:
    contacts = Contact.objects.filter(customer=customer).exclude(pk=exclude_pk)
    if cleaned["mobile_key"] and (found := contacts.filter(mobile_key=cleaned["mobile_key"]).first()):
        return found
    if cleaned["email_key"] and (found := contacts.filter(email_key=cleaned["email_key"]).first()):
        return found
    return None


def contact_create(*, customer: Customer, data: dict, actor: User, channel: str = Channel.WEB) -> Contact:
    cleaned = _clean_contact(data)
    with transaction.atomic():
        if existing := _matching_contact(customer, cleaned):
            raise _duplicate_contact_error(existing)
        contact = Contact.objects.create(
            customer=customer, is_primary=not Contact.objects.filter(customer=customer).exists(), **cleaned
        )
        audit_record(actor=actor, channel=channel, action="contact.create", target=customer,
                     note=str(contact), changes=diff({}, snapshot(contact, CONTACT_FIELDS)))
    return contact


def _duplicate_contact_error(existing: Contact) -> Conflict:
    return Conflict(_("%(name)s is already a contact of this customer with the same phone or email.")
                    % {"name": existing.name}, code="duplicate_contact", contact_id=existing.pk)


def contact_update(*, contact: Contact, data: dict, actor: User, channel: str = Channel.WEB) -> Contact:
    """Edit a contact with the same normalization and duplicate check as adding one."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update(of=("self",)).select_related("customer").get(pk=contact.pk)
        merged = {name: getattr(contact, name) for name in CONTACT_FIELDS}
        merged.update({k: v for k, v in data.items() if k in CONTACT_FIELDS})
        cleaned = _clean_contact(merged)
        existing = _matching_contact(contact.customer, cleaned, exclude_pk=contact.pk)
        if existing:
            raise _duplicate_contact_error(existing)
        before = snapshot(contact, CONTACT_FIELDS)
        for name, value in cleaned.items():
            setattr(contact, name, value)
        changes = diff(before, snapshot(contact, CONTACT_FIELDS))
        if changes:
            contact.save()
            # On the customer's trail, like adding a contact: that is where people look for it.
            audit_record(actor=actor, channel=channel, action="contact.update", target=contact.customer,
                         note=str(contact), changes=changes)
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
    return actor.pk == customer.owner_id or can_manage(actor, customer.owner)


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
            successor.save(update_fields=["is_primary"])
        # What was deleted stays readable in the trail: every filled field, and the deals it was linked to.
        changes = {name: [value, None] for name, value in before.items() if value}
        if linked:
            changes["opportunities"] = [", ".join(linked), None]
        audit_record(actor=actor, channel=channel, action="contact.delete", target=customer, note=label,
                     changes=changes)


def customer_transfer(*, customer: Customer, new_owner: User, actor: User, reason: str, keep_as_collaborator=False,
                      channel: str = Channel.WEB) -> Customer:
    if not reason.strip():
        raise _invalid("reason", _("Give the reason for the transfer; it is kept in the trail."))
    _check_new_owner(new_owner)
    with transaction.atomic():
        customer = Customer.objects.select_for_update(of=("self",)).select_related("owner").get(pk=customer.pk)
        if not can_manage(actor, customer.owner):
            raise Forbidden(_("Only a manager of the current owner, or an administrator, can transfer a customer."))
        old = customer.owner
        if old == new_owner:
            return customer
        customer.owner = new_owner
        customer.pooled_at = None
        customer.owned_since = timezone.now()
        customer.save(update_fields=["owner", "pooled_at", "owned_since", "updated_at"])
        participant_discard(record=customer, user=new_owner)
        if keep_as_collaborator and old is not None:
            participant_ensure(record=customer, user=old, role=ParticipantRole.SALES)
        audit_record(actor=actor, channel=channel, action="customer.transfer", target=customer,
                     changes={"owner": [str(old) if old else None, str(new_owner)]}, note=reason)
        notify(recipient=new_owner, kind="customer.transferred",
               message=_("Customer transferred to you: %s") % customer, url=customer.get_absolute_url())
    return customer


# ---------------------------------------------------------------------------------------------------
# Opportunities


OPPORTUNITY_FIELDS = ["name", "amount", "expected_close_date", "probability", "budget", "authority", "need", "timeline",
                      "next_step", "next_follow_up_at", "lost_reason", "lost_note", "contacts"]


def _clean_opportunity_fields(opportunity: Opportunity, data: dict) -> tuple[dict, list | None]:
    """Parse the given fields (only those present); returns plain values and the contact list, if given."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    contacts = None
    for name, raw in data.items():
        if name not in OPPORTUNITY_FIELDS:
            continue
        try:
            if name in ("amount", "budget"):
                try:
                    values[name] = money(raw)
                except ValueError:
                    raise _invalid(name, _("Enter an amount in yuan, for example 50000.")) from None
            elif name == "expected_close_date":
                values[name] = _date(raw, name)
            elif name == "next_follow_up_at":
                values[name] = _aware(raw, name)
            elif name == "probability":
                try:
                    number = int(raw) if raw not in (None, "") else None
                except (TypeError, ValueError):
                    number = -1
                if number is None:
                    continue
                if not 0 <= number <= 100:
                    raise _invalid(name, _("Enter a percentage from 0 to 100."))
                values[name] = number
            elif name == "lost_reason":
                if raw in (None, ""):
                    values[name] = None
                elif isinstance(raw, LostReason):
                    values[name] = raw
                else:
                    found = LostReason.objects.filter(pk=raw).first() if str(raw).isdigit() else \
                        LostReason.objects.filter(name=str(raw).strip()).first()
                    if found is None:
                        raise _invalid(name, _("Choose one of the configured lost reasons."))
                    values[name] = found
            elif name == "contacts":
                ids = [c.pk if isinstance(c, Contact) else c for c in (raw or [])]
                try:
                    ids = [int(i) for i in ids]
                except (TypeError, ValueError):
                    raise _invalid(name, _("Choose contacts of this customer.")) from None
                contacts = list(Contact.objects.filter(customer_id=opportunity.customer_id, pk__in=ids))
                if len(contacts) != len(set(ids)):
                    raise _invalid(name, _("Choose contacts of this customer."))
            else:
                text = str(raw or "").strip()
                limit = Opportunity._meta.get_field(name).max_length
                if limit and len(text) > limit:
                    raise _invalid(name, _("At most %(limit)d characters.") % {"limit": limit})
                values[name] = text
        except ValidationFailed as exc:
            for field, messages in exc.field_errors.items():
                errors.setdefault(field, []).extend(messages)
    if "name" in values and not values["name"]:
        errors.setdefault("name", []).append(_("This field is required."))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return values, contacts


def _apply(opportunity: Opportunity, values: dict, contacts: list | None):
    for name, value in values.items():
        setattr(opportunity, name, value)
    if contacts is not None:
        opportunity.contacts.set(contacts)


def gate_fields(stage: Stage) -> list[str]:
    """The fields a deal needs to enter `stage`: its own gate and every earlier stage's (no skipping past a gate)."""
    if stage.is_lost:
        return list(dict.fromkeys([*stage.required_fields, "lost_reason"]))
    required: list[str] = []
    for earlier in Stage.objects.filter(pipeline_id=stage.pipeline_id, position__lte=stage.position, is_lost=False):
        required.extend(earlier.required_fields)
    return list(dict.fromkeys(required))


def missing_gate_fields(opportunity: Opportunity, stage: Stage) -> list[str]:
    missing = []
    for name in gate_fields(stage):
        if name == "contacts":
            if not opportunity.pk or not opportunity.contacts.exists():
                missing.append(name)
        elif getattr(opportunity, name, None) in (None, ""):
            missing.append(name)
    return missing


def field_label(name: str) -> str:
    if name == "lost_reason":
        return str(_("lost reason"))
    return str(GATE_FIELDS.get(name, name))


def _gate_error(stage: Stage, missing: list[str]) -> ValidationFailed:
    labels = _list_separator().join(field_label(name) for name in missing)
    return ValidationFailed(
        _("To move to “%(stage)s”, fill in: %(fields)s.") % {"stage": stage.name, "fields": labels},
        code="stage_gate",
        field_errors={name: [_("Required for “%(stage)s”.") % {"stage": stage.name}] for name in missing},
        stage=stage.pk, missing=missing,
    )


def _enter_stage(opportunity: Opportunity, stage: Stage, *, actor, now):
    StageHistory.objects.filter(opportunity=opportunity, exited_at__isnull=True).update(
        exited_at=now, exited_by=actor if getattr(actor, "pk", None) else None
    )
    StageHistory.objects.create(opportunity=opportunity, stage=stage, stage_name=stage.name, entered_at=now,
                                entered_by=actor if getattr(actor, "pk", None) else None)
    opportunity.stage = stage
    opportunity.stage_entered_at = now
    opportunity.probability = stage.probability
    if stage.is_won:
        opportunity.status = OpportunityStatus.WON
        opportunity.won_at, opportunity.lost_at = now, None
    elif stage.is_lost:
        opportunity.status = OpportunityStatus.LOST
        opportunity.lost_at, opportunity.won_at = now, None
    else:
        opportunity.status = OpportunityStatus.OPEN
        opportunity.won_at = opportunity.lost_at = None
        opportunity.lost_reason, opportunity.lost_note = None, ""


def opportunity_create(*, customer: Customer, data: dict, actor: User, channel: str = Channel.WEB,
                       owner: User | None = None, pipeline: Pipeline | None = None, lead: Lead | None = None) -> Opportunity:
    pipeline = pipeline or Pipeline.default()
    if pipeline is None:
        raise ValidationFailed(_("No active pipeline is configured; an administrator can set one up under Pipelines."),
                               code="no_pipeline")
    owner = owner or actor
    _check_new_owner(owner)
    first = pipeline.stages.filter(is_won=False, is_lost=False).order_by("position", "id").first()
    if first is None:
        raise _invalid("stage", _("The pipeline “%(name)s” has no open stage.") % {"name": pipeline})
    with transaction.atomic():
        now = timezone.now()
        opportunity = Opportunity(customer=customer, pipeline=pipeline, stage=first, owner=owner, created_by=actor,
                                  lead=lead, probability=first.probability, stage_entered_at=now)
        values, contacts = _clean_opportunity_fields(opportunity, {"name": "", **data})
        values.pop("lost_reason", None)
        _apply(opportunity, values, None)
        if missing := missing_gate_fields(opportunity, first):
            # Contacts are set after the save, so they cannot block here.
            if missing != ["contacts"] or not contacts:
                raise _gate_error(first, missing)
        opportunity.save()
        if contacts is not None:
            opportunity.contacts.set(contacts)
        StageHistory.objects.create(opportunity=opportunity, stage=first, stage_name=first.name, entered_at=now,
                                    entered_by=actor)
        audit_record(actor=actor, channel=channel, action="opportunity.create", target=opportunity,
                     changes=diff({}, snapshot(opportunity)))
        if owner != actor:
            notify(recipient=owner, kind="opportunity.assigned", message=_("New deal for you: %s") % opportunity,
                   url=opportunity.get_absolute_url())
    return opportunity


def opportunity_update(*, opportunity: Opportunity, data: dict, actor: User, channel: str = Channel.WEB) -> Opportunity:
    """Edit fields. A deal in a gated stage keeps its gate: emptying a required field is refused."""
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update(of=("self",)).select_related("stage").get(pk=opportunity.pk)
        before = snapshot(opportunity)
        values, contacts = _clean_opportunity_fields(opportunity, data)
        if not opportunity.stage.is_lost:
            values.pop("lost_reason", None)
        _apply(opportunity, values, contacts)
        if missing := missing_gate_fields(opportunity, opportunity.stage):
            raise _gate_error(opportunity.stage, missing)
        changes = diff(before, snapshot(opportunity))
        if contacts is not None:
            changes["contacts"] = [None, ", ".join(str(c) for c in contacts)]
        if changes:
            opportunity.save()
            audit_record(actor=actor, channel=channel, action="opportunity.update", target=opportunity, changes=changes)
    return opportunity


def opportunity_move_stage(*, opportunity: Opportunity, stage: Stage, actor: User, channel: str = Channel.WEB,
                           fields: dict | None = None) -> Opportunity:
    """Move a deal to a stage. The stage gate is checked here, so pages, the API and imports all obey it.

    `fields` fills in values on the way (the gate form on the board); they are saved only if the move succeeds.
    """
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update(of=("self",)).select_related("stage", "owner").get(pk=opportunity.pk)
        if stage.pipeline_id != opportunity.pipeline_id:
            raise _invalid("stage", _("“%(stage)s” is not a stage of this deal's pipeline.") % {"stage": stage.name})
        before = snapshot(opportunity)
        values, contacts = _clean_opportunity_fields(opportunity, fields or {})
        _apply(opportunity, values, contacts)
        if missing := missing_gate_fields(opportunity, stage):
            raise _gate_error(stage, missing)
        old_stage = opportunity.stage
        if stage.pk != old_stage.pk:
            _enter_stage(opportunity, stage, actor=actor, now=timezone.now())
        changes = diff(before, snapshot(opportunity))
        if not changes and contacts is None:
            return opportunity
        opportunity.save()
        action = "opportunity.stage" if stage.pk != old_stage.pk else "opportunity.update"
        audit_record(actor=actor, channel=channel, action=action, target=opportunity, changes=changes,
                     note=f"{old_stage.name} → {stage.name}" if stage.pk != old_stage.pk else "")
        if stage.pk != old_stage.pk and opportunity.owner_id != getattr(actor, "pk", None):
            notify(recipient=opportunity.owner, kind="opportunity.stage",
                   message=_("%(deal)s moved to %(stage)s by %(actor)s")
                   % {"deal": opportunity, "stage": stage.name, "actor": actor},
                   url=opportunity.get_absolute_url())
    return opportunity


def opportunity_transfer(*, opportunity: Opportunity, new_owner: User, actor: User, reason: str,
                         keep_as_collaborator: bool = False, channel: str = Channel.WEB) -> Opportunity:
    """A manager gives a deal to another rep; the old owner loses access unless kept as a collaborator."""
    if not reason.strip():
        raise _invalid("reason", _("Give the reason for the transfer; it is kept in the trail."))
    _check_new_owner(new_owner)
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update(of=("self",)).select_related("owner").get(pk=opportunity.pk)
        if not can_manage(actor, opportunity.owner):
            raise Forbidden(_("Only a manager of the current owner, or an administrator, can transfer a deal."))
        old = opportunity.owner
        if old == new_owner:
            return opportunity
        opportunity.owner = new_owner
        opportunity.save(update_fields=["owner", "updated_at"])
        participant_discard(record=opportunity, user=new_owner)
        if keep_as_collaborator:
            participant_ensure(record=opportunity, user=old, role=ParticipantRole.SALES)
        audit_record(actor=actor, channel=channel, action="opportunity.transfer", target=opportunity,
                     changes={"owner": [str(old), str(new_owner)]}, note=reason)
        notify(recipient=new_owner, kind="opportunity.transferred",
               message=_("Deal transferred to you: %s") % opportunity, url=opportunity.get_absolute_url())
        notify(recipient=old, kind="opportunity.transferred",
               message=_("Deal %(deal)s was transferred to %(user)s") % {"deal": opportunity, "user": new_owner})
    return opportunity


# ---------------------------------------------------------------------------------------------------
# Lead conversion


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
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
        if lead.status == LeadStatus.CONVERTED:
            raise Conflict(_("This lead was already converted."), code="already_converted")
        if lead.status not in CONVERTIBLE:
            raise ValidationFailed(
                _("Only a qualified lead can be converted. Mark it as qualified once budget, decision maker, "
                  "need and timeline are confirmed."), code="not_qualified")
        owner = lead.owner or actor
        _check_new_owner(owner)
        if not lead.company_name:
            raise _invalid("company_name", _("The lead needs a company name to become a customer."))
        company_key = lead.company_key or normalize.company_key(lead.company_name)
        customer = find_customer_duplicate(credit_code=lead.credit_code, company_key=company_key)
        customer_created = customer is None
        if customer is None:
            customer = Customer.objects.create(
                name=lead.company_name, credit_code=lead.credit_code, industry=lead.industry, region=lead.region,
                city=lead.city, company_size=lead.company_size, owner=owner, created_by=actor, owned_since=timezone.now(),
                company_key=company_key,
            )
            audit_record(actor=actor, channel=channel, action="customer.create", target=customer,
                         changes=diff({}, snapshot(customer)), note=_("Converted from lead #%s") % lead.pk)
        elif customer.owner_id is None:
            customer.owner, customer.pooled_at, customer.owned_since = owner, None, timezone.now()
            customer.save(update_fields=["owner", "pooled_at", "owned_since", "updated_at"])
            audit_record(actor=actor, channel=channel, action="customer.claim", target=customer,
                         changes={"owner": [None, str(owner)]}, note=_("Claimed by converting lead #%s") % lead.pk)
        elif customer.owner_id != owner.pk and not is_participant(customer, owner):
            raise _duplicate_error(customer)

        contact_data = {"name": lead.contact_name or lead.company_name, "title": lead.title, "mobile": lead.mobile,
                        "landline": lead.landline, "email": lead.email, "wechat": lead.wechat}
        cleaned_contact = _clean_contact(contact_data)
        contact = _matching_contact(customer, cleaned_contact)
        if contact is None:
            contact = Contact.objects.create(
                customer=customer, is_primary=not Contact.objects.filter(customer=customer).exists(), **cleaned_contact
            )
        data = {
            "name": opportunity_name or f"{lead.company_name}{(' · ' + lead.need[:40]) if lead.need else ''}"[:200],
            "need": lead.need, "timeline": lead.timeline, "budget": lead.budget, "amount": amount,
            "next_follow_up_at": lead.next_follow_up_at, "contacts": [contact.pk],
        }
        if lead.contact_name:
            data["authority"] = f"{lead.contact_name} {lead.title}".strip()
        opportunity = opportunity_create(customer=customer, data=data, actor=actor, channel=channel, owner=owner,
                                         pipeline=pipeline, lead=lead)
        if lead.last_activity_at:
            Opportunity.objects.filter(pk=opportunity.pk).update(last_activity_at=lead.last_activity_at)
            opportunity.last_activity_at = lead.last_activity_at
        before = snapshot(lead, ["status"])
        lead.status = LeadStatus.CONVERTED
        lead.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, channel=channel, action="lead.convert", target=lead,
                     changes=diff(before, snapshot(lead, ["status"])),
                     note=_("Customer %(customer)s, deal #%(deal)s") % {"customer": customer, "deal": opportunity.pk})
    return Conversion(customer=customer, contact=contact, opportunity=opportunity, customer_created=customer_created)


# ---------------------------------------------------------------------------------------------------
# Pipeline configuration (admin)


def _require_admin(actor: User):
    if not actor.is_admin:
        raise Forbidden(_("Only administrators configure pipelines."))


def pipeline_save(*, actor: User, data: dict, pipeline: Pipeline | None = None, channel: str = Channel.WEB) -> Pipeline:
    _require_admin(actor)
    name = str(data.get("name") or "").strip()
    if not name:
        raise _invalid("name", _("This field is required."))
    with transaction.atomic():
        if Pipeline.objects.filter(name=name).exclude(pk=getattr(pipeline, "pk", None)).exists():
            raise _invalid("name", _("A pipeline with this name exists."))
        created = pipeline is None
        pipeline = pipeline or Pipeline()
        before = {} if created else snapshot(pipeline)
        pipeline.name = name
        pipeline.position = int(data.get("position") or 0)
        pipeline.active = bool(data.get("active", True))
        pipeline.is_default = bool(data.get("is_default", pipeline.is_default))
        if pipeline.is_default:
            Pipeline.objects.exclude(pk=pipeline.pk).filter(is_default=True).update(is_default=False)
        pipeline.save()
        audit_record(actor=actor, channel=channel, action="pipeline.create" if created else "pipeline.update",
                     target=pipeline, changes=diff(before, snapshot(pipeline)))
    return pipeline


def stage_save(*, actor: User, pipeline: Pipeline, data: dict, stage: Stage | None = None,
               channel: str = Channel.WEB) -> Stage:
    _require_admin(actor)
    errors = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    try:
        probability = int(data.get("probability") or 0)
        if not 0 <= probability <= 100:
            raise ValueError
    except (TypeError, ValueError):
        errors["probability"] = [_("Enter a percentage from 0 to 100.")]
        probability = 0
    required = [f for f in (data.get("required_fields") or []) if f]
    if unknown := [f for f in required if f not in GATE_FIELDS]:
        errors["required_fields"] = [_("Unknown fields: %(names)s") % {"names": ", ".join(unknown)}]
    stale = data.get("stale_after_days")
    try:
        stale = int(stale) if stale not in (None, "") else None
        if stale is not None and not 1 <= stale <= 3650:
            raise ValueError
    except (TypeError, ValueError):
        errors["stale_after_days"] = [_("Enter a number of days from 1 to 3650, or leave empty.")]
        stale = None
    is_won, is_lost = bool(data.get("is_won")), bool(data.get("is_lost"))
    if is_won and is_lost:
        errors["is_lost"] = [_("A stage cannot be both won and lost.")]
    if name and Stage.objects.filter(pipeline=pipeline, name=name).exclude(pk=getattr(stage, "pk", None)).exists():
        errors["name"] = [_("This pipeline already has a stage with this name.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        created = stage is None
        stage = stage or Stage(pipeline=pipeline)
        before = {} if created else snapshot(stage)
        stage.name, stage.probability, stage.required_fields = name, probability, required
        stage.position = int(data.get("position") or 0)
        stage.stale_after_days, stage.is_won, stage.is_lost = stale, is_won, is_lost
        stage.save()
        audit_record(actor=actor, channel=channel, action="stage.create" if created else "stage.update",
                     target=stage, changes=diff(before, snapshot(stage)))
    return stage


def _stage_kind(stage: Stage) -> str:
    return "won" if stage.is_won else "lost" if stage.is_lost else "open"


def stage_delete_targets(stage: Stage):
    """Where the deals of `stage` may go before it is deleted: the other stages of its pipeline of the same kind.

    Same kind only (open to open, won to won, lost to lost): deleting a stage is reorganising the pipeline,
    not winning or losing deals in bulk, so no deal's status, won or lost date changes on the way.
    """
    kind = {"won": Q(is_won=True), "lost": Q(is_lost=True), "open": Q(is_won=False, is_lost=False)}[_stage_kind(stage)]
    return Stage.objects.filter(kind, pipeline_id=stage.pipeline_id).exclude(pk=stage.pk).order_by("position", "id")


def _deals_missing_gate(deals, stage: Stage):
    """The deals of `deals` that lack a field the gate of `stage` requires, in SQL (a stage may hold thousands)."""
    missing = Q()
    for name in gate_fields(stage):
        if name == "contacts":
            missing |= ~Q(pk__in=Opportunity.contacts.through.objects.values("opportunity_id"))
            continue
        missing |= Q(**{f"{name}__isnull": True})
        if isinstance(Opportunity._meta.get_field(name), (models.CharField, models.TextField)):
            missing |= Q(**{name: ""})
    return deals.filter(missing) if missing else deals.none()


def stage_delete(*, actor: User, stage: Stage, move_to: Stage | None = None, channel: str = Channel.WEB) -> int:
    """Delete a stage; its deals first move to `move_to`, another stage of the same pipeline and kind.

    Without `move_to` a stage holding deals is refused. A pipeline keeps at least one open, one won and
    one lost stage, so deals can still be created, won and lost. Returns how many deals moved.
    """
    _require_admin(actor)
    with transaction.atomic():
        # Locks the pipeline's stages in id order: two admins deleting the last two won stages at once
        # cannot both pass the "one remains" check.
        siblings = list(Stage.objects.select_for_update().filter(pipeline_id=stage.pipeline_id).order_by("pk"))
        stage = next((s for s in siblings if s.pk == stage.pk), None)
        if stage is None:
            raise Conflict(_("This stage no longer exists."), code="stage_gone")
        kind = _stage_kind(stage)
        if not any(_stage_kind(s) == kind for s in siblings if s.pk != stage.pk):
            message = {
                "won": _("“%(stage)s” is the pipeline's only won stage; add another won stage before deleting it."),
                "lost": _("“%(stage)s” is the pipeline's only lost stage; add another lost stage before deleting it."),
                "open": _("“%(stage)s” is the pipeline's only open stage; new deals need one to start in."),
            }[kind]
            raise Conflict(message % {"stage": stage.name}, code="last_stage_of_kind")
        deals = Opportunity.objects.filter(stage=stage)
        count = deals.count()
        if count and move_to is None:
            raise Conflict(
                ngettext("%(n)d deal is in “%(stage)s”. Choose a stage to move it to first.",
                         "%(n)d deals are in “%(stage)s”. Choose a stage to move them to first.", count)
                % {"n": count, "stage": stage.name}, code="stage_has_deals", deals=count)
        moved = 0
        if count:
            if not stage_delete_targets(stage).filter(pk=move_to.pk).exists():
                raise _invalid("move_to", _("Choose another stage of the same pipeline, of the same kind (open, won or lost)."))
            if blocked := list(_deals_missing_gate(deals, move_to).values_list("name", flat=True)[:5]):
                labels = _list_separator().join(field_label(name) for name in gate_fields(move_to))
                raise _invalid("move_to", _("Some deals lack what “%(stage)s” requires (%(fields)s), for example: "
                                            "%(deals)s. Choose an earlier stage.")
                               % {"stage": move_to.name, "fields": labels, "deals": "、".join(blocked)})
            moved = _move_all(deals, stage, move_to, actor=actor, channel=channel)
        # The whole configuration of the deleted stage stays readable in the trail.
        changes = {name: [value, None] for name, value in snapshot(stage).items() if value not in (None, "", [])}
        note = ""
        if moved:
            note = ngettext("%(n)d deal moved to “%(stage)s”.", "%(n)d deals moved to “%(stage)s”.", moved) % {
                "n": moved, "stage": move_to.name}
        audit_record(actor=actor, channel=channel, action="stage.delete", target=stage, changes=changes, note=note)
        stage.delete()
    return moved


def _move_all(deals, stage: Stage, target: Stage, *, actor: User, channel: str) -> int:
    """Move every deal of `stage` to `target` with its stage history; a few statements whatever the number."""
    now = timezone.now()
    ids = list(deals.select_for_update().order_by("pk").values_list("pk", flat=True))
    StageHistory.objects.filter(opportunity_id__in=ids, exited_at__isnull=True).update(exited_at=now, exited_by=actor)
    StageHistory.objects.bulk_create(
        [StageHistory(opportunity_id=pk, stage=target, stage_name=target.name, entered_at=now, entered_by=actor)
         for pk in ids], batch_size=1000)
    Opportunity.objects.filter(pk__in=ids).update(stage=target, stage_entered_at=now, probability=target.probability,
                                                 updated_at=now)
    # One entry per deal, so each deal's own trail says why it changed stage.
    for deal in Opportunity.objects.filter(pk__in=ids).only("pk"):
        audit_record(actor=actor, channel=channel, action="opportunity.stage", target=deal,
                     changes={"stage": [stage.name, target.name]},
                     note=_("Stage “%(stage)s” was deleted by an administrator.") % {"stage": stage.name})
    return len(ids)


def lost_reason_save(*, actor: User, data: dict, reason: LostReason | None = None,
                     channel: str = Channel.WEB) -> LostReason:
    _require_admin(actor)
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        raise _invalid("name", _("Give a name of at most 100 characters."))
    if LostReason.objects.filter(name=name).exclude(pk=getattr(reason, "pk", None)).exists():
        raise _invalid("name", _("This lost reason exists."))
    with transaction.atomic():
        created = reason is None
        reason = reason or LostReason()
        before = {} if created else snapshot(reason)
        reason.name = name
        reason.position = int(data.get("position") or 0)
        reason.active = bool(data.get("active", True))
        reason.save()
        audit_record(actor=actor, channel=channel, action="lost_reason.create" if created else "lost_reason.update",
                     target=reason, changes=diff(before, snapshot(reason)))
    return reason
