"""Deals over JSON: customers, conversion, opportunities, stage moves (gates enforced), follow-ups."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from closeloop.core.apischema import IsoDate, IsoDateTime, JsonInt, Money, StrictBool, int_in
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
from closeloop.core.errors import Conflict, ErrorOut, NotFound, ValidationFailed
from closeloop.core.models import Channel, User
from closeloop.core.pagination import ApiPage, SyncParams, api_list
from closeloop.deals.services.conversion import lead_convert
from closeloop.deals.services.customers import (
    CONTACT_TARGET,
    CUSTOMER_TARGET,
    contact_create,
    contact_delete,
    contact_update,
    customer_create,
    customer_update,
)
from closeloop.deals.services.opportunities import (
    DEAL_TARGET,
    opportunity_create,
    opportunity_move_stage,
    opportunity_transfer,
    opportunity_update,
)
from closeloop.followup.api import ActivityIn, ActivityOut, ActivityPage, activities_of, activity_log_api
from closeloop.followup.models import Handoff, ParticipantRole
from closeloop.followup.services import (
    comment_add,
    handoff_complete,
    handoff_request,
    handoff_respond,
)
from closeloop.leads.selectors import get_lead_for_user

from .models import Contact, Customer, Opportunity, OpportunityStatus, Pipeline, Stage
from .pool import customer_claim, customer_release
from .selectors import (
    OpportunityFilters,
    customer_list,
    customer_pool,
    get_customer_for_user,
    get_opportunity_for_user,
    opportunity_list,
)

router = Router()


class CustomerIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    credit_code: str = Field("", max_length=40)
    industry: str = Field("", max_length=50)
    region: str = Field("", max_length=50)
    city: str = Field("", max_length=50)
    address: str = Field("", max_length=200)
    company_size: str = Field("", max_length=30)
    custom: dict[str, Any] | None = custom_in(CUSTOMER_TARGET)


class CustomerOut(Schema):
    id: int
    name: str
    credit_code: str
    industry: str
    region: str
    city: str
    owner: str | None
    next_follow_up_at: datetime | None
    last_activity_at: datetime | None
    custom: dict[str, Any] = custom_out(CUSTOMER_TARGET)

    @staticmethod
    def resolve_custom(obj, context):
        return values_for(obj, context)

    @staticmethod
    def resolve_owner(obj):
        return obj.owner.username if obj.owner_id else None


class CustomerPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    credit_code: str | None = Field(None, max_length=40)
    industry: str | None = Field(None, max_length=50)
    region: str | None = Field(None, max_length=50)
    city: str | None = Field(None, max_length=50)
    address: str | None = Field(None, max_length=200)
    company_size: str | None = Field(None, max_length=30)
    custom: dict[str, Any] | None = custom_in(CUSTOMER_TARGET)


class PoolCustomerOut(Schema):
    """A customer in the public pool (公海): who and where; its contacts are shown once it is claimed."""

    id: int
    name: str
    industry: str
    region: str
    city: str
    pooled_at: datetime | None
    updated_at: datetime


class PoolCustomerPage(ApiPage):
    items: list[PoolCustomerOut]


class ReleaseIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300, description="Why the customer goes back to the pool; kept "
                        "in its trail.")


class ContactIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    title: str = Field("", max_length=100)
    mobile: str = Field("", max_length=40)
    landline: str = Field("", max_length=40)
    email: str = Field("", max_length=200)
    wechat: str = Field("", max_length=100)
    custom: dict[str, Any] | None = custom_in(CONTACT_TARGET)


class ContactPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    title: str | None = Field(None, max_length=100)
    mobile: str | None = Field(None, max_length=40)
    landline: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200)
    wechat: str | None = Field(None, max_length=100)
    custom: dict[str, Any] | None = custom_in(CONTACT_TARGET)


class ContactOut(Schema):
    id: int
    customer_id: int
    name: str
    title: str
    mobile: str
    landline: str
    email: str
    wechat: str
    is_primary: bool
    created_at: datetime
    custom: dict[str, Any] = custom_out(CONTACT_TARGET)

    @staticmethod
    def resolve_custom(obj, context):
        return values_for(obj, context)


class ContactPage(ApiPage):
    items: list[ContactOut]


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    required_fields: list[str]
    stale_after_days: int | None
    is_won: bool
    is_lost: bool


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj):
        return list(obj.stages.all())


class OpportunityOut(Schema):
    id: int
    name: str
    customer_id: int
    customer: str
    lead_id: int | None
    amount: Decimal | None
    expected_close_date: date | None
    pipeline_id: int
    stage_id: int
    stage: str
    status: str
    probability: int
    budget: Decimal | None
    authority: str
    need: str
    timeline: str
    owner: str
    next_step: str
    next_follow_up_at: datetime | None
    last_activity_at: datetime | None
    stage_entered_at: datetime
    lost_reason: str | None
    lost_note: str
    win_reason: str | None
    win_note: str
    won_at: datetime | None
    lost_at: datetime | None
    created_at: datetime
    updated_at: datetime
    custom: dict[str, Any] = custom_out(DEAL_TARGET)

    @staticmethod
    def resolve_custom(obj, context):
        return values_for(obj, context)

    @staticmethod
    def resolve_customer(obj):
        return obj.customer.name

    @staticmethod
    def resolve_stage(obj):
        return obj.stage.name

    @staticmethod
    def resolve_owner(obj):
        return obj.owner.username

    @staticmethod
    def resolve_lost_reason(obj):
        return obj.lost_reason.name if obj.lost_reason_id else None

    @staticmethod
    def resolve_win_reason(obj):
        return obj.win_reason.name if obj.win_reason_id else None


class OpportunityIn(Schema):
    customer_id: JsonInt
    name: str = Field(..., min_length=1, max_length=200)
    amount: Money | None = None
    expected_close_date: IsoDate | None = None
    budget: Money | None = None
    authority: str = Field("", max_length=200)
    need: str = Field("", max_length=5000)
    timeline: str = Field("", max_length=100)
    next_step: str = Field("", max_length=200)
    next_follow_up_at: IsoDateTime | None = None
    contact_ids: list[JsonInt] = Field(default_factory=list, max_length=50)
    custom: dict[str, Any] | None = custom_in(DEAL_TARGET)


class OpportunityFields(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    amount: Money | None = None
    expected_close_date: IsoDate | None = None
    probability: int_in(minimum=0, maximum=100) | None = None
    budget: Money | None = None
    authority: str | None = Field(None, max_length=200)
    need: str | None = Field(None, max_length=5000)
    timeline: str | None = Field(None, max_length=100)
    next_step: str | None = Field(None, max_length=200)
    next_follow_up_at: IsoDateTime | None = None
    contact_ids: list[JsonInt] | None = Field(None, max_length=50)


class OpportunityPatch(OpportunityFields):
    custom: dict[str, Any] | None = custom_in(DEAL_TARGET)


class StageMoveIn(OpportunityFields):
    stage_id: JsonInt
    # What the board's gate dialog asks for, sent with the move: no PATCH first for a gate's custom field.
    custom: dict[str, Any] | None = custom_in(DEAL_TARGET)
    lost_reason: str | None = Field(None, max_length=100, description="Name or id of a lost-reason category.")
    lost_note: str | None = Field(None, max_length=5000)
    win_reason: str | None = Field(None, max_length=100, description="Name or id of a win-reason category (optional).")
    win_note: str | None = Field(None, max_length=5000)


class ConvertIn(Schema):
    opportunity_name: str = Field("", max_length=200)
    amount: Money | None = None
    pipeline_id: JsonInt | None = None


class ConvertOut(Schema):
    customer: CustomerOut
    opportunity: OpportunityOut
    contact_id: int
    customer_created: bool


class OpportunityPage(ApiPage):
    items: list[OpportunityOut]


class CustomerPage(ApiPage):
    items: list[CustomerOut]


class ListParams(SyncParams):
    q: str = Field("", max_length=100)
    status: OpportunityStatus | None = None
    stage_id: int | None = None
    pipeline_id: int | None = None
    owner: str = Field("", max_length=20, description="A user id or `me`.")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=200)


class PoolParams(SyncParams):
    q: str = Field("", max_length=100)


class CustomerParams(SyncParams):
    q: str = Field("", max_length=100)
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=200)


def _deal(request, deal_id: int):
    try:
        return get_opportunity_for_user(request.user, deal_id)
    except Http404:
        raise NotFound(_("No deal with this id, or you cannot see it.")) from None


def _customer(request, customer_id: int):
    try:
        return get_customer_for_user(request.user, customer_id)
    except Http404:
        raise NotFound(_("No customer with this id, or you cannot see it.")) from None


def _contact(request, contact_id: int) -> Contact:
    contact = Contact.objects.visible_to(request.user).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(_("No contact with this id, or you cannot see it."))
    return contact


def _patch(payload: Schema) -> dict:
    """The fields a PATCH sent; a field sent as null is left as it is (as the leads' PATCH does)."""
    return {key: value for key, value in payload.model_dump(exclude_unset=True).items() if value is not None}


def _fields(payload: Schema) -> dict:
    data = payload.model_dump(exclude_unset=True)
    if "contact_ids" in data:
        ids = data.pop("contact_ids")
        if ids is not None:
            data["contacts"] = ids
    return data


@router.get("/pipelines", response={200: list[PipelineOut], 401: ErrorOut}, summary="Pipelines and their stages")
def list_pipelines(request):
    return list(Pipeline.objects.filter(active=True).prefetch_related("stages"))


@router.get("/customers", response={200: CustomerPage, 401: ErrorOut, 422: ErrorOut}, summary="List the customers you can see",
            description="Newest first by page, or synced by `updated_since` and `cursor`." + FILTERS_DESCRIPTION + FILTERED_SYNC,
            openapi_extra=filters_in(CUSTOMER_TARGET))
def list_customers(request, params: Query[CustomerParams]):
    customers = customer_list(user=request.user, q=params.q)
    return api_list(indexes.apply_filters(customers, list_filters(request, CUSTOMER_TARGET)), params, caller=request.user)


@router.get("/customers/pool", response={200: PoolCustomerPage, 401: ErrorOut, 422: ErrorOut},
            summary="List the customers' public pool (公海)",
            description="Sales staff see the customers nobody owns; others get an empty list. Syncing lists the "
            "customers that came into the pool or changed there since; one claimed since is not reported.")
def list_customer_pool(request, params: Query[PoolParams]):
    return api_list(customer_pool(user=request.user, q=params.q), params, caller=request.user)


@router.post("/customers", response={201: CustomerOut, 401: ErrorOut, 409: ErrorOut, 422: ErrorOut},
             summary="Create a customer", description="Refused with 409 when a customer with the same credit code "
             "or company name exists; the message names its owner.")
def create_customer(request, payload: CustomerIn):
    return Status(201, customer_create(data=payload.model_dump(), actor=request.user, channel=Channel.API))


@router.get("/customers/{customer_id}", response={200: CustomerOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a customer")
def get_customer(request, customer_id: int):
    return _customer(request, customer_id)


@router.patch("/customers/{customer_id}", response={200: CustomerOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                   409: ErrorOut, 422: ErrorOut},
              summary="Update a customer's fields",
              description="Refused with 409 when another customer has the same credit code or company name.")
def update_customer(request, customer_id: int, payload: CustomerPatch):
    customer = _customer(request, customer_id)
    customer_update(customer=customer, data=_patch(payload), actor=request.user, channel=Channel.API)
    return _customer(request, customer_id)


@router.post("/customers/{customer_id}/claim", response={200: CustomerOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                         409: ErrorOut, 422: ErrorOut},
             summary="Claim a customer from the public pool",
             description="Under the same caps and cool-down as the pool page; of two simultaneous claims one wins "
             "and the other gets 409.")
def claim_customer(request, customer_id: int):
    customer = customer_pool(user=request.user).filter(pk=customer_id).first()
    if customer is None:
        if Customer.objects.filter(pk=customer_id, owner=request.user).exists():
            raise Conflict(_("This customer is already yours."), code="already_yours")
        raise NotFound(_("No customer with this id in the pool; someone else may have claimed it."))
    customer_claim(customer=customer, actor=request.user, channel=Channel.API)
    return _customer(request, customer_id)


@router.post("/customers/{customer_id}/release", response={200: PoolCustomerOut, 401: ErrorOut, 403: ErrorOut,
                                                           404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
             summary="Return a customer to the public pool",
             description="The owner or their manager; refused with 409 while the customer has open deals.")
def release_customer(request, customer_id: int, payload: ReleaseIn):
    customer = _customer(request, customer_id)
    return customer_release(customer=customer, actor=request.user, reason=payload.reason, channel=Channel.API)


@router.get("/customers/{customer_id}/contacts", response={200: ContactPage, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
            summary="List a customer's contacts")
def list_contacts(request, customer_id: int, params: Query[SyncParams]):
    customer = _customer(request, customer_id)
    contacts = Contact.objects.filter(customer=customer).order_by("-is_primary", "name", "id")
    return api_list(contacts, params, caller=request.user)


@router.post("/customers/{customer_id}/contacts", response={201: ContactOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                            409: ErrorOut, 422: ErrorOut},
             summary="Add a contact to a customer",
             description="Refused with 409 when the customer has a contact with the same phone or email.")
def create_contact(request, customer_id: int, payload: ContactIn):
    customer = _customer(request, customer_id)
    return Status(201, contact_create(customer=customer, data=payload.model_dump(), actor=request.user,
                                      channel=Channel.API))


@router.get("/contacts/{contact_id}", response={200: ContactOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a contact")
def get_contact(request, contact_id: int):
    return _contact(request, contact_id)


@router.patch("/contacts/{contact_id}", response={200: ContactOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                  409: ErrorOut, 422: ErrorOut},
              summary="Update a contact")
def update_contact(request, contact_id: int, payload: ContactPatch):
    contact = _contact(request, contact_id)
    return contact_update(contact=contact, data=_patch(payload), actor=request.user, channel=Channel.API)


@router.delete("/contacts/{contact_id}", response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
               summary="Delete a contact",
               description="The customer's owner or their manager; refused with 409 while it is the only contact of "
               "an open deal.")
def delete_contact(request, contact_id: int):
    contact_delete(contact=_contact(request, contact_id), actor=request.user, channel=Channel.API)
    return Status(204, None)


@router.get("/customers/{customer_id}/activities", response={200: ActivityPage, 401: ErrorOut, 404: ErrorOut,
                                                             422: ErrorOut},
            summary="List the follow-ups on a customer, newest first")
def list_customer_activities(request, customer_id: int, params: Query[SyncParams]):
    return api_list(activities_of(_customer(request, customer_id)), params, caller=request.user, key="created_at")


@router.post("/customers/{customer_id}/activities", response={201: ActivityOut, 401: ErrorOut, 403: ErrorOut,
                                                              404: ErrorOut, 422: ErrorOut},
             summary="Log a follow-up on a customer")
def log_customer_activity(request, customer_id: int, payload: ActivityIn):
    return Status(201, activity_log_api(request, _customer(request, customer_id), payload))


@router.post("/convert/{lead_id}", response={201: ConvertOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                                              422: ErrorOut},
             summary="Convert a qualified lead into customer, contact and deal")
def convert_lead(request, lead_id: int, payload: ConvertIn):
    try:
        lead = get_lead_for_user(request.user, lead_id)
    except Http404:
        raise NotFound(_("No lead with this id, or you cannot see it.")) from None
    pipeline = None
    if payload.pipeline_id is not None:
        pipeline = Pipeline.objects.filter(pk=payload.pipeline_id, active=True).first()
        if pipeline is None:
            raise ValidationFailed(_("Please correct the marked fields."), field_errors={"pipeline_id": [_("No such pipeline.")]})
    result = lead_convert(lead=lead, actor=request.user, channel=Channel.API,
                                   opportunity_name=payload.opportunity_name, amount=payload.amount, pipeline=pipeline)
    return Status(201, {"customer": result.customer, "opportunity": result.opportunity,
                        "contact_id": result.contact.pk, "customer_created": result.customer_created})


@router.get("/", response={200: OpportunityPage, 401: ErrorOut, 422: ErrorOut}, summary="List the deals you can see",
            description="Most recently changed first by page, or synced by `updated_since` and `cursor`."
            + FILTERS_DESCRIPTION + FILTERED_SYNC, openapi_extra=filters_in(DEAL_TARGET))
def list_opportunities(request, params: Query[ListParams]):
    filters = OpportunityFilters(custom=tuple(list_filters(request, DEAL_TARGET)), q=params.q, status=params.status or "", stage=str(params.stage_id or ""),
                                 pipeline=str(params.pipeline_id or ""), owner=params.owner)
    deals = opportunity_list(user=request.user, filters=filters).select_related("customer", "stage", "owner", "lost_reason", "win_reason")
    return api_list(deals, params, caller=request.user)


@router.post("/", response={201: OpportunityOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Create a deal")
def create_opportunity(request, payload: OpportunityIn):
    customer = _customer(request, payload.customer_id)
    data = _fields(payload)
    data.pop("customer_id", None)
    deal = opportunity_create(customer=customer, data=data, actor=request.user, channel=Channel.API)
    return Status(201, _deal(request, deal.pk))


@router.get("/{deal_id}", response={200: OpportunityOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a deal")
def get_opportunity(request, deal_id: int):
    return _deal(request, deal_id)


@router.patch("/{deal_id}", response={200: OpportunityOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
              summary="Update a deal's fields", description="A deal keeps its stage gate: a required field cannot be emptied.")
def update_opportunity(request, deal_id: int, payload: OpportunityPatch):
    deal = _deal(request, deal_id)
    opportunity_update(opportunity=deal, data=_fields(payload), actor=request.user, channel=Channel.API)
    return _deal(request, deal_id)


@router.post("/{deal_id}/stage", response={200: OpportunityOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Move a deal to a stage",
             description="Stage gates apply: a 422 with code `stage_gate` lists the missing fields in `details.missing`. "
             "Fields sent along, custom values (`custom`, by key) among them, are checked as an update checks them "
             "and saved, in the move's trail entry, only when the move succeeds. Losing needs a `lost_reason`.")
def move_opportunity(request, deal_id: int, payload: StageMoveIn):
    deal = _deal(request, deal_id)
    stage = Stage.objects.filter(pk=payload.stage_id, pipeline_id=deal.pipeline_id).first()
    if stage is None:
        raise ValidationFailed(_("Please correct the marked fields."),
                               field_errors={"stage_id": [_("Not a stage of this deal's pipeline.")]})
    fields = _fields(payload)
    fields.pop("stage_id", None)
    opportunity_move_stage(opportunity=deal, stage=stage, actor=request.user, channel=Channel.API, fields=fields)
    return _deal(request, deal_id)


@router.get("/{deal_id}/activities", response={200: ActivityPage, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
            summary="List the follow-ups on a deal, newest first")
def list_opportunity_activities(request, deal_id: int, params: Query[SyncParams]):
    return api_list(activities_of(_deal(request, deal_id)), params, caller=request.user, key="created_at")


@router.post("/{deal_id}/activities", response={201: ActivityOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Log a follow-up on a deal")
def log_opportunity_activity(request, deal_id: int, payload: ActivityIn):
    return Status(201, activity_log_api(request, _deal(request, deal_id), payload))


@router.post("/leads/{lead_id}/activities", response={201: ActivityOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Log a follow-up on a lead")
def log_lead_activity(request, lead_id: int, payload: ActivityIn):
    try:
        lead = get_lead_for_user(request.user, lead_id)
    except Http404:
        raise NotFound(_("No lead with this id, or you cannot see it.")) from None
    return Status(201, activity_log_api(request, lead, payload))


class HandoffIn(Schema):
    assignee: str = Field(..., min_length=1, max_length=150, description="Username of the receiver.")
    title: str = Field(..., min_length=1, max_length=200)
    due_at: IsoDateTime
    role: ParticipantRole = ParticipantRole.PRESALES
    details: str = Field("", max_length=5000)


class HandoffOut(Schema):
    id: int
    opportunity_id: int
    title: str
    role: str
    assignee: str
    due_at: datetime
    status: str
    response_note: str

    @staticmethod
    def resolve_assignee(obj):
        return obj.assignee.username

    @staticmethod
    def resolve_opportunity_id(obj):
        # Hand-offs of this router are on deals (the follow-up family keeps them for any record).
        return obj.record_id


class HandoffAnswerIn(Schema):
    answer: Literal["accept", "decline", "done"]
    note: str = Field("", max_length=300)


class TransferIn(Schema):
    new_owner: str = Field(..., min_length=1, max_length=150, description="Username of the new owner.")
    reason: str = Field(..., min_length=1, max_length=300)
    keep_as_collaborator: StrictBool = False


class CommentIn(Schema):
    body: str = Field(..., min_length=1, max_length=5000)


class CommentOut(Schema):
    id: int
    body: str
    created_at: datetime
    not_notified: list[str]


def _user(username: str, field: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors={field: [_("No active user with this name.")]})
    return user


@router.post("/{deal_id}/handoffs", response={201: HandoffOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Hand work over to someone", description="The hand-off waits until the receiver accepts it.")
def request_handoff(request, deal_id: int, payload: HandoffIn):
    deal = _deal(request, deal_id)
    return Status(201, handoff_request(
        record=deal, assignee=_user(payload.assignee, "assignee"), title=payload.title, due_at=payload.due_at,
        role=payload.role, details=payload.details, actor=request.user, channel=Channel.API,
    ))


@router.post("/handoffs/{handoff_id}/answer",
             response={200: HandoffOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
             summary="Accept, decline or complete a hand-off given to you")
def answer_handoff(request, handoff_id: int, payload: HandoffAnswerIn):
    handoff = Handoff.objects.of_type(Opportunity).filter(pk=handoff_id).first()
    if handoff is None:
        raise NotFound(_("No hand-off with this id, or you cannot see it."))
    _deal(request, handoff.record_id)
    if payload.answer == "done":
        return handoff_complete(handoff=handoff, actor=request.user, note=payload.note, channel=Channel.API)
    return handoff_respond(handoff=handoff, actor=request.user, accept=payload.answer == "accept",
                           note=payload.note, channel=Channel.API)


@router.post("/{deal_id}/transfer", response={200: OpportunityOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Transfer a deal to another rep (managers and administrators)")
def transfer_opportunity(request, deal_id: int, payload: TransferIn):
    deal = _deal(request, deal_id)
    opportunity_transfer(opportunity=deal, new_owner=_user(payload.new_owner, "new_owner"), actor=request.user,
                                  reason=payload.reason, keep_as_collaborator=payload.keep_as_collaborator,
                                  channel=Channel.API)
    return Opportunity.objects.select_related("customer", "stage", "owner", "lost_reason", "win_reason").get(pk=deal.pk)


@router.post("/{deal_id}/comments", response={201: CommentOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Comment on a deal; @username notifies colleagues who can see it")
def add_comment(request, deal_id: int, payload: CommentIn):
    deal = _deal(request, deal_id)
    comment, unreachable = comment_add(record=deal, actor=request.user, body=payload.body, channel=Channel.API)
    return Status(201, {"id": comment.pk, "body": comment.body, "created_at": comment.created_at,
                        "not_notified": [u.username for u in unreachable]})
