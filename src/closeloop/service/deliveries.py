"""Delivery services: start a contract's delivery, plan and complete its milestones, and record the customer's
acceptance, by their link or by staff uploading the signed form. Each in one transaction with its audit entry
(on the delivery) and notifications on commit."""

import hashlib
import uuid
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.contracts import documents
from closeloop.contracts.invoices import finance_users
from closeloop.contracts.models import Contract, ContractStatus
from closeloop.contracts.services import contract_delivery_accept
from closeloop.core.audit import audit_record, audited_create, audited_update
from closeloop.core.customfields.registry import clean_new, clean_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from closeloop.core.models import Channel, User
from closeloop.core.money import format_yuan
from closeloop.core.notify import notify
from closeloop.leads import normalize

from . import access
from .actions import ServiceAction
from .models import AcceptedVia, Delivery, DeliveryStatus, Milestone
from .surveys import survey_for_delivery

MAX_MILESTONES = 30
SIGNATURE_MAX_BYTES = 2 * 1024 * 1024
SIGNATURE_KINDS = ("png", "jpg")


def _active_user(user, field: str) -> User:
    if not access.may_own_delivery(user):
        raise invalid(field, _("Choose an active colleague."))
    return user


def _clean_milestones(rows) -> list[dict]:
    """Rows of {name, planned_date, owner} with a name; each needs a planned date."""
    cleaned = []
    for n, row in enumerate(rows or []):
        name = (row.get("name") or "").strip()[:200]
        if not name:
            continue
        if not isinstance(row.get("planned_date"), date):
            raise invalid(f"milestones.{n}.planned_date", _("Give the milestone “%(name)s” a planned date.")
                          % {"name": name})
        cleaned.append({"name": name, "planned_date": row["planned_date"], "owner": row.get("owner")})
    if len(cleaned) > MAX_MILESTONES:
        raise invalid("milestones", _("A delivery has at most %(n)d milestones.") % {"n": MAX_MILESTONES})
    return cleaned


# The record type of deliveries' custom fields (ServiceConfig.custom_field_targets).
DELIVERY_TARGET = "service.Delivery"


def delivery_create(*, contract: Contract, actor: User, owner: User | None = None, title: str = "",
                    notes: str = "", milestones=(), channel: str = Channel.WEB, custom: dict | None = None) -> Delivery:
    """Start the delivery of a signed contract (one per contract), run by `owner` (the actor by default), with
    its custom field values (`custom`; None: the fields' defaults)."""
    owner = _active_user(owner or actor, "owner")
    rows = _clean_milestones(milestones)
    custom = clean_new(DELIVERY_TARGET, custom, channel=channel, actor=actor)
    with transaction.atomic():
        contract = Contract.objects.lock(contract.pk)
        if not access.can_start(actor, contract):
            raise Forbidden(_("Only the contract's people, after-sales service or an administrator start its delivery."))
        if contract.status not in (ContractStatus.SIGNED, ContractStatus.ACTIVE):
            raise Conflict(_("A delivery starts once the contract is signed; this one is “%(status)s”.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        if Delivery.objects.filter(contract=contract).exists():
            raise Conflict(_("This contract already has its delivery."), code="delivery_exists")
        delivery = audited_create(
            instance=Delivery(contract=contract, customer_id=contract.customer_id, owner=owner,
                              title=(title or "").strip()[:200] or contract.title, notes=(notes or "")[:2000],
                              created_by=actor, custom=custom),
            actor=actor, channel=channel, action=ServiceAction.DELIVERY_CREATE,
            fields=["contract", "title", "owner", "notes", *(f"custom.{key}" for key in custom or {})])
        for position, row in enumerate(rows):
            _milestone_add(delivery, row, position=position, actor=actor, channel=channel)
        if owner.pk != actor.pk:
            _tell_owner(delivery, actor)
    return delivery


def _tell_owner(delivery: Delivery, actor: User) -> None:
    # notify() writes the in-app row now and queues email and robots on commit.
    notify(recipient=delivery.owner, kind="delivery.assigned", url=delivery.get_absolute_url(),
           message=_("%(who)s made you the owner of the delivery of %(contract)s")
           % {"who": actor, "contract": delivery.contract.number})


def _milestone_add(delivery: Delivery, row: dict, *, position: int, actor, channel) -> Milestone:
    owner = _active_user(row.get("owner") or delivery.owner, "owner")
    return audited_create(
        instance=Milestone(delivery=delivery, name=row["name"], planned_date=row["planned_date"], owner=owner,
                           position=position),
        actor=actor, channel=channel, action=ServiceAction.MILESTONE_ADD, target=delivery,
        fields=["name", "planned_date", "owner"])


def _locked(delivery: Delivery) -> Delivery:
    return Delivery.objects.select_for_update(of=("self",)).select_related("contract", "owner").get(pk=delivery.pk)


def _require_run(actor, delivery):
    if not access.can_run(actor, delivery):
        raise Forbidden(_("Only the delivery owner, after-sales service, the contract's people or their manager do this."))


def _require_open(delivery):
    if delivery.status != DeliveryStatus.IN_PROGRESS:
        raise Conflict(_("The delivery is accepted; it changes no more."), code="delivery_status")


def _require_milestones_done(delivery):
    """The customer accepts what was delivered: not while a milestone is still open. (Staff recording a signed
    form record what the customer already did on paper, so that path does not ask.)"""
    open_names = list(delivery.milestones.filter(done_date__isnull=True).values_list("name", flat=True))
    if open_names:
        raise Conflict(_("The delivery cannot be accepted yet: these milestones are not done: %(names)s. Please "
                         "ask your contact to finish them first.") % {"names": "、".join(open_names)},
                       code="milestones_open")


def delivery_update(*, delivery: Delivery, data: dict, actor: User, channel: str = Channel.WEB) -> Delivery:
    """Edit the title, notes or owner."""
    if "owner" in data:
        _active_user(data["owner"], "owner")
    with transaction.atomic():
        delivery = _locked(delivery)
        _require_run(actor, delivery)
        old_owner = delivery.owner
        _none, custom = clean_record(lambda: None, DELIVERY_TARGET, data, channel=channel, actor=actor,
                                     current=delivery.custom)
        audited_update(instance=delivery, data={**data, "custom": custom}, fields=["title", "notes", "owner", "custom"],
                       actor=actor, channel=channel, action=ServiceAction.DELIVERY_UPDATE)
        new_owner = delivery.owner
        if new_owner.pk != old_owner.pk and new_owner.pk != actor.pk:
            _tell_owner(delivery, actor)
    return delivery


def milestone_add(*, delivery: Delivery, name: str, planned_date: date, owner: User | None, actor: User,
                  channel: str = Channel.WEB) -> Milestone:
    rows = _clean_milestones([{"name": name, "planned_date": planned_date, "owner": owner}])
    if not rows:
        raise invalid("name", _("Name the milestone."))
    with transaction.atomic():
        delivery = _locked(delivery)
        _require_run(actor, delivery)
        _require_open(delivery)
        count = delivery.milestones.count()
        if count >= MAX_MILESTONES:
            raise invalid("name", _("A delivery has at most %(n)d milestones.") % {"n": MAX_MILESTONES})
        return _milestone_add(delivery, rows[0], position=count, actor=actor, channel=channel)


def milestone_update(*, milestone: Milestone, data: dict, actor: User, channel: str = Channel.WEB) -> Milestone:
    """Re-plan, re-assign or mark done (`done_date`; None re-opens it). Its owner may mark it done; the delivery's
    people may change anything."""
    with transaction.atomic():
        delivery = _locked(milestone.delivery)
        milestone = Milestone.objects.select_for_update().select_related("owner").get(pk=milestone.pk, delivery=delivery)
        milestone.delivery = delivery
        only_done = set(data) <= {"done_date"}
        if not (access.can_run(actor, delivery) or (only_done and access.can_complete_milestone(actor, milestone))):
            raise Forbidden(_("Only the milestone's owner or the delivery's people change it."))
        _require_open(delivery)
        if "owner" in data:
            _active_user(data["owner"], "owner")
        if data.get("done_date") and data["done_date"] > timezone.localdate():
            raise invalid("done_date", _("A milestone cannot be done in the future."))
        if "name" in data and not (data["name"] or "").strip():
            raise invalid("name", _("Name the milestone."))
        audited_update(instance=milestone, data=data, fields=["name", "planned_date", "done_date", "owner"],
                       actor=actor, channel=channel, action=ServiceAction.MILESTONE_UPDATE, target=delivery,
                       note=milestone.name)
    return milestone


def _image_kind(upload) -> str | None:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return documents.sniff(head)


def _store(delivery: Delivery, field: str, upload, kind: str) -> None:
    getattr(delivery, field).save(f"{uuid.uuid4().hex}.{kind}", upload, save=False)


def _accept(delivery: Delivery, *, accepted_on: date, actor, channel, changes: dict, note: str) -> None:
    """Mark accepted, tell the contract (its "on acceptance" instalments fall due), audit and notify."""
    delivery.status = DeliveryStatus.ACCEPTED
    delivery.accepted_at = timezone.now()
    delivery.recorded_by = actor
    delivery.save()
    # actor=None: who may record an acceptance is this app's rule (a delivery owner from implementation may);
    # the contract's own entry is written all the same.
    released = contract_delivery_accept(contract=delivery.contract, accepted_on=accepted_on, actor=None,
                                        channel=channel)
    contract = delivery.contract
    audit_record(actor=actor, channel=channel, action=ServiceAction.DELIVERY_ACCEPT, target=delivery,
                 changes={"status": [DeliveryStatus.IN_PROGRESS, DeliveryStatus.ACCEPTED], **changes}, note=note)
    survey_for_delivery(delivery, channel=channel)
    message = _("The delivery of %(contract)s was accepted.") % {"contract": contract.number}
    if released:
        message += " " + _("Now due: %(instalments)s") % {"instalments": "; ".join(
            f"{i.title} {format_yuan(i.amount)} → {i.due_date}" for i in released)}
    recipients = {contract.owner_id: contract.owner, delivery.owner_id: delivery.owner}
    if released:
        recipients.update({u.pk: u for u in finance_users()})
    recipients.pop(getattr(actor, "pk", None), None)
    for user in recipients.values():
        notify(recipient=user, kind="delivery.accepted", url=delivery.get_absolute_url(), message=message,
               key=f"delivery-accepted:{delivery.pk}")


def delivery_accept_by_link(*, delivery: Delivery, name: str, phone: str, comment: str = "", signature=None,
                            channel: str = Channel.FORM) -> Delivery:
    """The customer accepts through their link: their name and phone, a comment and an optional signature image
    (PNG or JPEG, checked by its first bytes, not its name)."""
    name, phone, comment = (name or "").strip()[:100], (phone or "").strip()[:40], (comment or "").strip()[:2000]
    errors = {}
    if not name:
        errors["name"] = [_("Say who accepts the delivery.")]
    if not phone:
        errors["phone"] = [_("Leave a phone number we can call back.")]
    elif problem := normalize.phone_error("mobile", phone):
        errors["phone"] = [problem]
    kind = None
    if signature is not None:
        kind = _image_kind(signature)
        if signature.size > SIGNATURE_MAX_BYTES:
            errors["signature"] = [_("The signature image is larger than 2 MB.")]
        elif kind not in SIGNATURE_KINDS:
            errors["signature"] = [_("The signature must be a PNG or JPEG image.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    with transaction.atomic():
        delivery = _locked(delivery)
        _require_open(delivery)
        _require_milestones_done(delivery)
        delivery.accepted_via = AcceptedVia.LINK
        delivery.acceptor_name, delivery.acceptor_phone, delivery.acceptance_comment = name, phone, comment
        if signature is not None:
            _store(delivery, "signature", signature, kind)
        try:
            _accept(delivery, accepted_on=timezone.localdate(), actor=None, channel=channel,
                    changes={"acceptor_name": [None, name], "acceptor_phone": [None, phone]},
                    note=comment[:500])
        except Exception:
            if delivery.signature:
                delivery.signature.delete(save=False)
            raise
    return delivery


def delivery_accept_by_form(*, delivery: Delivery, upload, accepted_on: date | None, actor: User,
                            acceptor_name: str = "", guard=None, channel: str = Channel.WEB) -> Delivery:
    """Staff record the acceptance form the customer signed (a PDF or an image, checked like a signed contract)."""
    if upload is None and not (guard and guard.problem):
        raise invalid("file", _("Choose the signed acceptance form (PDF, JPG or PNG)."))
    if problem := documents.uploaded_file_problem(upload, guard):
        raise ValidationFailed(problem, field_errors={"file": [problem]}, code="file_refused")
    accepted_on = accepted_on or timezone.localdate()
    if accepted_on > timezone.localdate():
        raise invalid("accepted_on", _("The acceptance cannot be in the future."))
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    with transaction.atomic():
        delivery = _locked(delivery)
        _require_run(actor, delivery)
        _require_open(delivery)
        delivery.accepted_via = AcceptedVia.FORM
        delivery.acceptor_name = (acceptor_name or "").strip()[:100]
        _store(delivery, "acceptance_form", upload, _image_kind(upload))
        try:
            _accept(delivery, accepted_on=accepted_on, actor=actor, channel=channel,
                    changes={"acceptance_form": [None, upload.name[:200]]},
                    note=f"{accepted_on} · sha256 {digest.hexdigest()[:12]}")
        except Exception:
            delivery.acceptance_form.delete(save=False)
            raise
    return delivery
