"""Deliveries and their milestones over JSON: list, read, start one for a signed contract, change it, add and change
milestones (marking one done, or open again).

The same services as the pages: a delivery you may not see is a 404, a change you may not make a 403, a change to an
accepted delivery a 409 `delivery_status`, a field a person must fix a 422. The acceptance itself stays with the
customer's link and the signed form uploaded on the page, which release the instalments due on acceptance.
"""

from datetime import date, datetime
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from closeloop.contracts.api import ERRORS, CustomerOut, PersonOut
from closeloop.contracts.selectors import get_contract_for_user
from closeloop.core.apischema import IsoDate, JsonInt
from closeloop.core.customfields import indexes
from closeloop.core.customfields.api import (
    FILTERS_DESCRIPTION,
    custom_in,
    custom_out,
    filters_in,
    list_filters,
    values_for,
)
from closeloop.core.errors import ErrorOut, NotFound, ValidationFailed
from closeloop.core.models import Channel
from closeloop.core.pagination import api_page

from . import deliveries
from .api import colleague
from .models import AcceptedVia, DeliveryStatus
from .selectors import delivery_list, get_delivery_for_user, get_milestone_for_user

router = Router()


class MilestoneOut(Schema):
    id: int
    name: str
    planned_date: date
    done_date: date | None
    owner: PersonOut


class DeliverySummaryOut(Schema):
    id: int
    title: str
    status: DeliveryStatus
    contract_id: int
    contract_number: str
    customer: CustomerOut
    owner: PersonOut = Field(..., description="The delivery owner.")
    created_at: datetime
    accepted_at: datetime | None

    @staticmethod
    def resolve_contract_number(obj):
        return obj.contract.number


class DeliveryOut(DeliverySummaryOut):
    notes: str
    accepted_via: AcceptedVia | None = Field(None, description="The customer's link or a signed form uploaded.")
    acceptor_name: str
    milestones: list[MilestoneOut]
    custom: dict[str, Any] = custom_out(deliveries.DELIVERY_TARGET)

    @staticmethod
    def resolve_custom(obj, context):
        return values_for(obj, context)

    @staticmethod
    def resolve_accepted_via(obj):
        return obj.accepted_via or None

    @staticmethod
    def resolve_milestones(obj):
        return list(obj.milestones.select_related("owner").order_by("position", "id"))


class DeliveryPage(Schema):
    items: list[DeliverySummaryOut]
    page: int
    page_size: int
    has_next: bool


class DeliveryParams(Schema):
    q: str = Field("", max_length=100)
    status: DeliveryStatus | None = None
    customer_id: int | None = Field(None, ge=1, le=2**63 - 1)
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=200)


class MilestoneIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    planned_date: IsoDate
    owner_id: JsonInt | None = Field(None, description="Empty: the delivery owner.")


class DeliveryIn(Schema):
    contract_id: JsonInt
    title: str = Field("", max_length=200, description="Empty: the contract's title.")
    owner_id: JsonInt | None = Field(None, description="The delivery owner; empty: you.")
    notes: str = Field("", max_length=2000)
    milestones: list[MilestoneIn] = Field([], max_length=deliveries.MAX_MILESTONES)
    custom: dict[str, Any] | None = custom_in(deliveries.DELIVERY_TARGET)


class DeliveryPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    notes: str | None = Field(None, max_length=2000)
    owner_id: JsonInt | None = None
    custom: dict[str, Any] | None = custom_in(deliveries.DELIVERY_TARGET)


class MilestonePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    planned_date: IsoDate | None = None
    done_date: IsoDate | None = Field(None, description="The day it was done (not in the future); null opens it again.")
    owner_id: JsonInt | None = None


def _delivery(request, delivery_id: int):
    try:
        return get_delivery_for_user(request.user, delivery_id)
    except Http404:
        raise NotFound(_("No delivery with this id, or you cannot see it.")) from None


@router.get("/", response={200: DeliveryPage, 401: ErrorOut, 422: ErrorOut}, summary="List the deliveries you can see",
            description="By page." + FILTERS_DESCRIPTION, openapi_extra=filters_in(deliveries.DELIVERY_TARGET))
def list_deliveries(request, params: Query[DeliveryParams]):
    rows = delivery_list(user=request.user, status=params.status or "", q=params.q, customer=params.customer_id)
    rows = indexes.apply_filters(rows, list_filters(request, deliveries.DELIVERY_TARGET))
    return api_page(rows, page=params.page, page_size=params.page_size)


@router.post("/", response={201: DeliveryOut, **ERRORS}, summary="Start the delivery of a signed contract",
             description="One delivery per contract (409 `delivery_exists`); the contract must be signed (409 "
             "`contract_status`). 404 for a contract you cannot see.")
def create_delivery(request, payload: DeliveryIn):
    try:
        contract = get_contract_for_user(request.user, payload.contract_id)
    except Http404:
        raise NotFound(_("No contract with this id, or you cannot see it.")) from None
    delivery = deliveries.delivery_create(
        contract=contract, actor=request.user, channel=Channel.API, owner=colleague(payload.owner_id, "owner_id"),
        title=payload.title, notes=payload.notes,
        milestones=[{"name": row.name, "planned_date": row.planned_date,
                     "owner": colleague(row.owner_id, f"milestones.{n}.owner_id")}
                    for n, row in enumerate(payload.milestones)], custom=payload.custom or {})
    return 201, _delivery(request, delivery.pk)


@router.get("/{delivery_id}", response={200: DeliveryOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a delivery")
def get_delivery(request, delivery_id: int):
    return _delivery(request, delivery_id)


@router.patch("/{delivery_id}", response={200: DeliveryOut, **ERRORS}, summary="Change a delivery's title, notes or owner")
def update_delivery(request, delivery_id: int, payload: DeliveryPatch):
    data = payload.model_dump(exclude_unset=True, exclude_none=True, include={"title", "notes"})
    if "title" in data and not data["title"].strip():
        raise ValidationFailed(_("Name the delivery."), field_errors={"title": [_("Name the delivery.")]})
    if payload.owner_id is not None:
        data["owner"] = colleague(payload.owner_id, "owner_id")
    if "custom" in payload.model_fields_set:
        data["custom"] = payload.custom or {}
    deliveries.delivery_update(delivery=_delivery(request, delivery_id), data=data, actor=request.user,
                               channel=Channel.API)
    return _delivery(request, delivery_id)


@router.post("/{delivery_id}/milestones", response={201: MilestoneOut, **ERRORS}, summary="Add a milestone",
             description="409 `delivery_status` once the delivery is accepted.")
def add_milestone(request, delivery_id: int, payload: MilestoneIn):
    milestone = deliveries.milestone_add(delivery=_delivery(request, delivery_id), name=payload.name,
                                         planned_date=payload.planned_date, owner=colleague(payload.owner_id, "owner_id"),
                                         actor=request.user, channel=Channel.API)
    return 201, milestone


@router.patch("/{delivery_id}/milestones/{milestone_id}", response={200: MilestoneOut, **ERRORS},
              summary="Re-plan, re-assign or mark a milestone done",
              description="Its owner may mark it done (or open it again); the delivery's people change anything.")
def update_milestone(request, delivery_id: int, milestone_id: int, payload: MilestonePatch):
    try:
        milestone = get_milestone_for_user(request.user, delivery_id, milestone_id)
    except Http404:
        raise NotFound(_("No milestone with this id, or you cannot see it.")) from None
    data = payload.model_dump(exclude_unset=True, include={"name", "planned_date", "done_date"})
    if data.get("name") is None:
        data.pop("name", None)
    if "planned_date" in data and data["planned_date"] is None:
        data.pop("planned_date")
    if payload.owner_id is not None:
        data["owner"] = colleague(payload.owner_id, "owner_id")
    deliveries.milestone_update(milestone=milestone, data=data, actor=request.user, channel=Channel.API)
    milestone.refresh_from_db()
    return milestone
