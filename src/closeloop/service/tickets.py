"""Ticket services: raise a ticket (staff, API, public form), assign it (by hand or by the lead assignment
engine's strategies among the service team), move its status through 新建 → 处理中 → 待客户确认 → 已解决 → 已关闭
(reopen allowed), and reply or note on it through the follow-up family. Every write audited on the ticket; the
SLA clocks (sla.py) follow the status."""

import hashlib
import uuid

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.contracts import documents
from closeloop.contracts.models import Contract
from closeloop.core.audit import audit_record, audited_update, custom_changes
from closeloop.core.customfields.registry import clean_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from closeloop.core.models import Channel, Role, User
from closeloop.core.notify import notify
from closeloop.deals.models import Customer
from closeloop.followup.models import ActivityKind, ParticipantRole
from closeloop.followup.services import activity_log, comment_add, participant_ensure
from closeloop.leads.assignment import choose_next

from . import access, sla
from .actions import ServiceAction
from .models import (
    OPEN_TICKET_STATUSES,
    ServiceSettings,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketPriority,
    TicketStatus,
)
from .surveys import survey_for_ticket
from .tasks import customer_mail

S = TicketStatus
# Which status may follow which (a person's moves; a reply moves 新建 to 处理中 by itself), in the order the
# ticket page offers them.
MOVES = {
    S.NEW: (S.IN_PROGRESS, S.WAITING, S.RESOLVED),
    S.IN_PROGRESS: (S.WAITING, S.RESOLVED),
    S.WAITING: (S.IN_PROGRESS, S.RESOLVED),
    S.RESOLVED: (S.CLOSED, S.IN_PROGRESS),  # back to 处理中: reopened
    S.CLOSED: (S.IN_PROGRESS,),  # reopened
}
REPLY_LIMIT = 5000
# A ticket's attachments: screenshots and scans, each a PDF or an image up to 10 MB, at most three at a time.
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 3
ATTACHMENT_HINT = gettext_lazy("Attach screenshots or documents as PDF, JPG or PNG.")


def _bounded(data: dict, name: str, limit: int) -> str:
    return str(data.get(name) or "").strip()[:limit]


def ticket_customers(user):
    """The customers `user` may raise tickets for: after-sales service serves every customer, others those they see."""
    if access.is_service(user):
        return Customer.objects.all()
    return Customer.objects.visible_to(user)


def ticket_contracts(user, customer: Customer):
    """The contracts of `customer` that `user` may link a ticket to: only those they may see (seeing the customer
    does not show its contracts from another rep's deals)."""
    return Contract.objects.visible_to(user).filter(customer=customer)


def ticket_fields(data: dict, *, customer: Customer, actor: User | None) -> dict:
    """Check and normalise what a ticket is raised with (the page, the API and the public form alike). A contract
    must be the customer's and one the actor may see (a form or a request may name any id)."""
    errors = {}
    values = {"title": _bounded(data, "title", 200), "description": _bounded(data, "description", 5000),
              "category": data.get("category") or TicketCategory.FAULT,
              "priority": data.get("priority") or TicketPriority.P3}
    if not values["title"]:
        errors["title"] = [_("Say in a few words what the problem is.")]
    if values["category"] not in TicketCategory.values:
        errors["category"] = [_("Choose a category.")]
    if values["priority"] not in TicketPriority.values:
        errors["priority"] = [_("Choose a priority from P1 to P4.")]
    contact, contract, product = data.get("contact"), data.get("contract"), data.get("product")
    if contact is not None and contact.customer_id != customer.pk:
        errors["contact"] = [_("Choose a contact of this customer.")]
    if contract is not None and (contract.customer_id != customer.pk or (
            actor is not None and not ticket_contracts(actor, customer).filter(pk=contract.pk).exists())):
        errors["contract"] = [_("Choose a contract of this customer.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    values.update(contact=contact, contract=contract, product=product)
    for name, limit in (("requester_name", 100), ("requester_phone", 40), ("requester_email", 200)):
        values[name] = _bounded(data, name, limit)
    return values


def _load(users) -> dict[int, int]:
    rows = (Ticket.objects.filter(owner__in=users, status__in=OPEN_TICKET_STATUSES).order_by()
            .values("owner").annotate(n=Count("id")).values_list("owner", "n"))
    return dict(rows)


def pick_assignee() -> User | None:
    """The next of the service team by the settings' strategy (the lead assignment engine's round-robin or least
    load), under the settings row's lock so two tickets raised together do not read the same cursor. The service
    manager, who hears of the team's breaches, takes new tickets only when nobody else in the team is available
    (a team of one: the manager is the team)."""
    row, _created = ServiceSettings.objects.select_for_update().get_or_create(pk=1)
    # Only after-sales service takes new tickets in turn; pre-sales and administrators are given one by hand.
    people = list(User.objects.filter(role=Role.SERVICE, is_active=True).order_by("pk"))
    agents = [person for person in people if person.pk != row.service_manager_id]
    if any(not person.on_leave for person in agents):
        people = agents
    owner = choose_next(strategy=row.assignment_strategy, people=people, last_assigned_id=row.last_assigned_id,
                        load=_load, is_available=lambda u: u.is_active and not u.on_leave)
    if owner is not None:
        ServiceSettings.objects.filter(pk=1).update(last_assigned=owner)
    return owner


def attachments_check(uploads, guard=None) -> list:
    """The uploads a ticket or reply may keep, or a ValidationFailed (field "attachments") naming the first refused:
    a PDF or an image by its first bytes, each at most ATTACHMENT_MAX_BYTES, at most MAX_ATTACHMENTS. `guard`: the
    request's documents.ScanUploadGuard, which has cut a refused upload off as it arrived."""
    uploads = [upload for upload in uploads or () if upload is not None]
    problem = guard.problem if guard is not None else None
    if problem is None and len(uploads) > MAX_ATTACHMENTS:
        problem = _("Attach at most %(n)d files.") % {"n": MAX_ATTACHMENTS}
    for upload in uploads:
        if problem is not None:
            break
        problem = documents.uploaded_file_problem(upload, None, limit=ATTACHMENT_MAX_BYTES, hint=ATTACHMENT_HINT)
    if problem:
        raise ValidationFailed(problem, field_errors={"attachments": [problem]}, code="file_refused")
    return uploads


def _attach(ticket: Ticket, uploads, actor, *, later: bool = False, reply=None) -> list[TicketAttachment]:
    """Keep checked uploads on the ticket, as the last step of the caller's transaction (a file written before a
    refusal is deleted again). `later`: with a reply (`reply`, its activity) or a note, shown on the timeline."""
    kept = []
    try:
        for upload in uploads:
            upload.seek(0)
            kind = documents.sniff(upload.read(16))
            upload.seek(0)
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            attachment = TicketAttachment(ticket=ticket, original_name=(upload.name or kind)[:200], size=upload.size,
                                          content_type=documents.KINDS[kind][0], sha256=digest.hexdigest(),
                                          uploaded_by=actor if getattr(actor, "pk", None) else None,
                                          added_later=later, reply=reply)
            attachment.file.save(f"{uuid.uuid4().hex}.{kind}", upload, save=False)
            kept.append(attachment)
            attachment.save()
    except Exception:
        for attachment in kept:
            attachment.file.delete(save=False)
        raise
    return kept


# The record type of tickets' custom fields (ServiceConfig.custom_field_targets).
TICKET_TARGET = "service.Ticket"


def ticket_create(*, customer: Customer, data: dict, actor: User | None, channel: str = Channel.WEB,
                  assignee: User | None = None, attachments=(), guard=None) -> Ticket:
    """Raise a ticket for a customer: staff (who must see the customer), the API, or the public form (actor None).
    Without an assignee the service team's strategy picks one; the SLA policy of its priority and the customer's
    tier sets its clocks. `attachments`: uploaded files, checked (see attachments_check) before anything is written."""
    if actor is not None:
        if not access.can_raise_ticket(actor) or not ticket_customers(actor).filter(pk=customer.pk).exists():
            raise Forbidden(_("You can raise tickets only for customers you can see."))
    values, custom = clean_record(lambda: ticket_fields(data, customer=customer, actor=actor), TICKET_TARGET, data,
                                  channel=channel, actor=actor, creating=True)
    uploads = attachments_check(attachments, guard)
    if assignee is not None and not access.can_be_assigned(assignee):
        raise invalid("owner", _("%(user)s is not in the service team.") % {"user": assignee})
    with transaction.atomic():
        owner = assignee or pick_assignee()
        ticket = Ticket(customer=customer, owner=owner, created_by=actor, channel=channel, number=uuid.uuid4().hex[:20],
                        custom=custom, **values)
        sla.apply_policy(ticket)
        ticket.save()
        ticket.number = f"GD-{timezone.localdate(ticket.created_at):%Y}-{ticket.pk:05d}"
        ticket.save(update_fields=["number"])
        changes = {"title": [None, ticket.title], "priority": [None, ticket.priority],
                   "category": [None, ticket.category], "owner": [None, str(owner) if owner else None],
                   **custom_changes(None, custom)}
        if uploads:
            changes["attachments"] = [None, "、".join(upload.name[:100] for upload in uploads)]
        audit_record(actor=actor, channel=channel, action=ServiceAction.TICKET_CREATE, target=ticket, changes=changes,
                     note=f"SLA: {ticket.sla_policy}" if ticket.sla_policy else "")
        if owner is not None and owner != actor:
            _tell_assignee(ticket, actor)
        _attach(ticket, uploads, actor)
    return ticket


def _tell_assignee(ticket: Ticket, actor) -> None:
    due = ticket.first_response_due_at
    notify(recipient=ticket.owner, kind="ticket.assigned", url=ticket.get_absolute_url(),
           message=_("Ticket %(ticket)s (%(priority)s) for %(customer)s is yours%(due)s")
           % {"ticket": ticket.number, "priority": ticket.priority, "customer": ticket.customer.name,
              "due": (_(", first response due %(due)s") % {"due": timezone.localtime(due).strftime("%m-%d %H:%M")})
              if due else ""})


def _locked(ticket: Ticket) -> Ticket:
    return (Ticket.objects.select_for_update(of=("self",)).select_related("customer", "owner", "contact")
            .get(pk=ticket.pk))


def _require_work(actor, ticket):
    if actor is not None and not access.can_work_ticket(actor, ticket):
        raise Forbidden(_("Only after-sales service, the assignee, the customer's rep or a manager work on this ticket."))


def ticket_assign(*, ticket: Ticket, assignee: User, actor: User, channel: str = Channel.WEB) -> Ticket:
    if not access.can_assign_ticket(actor):
        raise Forbidden(_("Only after-sales service or an administrator assigns tickets."))
    if not access.can_be_assigned(assignee):
        raise invalid("owner", _("%(user)s is not in the service team.") % {"user": assignee})
    with transaction.atomic():
        ticket = _locked(ticket)
        changes = audited_update(instance=ticket, data={"owner": assignee}, actor=actor, channel=channel,
                                 action=ServiceAction.TICKET_ASSIGN)
        if changes and assignee != actor:
            _tell_assignee(ticket, actor)
    return ticket


def ticket_update(*, ticket: Ticket, data: dict, actor: User, channel: str = Channel.WEB) -> Ticket:
    """Edit the subject, description, category or priority; a new priority takes its policy's targets (the clocks
    still count from when the ticket was raised)."""
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_work(actor, ticket)
        # Only these four change here; the linked contact and contract stay as they are (and are not checked
        # again: whoever works the ticket need not see the contract the rep linked).
        merged = {"title": ticket.title, "description": ticket.description, "category": ticket.category,
                  "priority": ticket.priority, **data}
        values, custom = clean_record(lambda: ticket_fields(merged, customer=ticket.customer, actor=actor),
                                      TICKET_TARGET, data, channel=channel, actor=actor, current=ticket.custom)
        values = {k: values[k] for k in ("title", "description", "category", "priority")} | {"custom": custom}
        old_priority = ticket.priority
        changes = audited_update(instance=ticket, data=values, actor=actor, channel=channel,
                                 action=ServiceAction.TICKET_UPDATE)
        if "priority" in changes and ticket.priority != old_priority:
            sla.apply_policy(ticket)
            ticket.save(update_fields=["sla_policy", "first_response_target", "resolution_target", "sla_always",
                                       "first_response_due_at", "resolution_due_at"])
    return ticket


def ticket_move(*, ticket: Ticket, status: str, actor: User | None, note: str = "",
                channel: str = Channel.WEB) -> Ticket:
    """Move the ticket to `status` (see MOVES). Waiting on the customer and resolved stop the resolution clock;
    moving on restarts it; reopening a resolved or closed ticket clears its resolution."""
    if status not in S.values:
        raise invalid("status", _("Choose a status."))
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_work(actor, ticket)
        if status not in MOVES[ticket.status]:
            raise Conflict(_("A ticket that is “%(from)s” cannot become “%(to)s”.")
                           % {"from": ticket.get_status_display(), "to": S(status).label}, code="ticket_status")
        now = timezone.now()
        old = ticket.status
        reopened = old in (S.RESOLVED, S.CLOSED)
        ticket.status = status
        if status in sla.PAUSED_STATUSES:
            sla.pause(ticket, now)
        else:
            sla.resume(ticket, now)
        if status == S.RESOLVED:
            ticket.resolved_at = now
        elif status == S.CLOSED:
            ticket.closed_at = now
        elif reopened:
            ticket.resolved_at = ticket.closed_at = None
        ticket.save()
        if status == S.RESOLVED:
            survey_for_ticket(ticket, channel=channel)
        action = ServiceAction.TICKET_REOPEN if reopened else ServiceAction.TICKET_STATUS
        audit_record(actor=actor, channel=channel, action=action, target=ticket,
                     changes={"status": [old, status]}, note=(note or "")[:500])
    return ticket


def on_activity(ticket: Ticket, activity) -> dict:
    """A follow-up logged with the customer (not a note) is the ticket's response: the first one stops the
    first-response clock, and a new ticket is then being worked on."""
    if activity.kind == ActivityKind.NOTE:
        return {}
    values = {}
    if ticket.first_responded_at is None:
        values["first_responded_at"] = activity.created_at
    if ticket.status == S.NEW:
        values["status"] = S.IN_PROGRESS
    return values


def ticket_reply(*, ticket: Ticket, actor: User, body: str, internal: bool = False,
                 channel: str = Channel.WEB, attachments=(), guard=None):
    """A reply to the customer (an email activity on the ticket's timeline, mailed to the requester or contact)
    or an internal note (a comment only colleagues read). Whoever replies takes part in the ticket from then on.
    `attachments`: files kept on the ticket with the reply or note (checked as a new ticket's), shown on its
    timeline and downloaded only by who may see the ticket (the customer's mail does not carry them)."""
    body = (body or "").strip()
    if not body:
        raise invalid("body", _("Write the reply."))
    if len(body) > REPLY_LIMIT:
        raise invalid("body", _("At most %(limit)d characters.") % {"limit": REPLY_LIMIT})
    uploads = attachments_check(attachments, guard)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_work(actor, ticket)
        if ticket.owner_id != actor.pk:
            participant_ensure(record=ticket, user=actor, role=ParticipantRole.SERVICE)
        if uploads:
            audit_record(actor=actor, channel=channel, action=ServiceAction.TICKET_ATTACH, target=ticket,
                         changes={"attachments": [None, "、".join(upload.name[:100] for upload in uploads)]})
        if internal:
            comment, _unreachable = comment_add(record=ticket, actor=actor, body=body, channel=channel)
            _attach(ticket, uploads, actor, later=True)
            return comment
        if ticket.status == S.CLOSED:
            raise Conflict(_("The ticket is closed; reopen it to reply."), code="ticket_status")
        activity = activity_log(actor=actor, record=ticket, channel=channel,
                                data={"kind": ActivityKind.EMAIL, "content": body})
        address = ticket.requester_email or (ticket.contact.email if ticket.contact else "")
        if address:
            subject = f"[{ticket.number}] {ticket.title}"
            transaction.on_commit(lambda: customer_mail.enqueue(address, subject, body))
        _attach(ticket, uploads, actor, later=True, reply=activity)
    return activity
