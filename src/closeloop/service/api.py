"""Tickets over JSON: list, raise, read, change, assign, move through the statuses, reply or note.

The same services as the pages: a ticket you may not see is a 404, a change you may not make a 403, a move the
status does not allow a 409 `ticket_status`, a field a person must fix a 422.
"""

from datetime import datetime
from typing import Any, Literal

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from closeloop.contracts.api import ERRORS, CustomerOut, PersonOut
from closeloop.core.apischema import JsonInt, QueryBool, StrictBool
from closeloop.core.customfields import indexes
from closeloop.core.customfields.api import (
    FILTERED_SYNC,
    FILTERS_DESCRIPTION,
    custom_in,
    custom_out,
    filters_in,
    list_filters,
    values_for,
)
from closeloop.core.errors import ErrorOut, NotFound, ValidationFailed
from closeloop.core.models import Channel, User
from closeloop.core.pagination import ApiPage, SyncParams, api_list

from . import sla, tickets
from .models import TicketCategory, TicketPriority, TicketStatus
from .selectors import get_ticket_for_user, ticket_list
from .ticket_search import SHORT_WINDOW

router = Router()


class TimerOut(Schema):
    due_at: datetime | None
    remaining_minutes: float | None = Field(None, description="Working minutes left while the clock runs or is "
                                            "paused in time; empty once it is met or breached.")
    state: Literal["met", "running", "paused", "breached", "none"]


class TicketSummaryOut(Schema):
    id: int
    number: str
    title: str
    status: TicketStatus
    priority: TicketPriority
    category: TicketCategory
    customer: CustomerOut
    owner: PersonOut | None = Field(None, description="The assignee.")
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None = Field(None, description="Empty while the clock is paused.")
    created_at: datetime


class TicketOut(TicketSummaryOut):
    description: str
    contact_id: int | None
    contract_id: int | None
    product_id: int | None
    channel: str
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    first_response: TimerOut
    resolution: TimerOut
    custom: dict[str, Any] = custom_out(tickets.TICKET_TARGET)

    @staticmethod
    def resolve_custom(obj, context):
        return values_for(obj, context)

    @staticmethod
    def resolve_first_response(obj):
        return _timers(obj)[0]

    @staticmethod
    def resolve_resolution(obj):
        return _timers(obj)[1]


def _timers(ticket) -> list[dict]:
    # Both clocks from one computation, kept on the ticket for the second field.
    if not hasattr(ticket, "_api_timers"):
        ticket._api_timers = [{"due_at": t.due_at, "remaining_minutes": t.remaining, "state": t.state}
                              for t in sla.timers(ticket)]
    return ticket._api_timers


class TicketPage(ApiPage):
    items: list[TicketSummaryOut]


class TicketParams(SyncParams):
    q: str = Field("", max_length=100, description=(
        "A fragment of the number, the subject or the customer's name. One or two characters search the newest "
        f"{SHORT_WINDOW:,} tickets the caller sees; three or more search every ticket."))
    status: TicketStatus | Literal["open"] | None = None
    priority: TicketPriority | None = None
    customer_id: int | None = Field(None, ge=1, le=2**63 - 1)
    mine: QueryBool = False
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=200)


class TicketIn(Schema):
    customer_id: JsonInt
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    category: TicketCategory = TicketCategory.FAULT
    priority: TicketPriority = TicketPriority.P3
    contact_id: JsonInt | None = None
    contract_id: JsonInt | None = None
    owner_id: JsonInt | None = Field(None, description="The assignee; empty: the service team's strategy picks one.")
    custom: dict[str, Any] | None = custom_in(tickets.TICKET_TARGET)


class TicketPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    category: TicketCategory | None = None
    priority: TicketPriority | None = Field(None, description="Takes the new priority's SLA targets.")
    custom: dict[str, Any] | None = custom_in(tickets.TICKET_TARGET)


class AssignIn(Schema):
    owner_id: JsonInt


class StatusIn(Schema):
    status: TicketStatus
    note: str = Field("", max_length=500)


class ReplyIn(Schema):
    body: str = Field(..., min_length=1, max_length=tickets.REPLY_LIMIT)
    internal: StrictBool = Field(False, description="An internal note colleagues read; otherwise a reply mailed to the customer.")


class ReplyOut(Schema):
    id: int
    internal: bool
    created_at: datetime


def _ticket(request, ticket_id: int):
    try:
        return get_ticket_for_user(request.user, ticket_id)
    except Http404:
        raise NotFound(_("No ticket with this id, or you cannot see it.")) from None


def colleague(user_id: int | None, field: str) -> User | None:
    """The active colleague a payload names by id (an assignee, an owner), or a 422 on `field`."""
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationFailed(_("No such colleague."), field_errors={field: [_("No such colleague.")]})
    return user


@router.get("/", response={200: TicketPage, 401: ErrorOut, 422: ErrorOut}, summary="List the tickets you can see",
            description="By page, or synced by `updated_since` and `cursor`." + FILTERS_DESCRIPTION + FILTERED_SYNC,
            openapi_extra=filters_in(tickets.TICKET_TARGET))
def list_tickets(request, params: Query[TicketParams]):
    rows = ticket_list(user=request.user, status=params.status or "", q=params.q, customer=params.customer_id,
                       mine=params.mine, priority=params.priority or "")
    rows = indexes.apply_filters(rows, list_filters(request, tickets.TICKET_TARGET))
    return api_list(rows, params, caller=request.user)


@router.post("/", response={201: TicketOut, **ERRORS}, summary="Raise a ticket for a customer",
             description="403 for a customer you cannot see. The SLA policy of the priority and the customer's tier "
             "sets the clocks.")
def create_ticket(request, payload: TicketIn):
    customer = tickets.ticket_customers(request.user).filter(pk=payload.customer_id).first()
    if customer is None:
        raise NotFound(_("No customer with this id, or you cannot see it."))
    contact = customer.contacts.filter(pk=payload.contact_id).first() if payload.contact_id else None
    contract = (tickets.ticket_contracts(request.user, customer).filter(pk=payload.contract_id).first()
                if payload.contract_id else None)
    if payload.contact_id and contact is None:
        raise ValidationFailed(_("Choose a contact of this customer."),
                               field_errors={"contact_id": [_("Choose a contact of this customer.")]})
    if payload.contract_id and contract is None:
        raise ValidationFailed(_("Choose a contract of this customer."),
                               field_errors={"contract_id": [_("Choose a contract of this customer.")]})
    data = payload.model_dump(include={"title", "description", "category", "priority"})
    ticket = tickets.ticket_create(customer=customer, actor=request.user, channel=Channel.API,
                                   assignee=colleague(payload.owner_id, "owner_id"),
                                   data={**data, "contact": contact, "contract": contract,
                                         "custom": payload.custom or {}})
    return 201, get_ticket_for_user(request.user, ticket.pk)


@router.get("/{ticket_id}", response={200: TicketOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a ticket")
def get_ticket(request, ticket_id: int):
    return _ticket(request, ticket_id)


@router.patch("/{ticket_id}", response={200: TicketOut, **ERRORS}, summary="Change a ticket")
def update_ticket(request, ticket_id: int, payload: TicketPatch):
    data = payload.model_dump(exclude_unset=True, exclude_none=True)
    if "custom" in payload.model_fields_set:
        data["custom"] = payload.custom or {}
    tickets.ticket_update(ticket=_ticket(request, ticket_id), actor=request.user, channel=Channel.API, data=data)
    return _ticket(request, ticket_id)


@router.post("/{ticket_id}/assign", response={200: TicketOut, **ERRORS}, summary="Assign a ticket")
def assign_ticket(request, ticket_id: int, payload: AssignIn):
    tickets.ticket_assign(ticket=_ticket(request, ticket_id), assignee=colleague(payload.owner_id, "owner_id"),
                          actor=request.user, channel=Channel.API)
    return _ticket(request, ticket_id)


@router.post("/{ticket_id}/status", response={200: TicketOut, **ERRORS}, summary="Move a ticket to a status",
             description="新建 → 处理中 → 待客户确认 → 已解决 → 已关闭; a resolved or closed ticket may be reopened (处理中). "
             "409 `ticket_status` for a move the status does not allow. Waiting on the customer and resolved stop "
             "the resolution clock.")
def move_ticket(request, ticket_id: int, payload: StatusIn):
    tickets.ticket_move(ticket=_ticket(request, ticket_id), status=payload.status, note=payload.note,
                        actor=request.user, channel=Channel.API)
    return _ticket(request, ticket_id)


@router.post("/{ticket_id}/replies", response={201: ReplyOut, **ERRORS}, summary="Reply to the customer or note",
             description="A reply is mailed to the requester or the contact and stops the first-response clock; an "
             "internal note is for colleagues. 409 `ticket_status` to reply on a closed ticket.")
def reply_ticket(request, ticket_id: int, payload: ReplyIn):
    row = tickets.ticket_reply(ticket=_ticket(request, ticket_id), actor=request.user, body=payload.body,
                               internal=payload.internal, channel=Channel.API)
    return 201, {"id": row.pk, "internal": payload.internal, "created_at": row.created_at}
