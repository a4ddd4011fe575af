"""Leads over JSON: create (with Idempotency-Key), list, read and update under the same visibility."""

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic_core import to_jsonable_python

from closeloop.core import fastsql
from closeloop.core.apischema import IsoDate, Money, StrictBool
from closeloop.core.customfields.api import (
    FILTERED_SYNC,
    FILTERS_DESCRIPTION,
    custom_in,
    custom_out,
    filters_in,
    list_filters,
    values_for,
)
from closeloop.core.errors import Conflict, ErrorOut, NotFound
from closeloop.core.models import Channel
from closeloop.core.pagination import ApiPage, SyncParams, api_list
from closeloop.followup.api import ActivityIn, ActivityOut, ActivityPage, activities_of, activity_log_api

from . import pool
from .models import Campaign, DisqualifyReason, IdempotencyRecord, Lead, LeadSource, LeadStatus
from .selectors import LeadFilters, get_lead_for_user, lead_list
from .services import intake_fast
from .services.editing import lead_disqualify, lead_update
from .services.intake import LEAD_TARGET, lead_submit

router = Router()


class LeadIn(Schema):
    company_name: str = Field("", max_length=200)
    contact_name: str = Field("", max_length=100)
    title: str = Field("", max_length=100)
    mobile: str = Field("", max_length=40)
    landline: str = Field("", max_length=40)
    email: str = Field("", max_length=200)
    wechat: str = Field("", max_length=100)
    region: str = Field("", max_length=50)
    city: str = Field("", max_length=50)
    industry: str = Field("", max_length=50)
    company_size: str = Field("", max_length=30)
    need: str = Field("", max_length=5000)
    budget: Money | None = None
    timeline: str = Field("", max_length=50)
    product_interest: str = Field("", max_length=100)
    credit_code: str = Field("", max_length=40)
    source: str = Field(..., min_length=1, max_length=50, description="Name of a configured source channel.")
    assign_to_me: StrictBool = Field(False, description="Keep the lead yourself (sales staff only); otherwise the "
                               "assignment rules decide, and a lead no rule takes goes to the public pool.")
    custom: dict[str, Any] | None = custom_in(LEAD_TARGET)


class LeadPatch(Schema):
    company_name: str | None = Field(None, max_length=200)
    contact_name: str | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=100)
    mobile: str | None = Field(None, max_length=40)
    landline: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200)
    wechat: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=50)
    city: str | None = Field(None, max_length=50)
    industry: str | None = Field(None, max_length=50)
    company_size: str | None = Field(None, max_length=30)
    need: str | None = Field(None, max_length=5000)
    budget: Money | None = None
    timeline: str | None = Field(None, max_length=50)
    product_interest: str | None = Field(None, max_length=100)
    status: LeadStatus | None = Field(None, description=(
        "A working status. `converted` and `disqualified` are refused (422): convert with "
        "`POST /api/deals/convert/{lead_id}`, disqualify with `POST /api/leads/{lead_id}/disqualify`."))
    custom: dict[str, Any] | None = custom_in(LEAD_TARGET)


class ScoreLine(Schema):
    rule: str
    points: int
    reason: str


class LeadOut(Schema):
    id: int
    company_name: str
    contact_name: str
    title: str
    mobile: str
    landline: str
    email: str
    wechat: str
    region: str
    city: str
    industry: str
    company_size: str
    need: str
    budget: Decimal | None
    timeline: str
    credit_code: str
    source: str
    campaign: str | None
    status: str
    disqualify_reason: str = Field(description="Why it was disqualified (empty otherwise).")
    disqualify_note: str
    owner: str | None
    owner_id: int | None
    created_via: str
    created_at: datetime
    updated_at: datetime
    score: int | None
    grade: str
    score_details: list[ScoreLine] = Field(description="Every rule that gave points, with the reason.")
    product_interest: str
    custom: dict[str, Any] = custom_out(LEAD_TARGET)

    @staticmethod
    def resolve_custom(obj, context):
        return values_for(obj, context)

    @staticmethod
    def resolve_source(obj):
        return obj.source.name

    @staticmethod
    def resolve_campaign(obj):
        return obj.campaign.name if obj.campaign_id else None

    @staticmethod
    def resolve_owner(obj):
        return obj.owner.username if obj.owner_id else None


class LeadPage(ApiPage):
    items: list[LeadOut]


class PoolLeadOut(Schema):
    """A lead in the public pool: who and where, with contact details masked until claimed."""

    id: int
    company_name: str
    contact_name: str
    title: str
    mobile: str
    landline: str
    email: str
    region: str
    city: str
    industry: str
    grade: str
    pooled_at: datetime | None
    updated_at: datetime


class PoolPage(ApiPage):
    items: list[PoolLeadOut]


class PoolParams(SyncParams):
    page: int = Field(1, ge=1, le=10_000, description="Ignored when syncing.")
    page_size: int = Field(20, ge=1, le=100)


class LeadOnRecord(Schema):
    """A lead already on record that a submission matched: that it exists, and who owns it."""

    id: int
    owner: str | None = Field(description="Username of its owner; null when nobody owns it.")
    owner_name: str | None


class LeadCreated(Schema):
    lead: LeadOut | None = Field(description="The new lead, or the lead on record when you may see it; null when "
                                 "the submission matched a lead you may not see (see `existing`).")
    created: bool
    existing: LeadOnRecord | None = Field(None, description="The lead on record a duplicate matched.")
    messages: list[str]


class SourceOut(Schema):
    """A source channel: the `source` a new lead names."""

    id: int
    name: str
    position: int


class CampaignOut(Schema):
    id: int
    name: str
    source_id: int
    source: str
    active: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_source(obj):
        return obj.source.name


class CampaignPage(ApiPage):
    items: list[CampaignOut]


class ListParams(SyncParams):
    q: str = Field("", max_length=100)
    status: LeadStatus | None = None
    owner: str = Field("", max_length=20, description="A user id, `me` or `none`.")
    source: int | None = None
    created_from: IsoDate | None = None
    created_to: IsoDate | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=200)


def _request_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# LeadOut's fields read straight off the lead; the rest are resolved in `_serialize`.
_LEAD_OUT_ATTRS = tuple(name for name in LeadOut.model_fields
                        if name not in ("source", "campaign", "owner", "score_details", "custom"))


def _serialize(lead: Lead, request) -> dict:
    """What `LeadOut.model_validate(lead).model_dump(mode="json")` gives, without pydantic's per-field
    validation (a third of an intake's answer): the same values in the same order, turned into JSON types by
    pydantic's own encoder. `test_api.py` holds the two equal."""
    out = {name: getattr(lead, name) for name in _LEAD_OUT_ATTRS}
    out["source"] = lead.source.name
    out["campaign"] = lead.campaign.name if lead.campaign_id else None
    out["owner"] = lead.owner.username if lead.owner_id else None
    out["score_details"] = [{"rule": str(line["rule"]), "points": int(line["points"]), "reason": str(line["reason"])}
                            for line in lead.score_details or ()]
    out["custom"] = values_for(lead, {"request": request})
    return to_jsonable_python({name: out[name] for name in LeadOut.model_fields})


def _duplicate_answer(request, lead: Lead) -> dict:
    """A submission that matched a lead on record: the lead itself when the submitter may see it; else only
    that it exists and who owns it (no company, place, status or dates)."""
    owner = lead.owner if lead.owner_id else None
    existing = {"id": lead.pk, "owner": owner.username if owner else None, "owner_name": str(owner) if owner else None}
    visible = Lead.objects.visible_to(request.user).filter(pk=lead.pk).exists()
    return {"lead": _serialize(lead, request) if visible else None, "existing": existing}


@router.post(
    "/",
    response={201: LeadCreated, 200: LeadCreated, 401: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Submit a lead",
    description="Runs the same intake as every other channel. Send an `Idempotency-Key` header to make "
    "retries safe: a repeated key returns the first answer instead of creating a second lead.",
)
def create_lead(request, payload: LeadIn):
    key = request.headers.get("Idempotency-Key", "").strip()[:200]
    body = payload.model_dump()
    if key:
        previous = intake_fast.idempotency_record(user_id=request.user.pk, key=key)
        if previous is not None:
            if previous.request_hash != _request_hash(body):
                raise Conflict(_("This Idempotency-Key was already used for a different request."),
                               code="idempotency_key_reused")
            return JsonResponse(previous.response_body, status=previous.status_code)
    answer = {}

    def record(result):
        # A duplicate answers with the lead on record (200), or only its owner when it is not the submitter's to see.
        found = {"lead": _serialize(result.lead, request), "existing": None} if result.created else \
            _duplicate_answer(request, result.lead)
        answer["body"] = {**found, "created": result.created, "messages": result.messages}
        answer["status"] = 201 if result.created else 200
        if key:
            # Stored in the lead's transaction: a lead exists exactly when its key is recorded.
            fastsql.insert(IdempotencyRecord(
                user=request.user, key=key, request_hash=_request_hash(body), status_code=answer["status"],
                response_body=answer["body"],
            ))

    try:
        lead_submit(data=body, channel=Channel.API, actor=request.user, within=record)
    except IntegrityError:
        # A concurrent retry with the same key won the race; answer with its result.
        previous = intake_fast.idempotency_record(user_id=request.user.pk, key=key) if key else None
        if previous is None:
            raise
        return JsonResponse(previous.response_body, status=previous.status_code)
    # Already serialized (and stored for replays), so answer it as is.
    return JsonResponse(answer["body"], status=answer["status"])


@router.get("/", response={200: LeadPage, 401: ErrorOut, 422: ErrorOut}, summary="List the leads you can see",
            description="Newest first by page, or synced by `updated_since` and `cursor`." + FILTERS_DESCRIPTION + FILTERED_SYNC,
            openapi_extra=filters_in(LEAD_TARGET))
def list_leads(request, params: Query[ListParams]):
    filters = LeadFilters(
        custom=tuple(list_filters(request, LEAD_TARGET)),
        q=params.q, status=params.status or "", owner=params.owner, source=str(params.source or ""),
        created_from=params.created_from.isoformat() if params.created_from else "",
        created_to=params.created_to.isoformat() if params.created_to else "",
    )
    return api_list(lead_list(user=request.user, filters=filters).select_related("campaign"), params, caller=request.user)


@router.get("/sources", response={200: list[SourceOut], 401: ErrorOut}, summary="List the active source channels",
            description="The values a new lead's `source` may name.")
def list_sources(request):
    return list(LeadSource.objects.filter(active=True))


@router.get("/campaigns", response={200: CampaignPage, 401: ErrorOut, 422: ErrorOut}, summary="List the campaigns you run",
            description="Marketing sees the campaigns of its source channels, administrators every one; sales roles run none.")
def list_campaigns(request, params: Query[SyncParams]):
    campaigns = Campaign.objects.visible_to(request.user).select_related("source").order_by("-created_at", "-id")
    return api_list(campaigns, params, caller=request.user)


@router.get("/pool", response={200: PoolPage, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
            summary="List the public pool (公海)",
            description="Contact details stay masked until a lead is claimed. Syncing lists the leads that came into "
            "the pool or changed there since; a lead claimed since is not reported (it left the pool).")
def list_pool(request, params: Query[PoolParams]):
    if not pool.can_use_pool(request.user):
        raise NotFound(_("Only sales staff use the pool."))
    return api_list(pool.pool_leads(), params, caller=request.user, item=_pool_item)


def _pool_item(lead) -> dict:
    return {
        "id": lead.pk, "company_name": lead.company_name, "contact_name": lead.contact_name, "title": lead.title,
        "mobile": pool.mask_phone(lead.mobile) if lead.mobile else "",
        "landline": pool.mask_phone(lead.landline) if lead.landline else "",
        "email": pool.mask_email(lead.email) if lead.email else "", "region": lead.region, "city": lead.city,
        "industry": lead.industry, "grade": lead.grade, "pooled_at": lead.pooled_at, "updated_at": lead.updated_at,
    }


@router.post("/{lead_id}/claim", response={200: LeadOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                                           422: ErrorOut},
             summary="Claim a lead from the public pool",
             description="Under the same caps as the pool page: open leads held, claims per day, and the cool-down "
             "after a lead returned from you. Of two simultaneous claims exactly one wins; the other gets 409.")
def claim_lead(request, lead_id: int):
    if not pool.can_use_pool(request.user):
        raise NotFound(_("Only sales staff use the pool."))
    lead = pool.pool_leads().filter(pk=lead_id).first()
    if lead is None:
        if Lead.objects.filter(pk=lead_id, owner=request.user).exists():
            raise Conflict(_("This lead is already yours."), code="already_yours")
        raise NotFound(_("No lead with this id in the pool; someone else may have claimed it."))
    return pool.lead_claim(lead=lead, actor=request.user, channel=Channel.API)


class ReleaseIn(Schema):
    reason: str = Field(..., min_length=1, max_length=pool.RELEASE_REASON_MAX,
                        description="Why the lead goes back to the pool; kept in its trail.")


@router.post("/{lead_id}/release", response={200: PoolLeadOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                             409: ErrorOut, 422: ErrorOut},
             summary="Return a lead to the public pool",
             description="The owner or their manager; the lead goes back as `new`, its open tasks are cancelled and "
             "the previous owner's reclaim cool-down starts. Refused with 409 for a converted, disqualified or merged "
             "lead. Contact details come back masked, as the pool shows them.")
def release_lead(request, lead_id: int, payload: ReleaseIn):
    lead = pool.lead_release(lead=_visible(request, lead_id), reason=payload.reason, actor=request.user,
                             channel=Channel.API)
    return _pool_item(lead)


@router.get("/{lead_id}", response={200: LeadOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a lead")
def get_lead(request, lead_id: int):
    return _visible(request, lead_id)


@router.patch("/{lead_id}", response={200: LeadOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}, summary="Update a lead")
def update_lead(request, lead_id: int, payload: LeadPatch):
    lead = _visible(request, lead_id)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return lead_update(lead=lead, data=data, actor=request.user, channel=Channel.API)


class DisqualifyIn(Schema):
    reason: DisqualifyReason = Field(description="Why the lead is not worth pursuing.")
    note: str = Field("", max_length=500, description="Required when the reason is `other`.")


@router.post("/{lead_id}/disqualify", response={200: LeadOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                                                422: ErrorOut},
             summary="Disqualify a lead (无效) with the reason",
             description="The only way to set the status `disqualified`; `converted` comes from `POST /api/deals/convert/{lead_id}`.")
def disqualify_lead(request, lead_id: int, payload: DisqualifyIn):
    lead = _visible(request, lead_id)
    return lead_disqualify(lead=lead, reason=payload.reason, note=payload.note, actor=request.user, channel=Channel.API)


@router.get("/{lead_id}/activities", response={200: ActivityPage, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
            summary="List the follow-ups on a lead, newest first")
def list_lead_activities(request, lead_id: int, params: Query[SyncParams]):
    return api_list(activities_of(_visible(request, lead_id)), params, caller=request.user, key="created_at")


@router.post("/{lead_id}/activities", response={201: ActivityOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                422: ErrorOut},
             summary="Log a follow-up on a lead")
def log_lead_activity(request, lead_id: int, payload: ActivityIn):
    return Status(201, activity_log_api(request, _visible(request, lead_id), payload))


def _visible(request, lead_id: int) -> Lead:
    try:
        return get_lead_for_user(request.user, lead_id)
    except Http404:
        raise NotFound(_("No lead with this id, or you cannot see it.")) from None
