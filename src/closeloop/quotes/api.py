"""Quotes and approvals over JSON: the catalog, quotes with lines, versions and the PDF, approval decisions.

The same services as the pages: a quote you may not see is a 404, a change you may not make a 403, a step
out of order (sending an unapproved quote, changing a sent one) a 409 with a `code` saying which.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from closeloop.core.apischema import IsoDate, JsonInt, Money, StrictBool, decimal_in
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
from closeloop.core.models import Channel
from closeloop.core.notify import absolute_url
from closeloop.core.pagination import ApiPage, SyncParams, api_list
from closeloop.deals.selectors import get_opportunity_for_user

from . import approvals, catalog, services
from .models import ApprovalRequest, Product, QuoteStatus, QuoteTemplate
from .pdf import pdf_filename, quote_pdf
from .selectors import (
    QuoteFilters,
    get_line_for_user,
    get_quote_for_user,
    get_version,
    price_history,
    quote_list,
)
from .services import QUOTE_TARGET

router = Router()
approvals_router = Router()

Percent = decimal_in(digits=3, at_most=100, pattern=r"^(100(\.0{1,2})?|\d{1,2}(\.\d{1,2})?)$",
                     description="A percentage from 0 to 100, at most two decimals.")
TaxRate = decimal_in(digits=2, below=100, description="A VAT rate in percent, e.g. 13 or \"6\".")
Quantity = decimal_in(digits=10, at_least=None, above=0, below=10_000_000_000,
                      pattern=r"^([1-9]\d{0,9}(\.\d{1,2})?|0\.([1-9]\d?|0[1-9]))$",
                      description="More than 0, at most two decimals.")
PDF_RESPONSE = {"responses": {200: {"description": "The quote as a PDF.",
                                    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}}


# ---------------------------------------------------------------------------------------------------
# Schemas


class ProductIn(Schema):
    code: str = Field(..., min_length=1, max_length=50)
    name: str = Field(..., min_length=1, max_length=200)
    category: str = Field("", max_length=50)
    unit: str = Field("套", min_length=1, max_length=20)
    description: str = Field("", max_length=2000)
    list_price: Money
    price_includes_tax: StrictBool | None = Field(None, description="Empty: the quote settings' basis.")
    cost: Money | None = Field(None, description="Unit cost excluding tax.")
    tax_rate: TaxRate = Field(Decimal(13),
                              description="One of the configured VAT rates (13, 9, 6, 0 by default).")
    active: StrictBool = True


class ProductPatch(Schema):
    code: str | None = Field(None, min_length=1, max_length=50)
    name: str | None = Field(None, min_length=1, max_length=200)
    category: str | None = Field(None, max_length=50)
    unit: str | None = Field(None, min_length=1, max_length=20)
    description: str | None = Field(None, max_length=2000)
    list_price: Money | None = None
    price_includes_tax: StrictBool | None = None
    cost: Money | None = None
    tax_rate: TaxRate | None = None
    active: StrictBool | None = None


class ProductOut(Schema):
    id: int
    code: str
    name: str
    category: str
    unit: str
    description: str
    list_price: Decimal
    price_includes_tax: bool
    cost: Decimal | None
    tax_rate: Decimal
    active: bool
    updated_at: datetime


class ProductPage(ApiPage):
    items: list[ProductOut]


class LineIn(Schema):
    product_id: JsonInt | None = Field(None, description="A catalog product; empty for a free-text line.")
    name: str = Field("", max_length=200, description="Empty with a product: the product's name.")
    description: str = Field("", max_length=500)
    unit: str = Field("", max_length=20)
    quantity: Quantity = Decimal(1)
    unit_price: Money | None = Field(None, description="In the quote's basis; empty: the list price.")
    discount_pct: Percent = Decimal(0)
    tax_rate: TaxRate | None = None
    unit_cost: Money | None = None


class LinePatch(Schema):
    product_id: JsonInt | None = None
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=500)
    unit: str | None = Field(None, max_length=20)
    quantity: Quantity | None = None
    unit_price: Money | None = None
    discount_pct: Percent | None = None
    tax_rate: TaxRate | None = None
    unit_cost: Money | None = None


class LineOut(Schema):
    id: int
    position: int
    product_id: int | None
    name: str
    description: str
    unit: str
    quantity: Decimal
    list_price: Decimal | None
    unit_price: Decimal
    discount_pct: Decimal
    tax_rate: Decimal
    unit_cost: Decimal | None
    net_unit_price: Decimal
    amount_excl_tax: Decimal
    tax_amount: Decimal
    amount_incl_tax: Decimal


class VersionOut(Schema):
    number: int
    prices_include_tax: bool
    valid_until: date
    payment_terms: str
    notes: str
    contact_name: str
    contact_phone: str
    list_total: Decimal
    total_excl_tax: Decimal
    tax_total: Decimal
    total_incl_tax: Decimal
    cost_total: Decimal
    margin_amount: Decimal
    margin_pct: Decimal | None
    discount_pct: Decimal
    max_line_discount_pct: Decimal
    sent_at: datetime | None
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.order_by("position", "id"))


class QuoteOut(Schema):
    id: int
    number: str
    title: str
    status: QuoteStatus
    opportunity_id: int
    customer: str
    created_at: datetime
    sent_at: datetime | None
    decided_at: datetime | None
    decided_by_name: str
    decision_note: str
    public_url: str | None = Field(None, description="The customer's link, once the quote is sent.")
    versions: list[int]
    current_version: VersionOut
    custom: dict[str, Any] = custom_out(QUOTE_TARGET)

    @staticmethod
    def resolve_custom(obj, context):
        return values_for(obj, context)

    @staticmethod
    def resolve_customer(obj):
        return obj.opportunity.customer.name

    @staticmethod
    def resolve_public_url(obj):
        if obj.status not in (QuoteStatus.SENT, QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
            return None
        return absolute_url(reverse("quote_public", args=[obj.public_key]))

    @staticmethod
    def resolve_versions(obj):
        return list(obj.versions.order_by("number").values_list("number", flat=True))


class QuoteSummaryOut(Schema):
    id: int
    number: str
    title: str
    status: QuoteStatus
    opportunity_id: int
    customer: str
    version: int
    total_incl_tax: Decimal
    created_at: datetime

    @staticmethod
    def resolve_customer(obj):
        return obj.opportunity.customer.name

    @staticmethod
    def resolve_version(obj):
        return obj.current_version.number

    @staticmethod
    def resolve_total_incl_tax(obj):
        return obj.current_version.total_incl_tax


class QuotePage(ApiPage):
    items: list[QuoteSummaryOut]


class QuoteIn(Schema):
    opportunity_id: JsonInt
    title: str = Field("", max_length=200, description="Empty: the deal's name.")
    template_id: JsonInt | None = None
    custom: dict[str, Any] | None = custom_in(QUOTE_TARGET)


class QuotePatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    valid_until: IsoDate | None = None
    payment_terms: str | None = Field(None, max_length=2000)
    notes: str | None = Field(None, max_length=5000)
    contact_name: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=40)
    custom: dict[str, Any] | None = custom_in(QUOTE_TARGET)


class SubmitIn(Schema):
    note: str = Field("", max_length=500, description="For the approvers.")


class DecisionIn(Schema):
    accept: StrictBool
    name: str = Field("", max_length=100, description="Who answered for the customer.")
    phone: str = Field("", max_length=40)
    note: str = Field("", max_length=500)


class QuoteParams(SyncParams):
    q: str = Field("", max_length=100)
    status: QuoteStatus | None = None
    deal_id: int | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=200)


class ProductParams(SyncParams):
    q: str = Field("", max_length=100)
    page: int = Field(1, ge=1, le=100_000, description="Ignored when syncing.")
    page_size: int = Field(50, ge=1, le=200)


class PricePointOut(Schema):
    quote_id: int
    number: str
    version: int
    sent_at: datetime
    status: str
    quantity: Decimal
    unit_price: Decimal
    discount_pct: Decimal


class PriceHistoryOut(Schema):
    prices_include_tax: bool
    own: list[PricePointOut]
    others_count: int
    others_min: Decimal | None
    others_median: Decimal | None
    others_last: Decimal | None


# ---------------------------------------------------------------------------------------------------
# Helpers


def _quote(request, quote_id: int):
    try:
        return get_quote_for_user(request.user, quote_id)
    except Http404:
        raise NotFound(_("No quote with this id, or you cannot see it.")) from None


def _fresh(request, quote_id: int):
    quote = _quote(request, quote_id)
    quote.current_version.quote = quote
    return quote


def _typed(data: dict) -> dict:
    """Schema values as the services take them: decimals as text, the product by id."""
    result = {}
    for name, value in data.items():
        if name == "product_id":
            result["product"] = value if value is not None else ""
        else:
            result[name] = f"{value:f}" if isinstance(value, Decimal) else value
    return result


# ---------------------------------------------------------------------------------------------------
# Catalog


@router.get("/products", response={200: ProductPage, 401: ErrorOut, 422: ErrorOut}, summary="List the catalog")
def list_products(request, params: Query[ProductParams]):
    from .selectors import product_search

    return api_list(product_search(q=params.q), params, caller=request.user)


@router.post("/products", response={201: ProductOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
             summary="Add a product (administrators and pre-sales)")
def create_product(request, payload: ProductIn):
    data = _typed(payload.model_dump(exclude_none=True))
    return Status(201, catalog.product_save(actor=request.user, data=data, channel=Channel.API))


def _product(product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No product with this id."))
    return product


@router.get("/products/{product_id}", response={200: ProductOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a product")
def get_product(request, product_id: int):
    return _product(product_id)


@router.patch("/products/{product_id}", response={200: ProductOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                  422: ErrorOut},
              summary="Change a product (administrators and pre-sales)")
def update_product(request, product_id: int, payload: ProductPatch):
    product = _product(product_id)
    data = _typed(payload.model_dump(exclude_unset=True))
    if data.get("cost") is None and "cost" in data:
        data["cost"] = ""
    for required in ("code", "name", "unit", "list_price", "tax_rate", "active", "price_includes_tax"):
        if required in data and data[required] is None:
            data.pop(required)
    return catalog.product_save(actor=request.user, data=data, product=product, channel=Channel.API)


# ---------------------------------------------------------------------------------------------------
# Quotes


@router.get("/", response={200: QuotePage, 401: ErrorOut, 422: ErrorOut}, summary="List the quotes you can see",
            description="By page, or synced by `updated_since` and `cursor`." + FILTERS_DESCRIPTION + FILTERED_SYNC,
            openapi_extra=filters_in(QUOTE_TARGET))
def list_quotes(request, params: Query[QuoteParams]):
    filters = QuoteFilters(q=params.q, status=params.status or "", deal=str(params.deal_id or ""))
    quotes = indexes.apply_filters(quote_list(user=request.user, filters=filters), list_filters(request, QUOTE_TARGET))
    return api_list(quotes, params, caller=request.user)


@router.post("/", response={201: QuoteOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
             summary="Start a quote for a deal", description="Version 1 in draft, filled from the template if given.")
def create_quote(request, payload: QuoteIn):
    try:
        deal = get_opportunity_for_user(request.user, payload.opportunity_id)
    except Http404:
        raise NotFound(_("No deal with this id, or you cannot see it.")) from None
    template = None
    if payload.template_id is not None:
        template = QuoteTemplate.objects.filter(pk=payload.template_id, active=True).first()
        if template is None:
            raise ValidationFailed(_("Please correct the marked fields."),
                                   field_errors={"template_id": [_("No active template with this id.")]})
    quote = services.quote_create(opportunity=deal, actor=request.user, channel=Channel.API, title=payload.title,
                                  template=template, custom=payload.custom or {})
    return Status(201, _fresh(request, quote.pk))


@router.get("/{quote_id}", response={200: QuoteOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a quote and its current version")
def get_quote(request, quote_id: int):
    return _fresh(request, quote_id)


@router.patch("/{quote_id}", response={200: QuoteOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                                       422: ErrorOut},
              summary="Change the title and terms of the current version",
              description="A sent quote is frozen (409 `quote_frozen`): make a new version first.")
def update_quote(request, quote_id: int, payload: QuotePatch):
    quote = _quote(request, quote_id)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None and k != "custom"}
    if "custom" in payload.model_fields_set:
        data["custom"] = payload.custom or {}
    services.quote_update(quote=quote, data=data, actor=request.user, channel=Channel.API)
    return _fresh(request, quote_id)


@router.get("/{quote_id}/versions/{number}", response={200: VersionOut, 401: ErrorOut, 404: ErrorOut},
            summary="Read one version as it was (a sent one never changes)")
def get_quote_version(request, quote_id: int, number: int):
    quote = _quote(request, quote_id)
    try:
        return get_version(quote, number)
    except Http404:
        raise NotFound(_("This quote has no such version.")) from None


@router.get("/{quote_id}/pdf", response={200: None, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}, openapi_extra=PDF_RESPONSE,
            summary="The quote as a PDF (the current version, or `version`)")
def get_quote_pdf(request, quote_id: int, version: int | None = Query(None, ge=1, le=1000)):
    quote = _quote(request, quote_id)
    try:
        shown = get_version(quote, version)
    except Http404:
        raise NotFound(_("This quote has no such version.")) from None
    response = HttpResponse(quote_pdf(shown), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(shown)}"'
    return response


@router.post("/{quote_id}/lines", response={201: LineOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                                            422: ErrorOut}, summary="Add a line to the current version")
def add_line(request, quote_id: int, payload: LineIn):
    quote = _quote(request, quote_id)
    data = _typed(payload.model_dump(exclude_none=True))
    for name in ("name", "unit"):
        if not data.get(name):
            data.pop(name, None)
    return Status(201, services.quote_line_add(quote=quote, data=data, actor=request.user, channel=Channel.API))


def _line(request, quote_id: int, line_id: int):
    try:
        return get_line_for_user(request.user, quote_id, line_id)
    except Http404:
        raise NotFound(_("No such line on a quote you can see.")) from None


@router.patch("/{quote_id}/lines/{line_id}", response={200: LineOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                       409: ErrorOut, 422: ErrorOut}, summary="Change a line")
def update_line(request, quote_id: int, line_id: int, payload: LinePatch):
    line = _line(request, quote_id, line_id)
    data = _typed({k: v for k, v in payload.model_dump(exclude_unset=True).items()
                   if v is not None or k in ("product_id", "unit_cost")})
    return services.quote_line_update(line=line, data=data, actor=request.user, channel=Channel.API)


@router.delete("/{quote_id}/lines/{line_id}", response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                        409: ErrorOut}, summary="Remove a line")
def remove_line(request, quote_id: int, line_id: int):
    services.quote_line_remove(line=_line(request, quote_id, line_id), actor=request.user, channel=Channel.API)
    return Status(204, None)


ACTION_ERRORS = {200: QuoteOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.post("/{quote_id}/submit", response=ACTION_ERRORS, summary="Submit for approval",
             description="Approved at once when no approval rule applies; otherwise `pending_approval` and the "
             "first approver is notified.")
def submit_quote(request, quote_id: int, payload: SubmitIn):
    services.quote_submit(quote=_quote(request, quote_id), actor=request.user, channel=Channel.API, note=payload.note)
    return _fresh(request, quote_id)


@router.post("/{quote_id}/withdraw", response=ACTION_ERRORS, summary="Take a quote back from approval")
def withdraw_quote(request, quote_id: int):
    services.quote_withdraw(quote=_quote(request, quote_id), actor=request.user, channel=Channel.API)
    return _fresh(request, quote_id)


@router.post("/{quote_id}/send", response=ACTION_ERRORS, summary="Mark as sent and freeze the version",
             description="409 `approval_required` when a rule applies and the quote is not approved yet.")
def send_quote(request, quote_id: int):
    services.quote_send(quote=_quote(request, quote_id), actor=request.user, channel=Channel.API)
    return _fresh(request, quote_id)


@router.post("/{quote_id}/revise", response=ACTION_ERRORS, summary="Make a new version from a sent or declined one")
def revise_quote(request, quote_id: int):
    services.quote_revise(quote=_quote(request, quote_id), actor=request.user, channel=Channel.API)
    return _fresh(request, quote_id)


@router.post("/{quote_id}/decision", response=ACTION_ERRORS, summary="Record that the customer accepted or declined",
             description="Accepting moves the deal to the stage its pipeline names; when the stage gate refuses, "
             "the acceptance stands and the owner is notified of what is missing.")
def decide_quote(request, quote_id: int, payload: DecisionIn):
    services.quote_decide(quote=_quote(request, quote_id), accept=payload.accept, actor=request.user,
                          channel=Channel.API, name=payload.name, phone=payload.phone, note=payload.note)
    return _fresh(request, quote_id)


@router.get("/{quote_id}/price-history", response={200: PriceHistoryOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
            summary="What this quote's customer and others were quoted for a product")
def get_price_history(request, quote_id: int, product_id: int = Query(..., ge=1)):
    quote = _quote(request, quote_id)
    product = _product(product_id)
    history = price_history(user=request.user, product=product, customer_id=quote.opportunity.customer_id,
                            prices_include_tax=quote.current_version.prices_include_tax)
    return {"prices_include_tax": history.prices_include_tax,
            "own": [vars(point) for point in history.own],
            "others_count": history.others_count, "others_min": history.others_min,
            "others_median": history.others_median, "others_last": history.others_last}


# ---------------------------------------------------------------------------------------------------
# Approvals (any record type)


class StepOut(Schema):
    position: int
    approver: str | None = Field(None, description="Username; empty: any administrator.")
    status: str
    comment: str
    decided_by: str | None
    decided_at: datetime | None

    @staticmethod
    def resolve_approver(obj):
        return obj.approver.username if obj.approver_id else None

    @staticmethod
    def resolve_decided_by(obj):
        return obj.decided_by.username if obj.decided_by_id else None


class ApprovalOut(Schema):
    id: int
    kind: str
    target_id: int
    title: str
    url: str
    status: str
    reasons: list[str]
    submitted_by: str
    submitted_at: datetime
    decided_at: datetime | None
    steps: list[StepOut]

    @staticmethod
    def resolve_reasons(obj):
        return [approvals.reason_text(obj.kind, reason) for reason in obj.reasons]

    @staticmethod
    def resolve_submitted_by(obj):
        return obj.submitted_by.username

    @staticmethod
    def resolve_steps(obj):
        return list(obj.steps.all())


class DecideIn(Schema):
    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=500, description="Required to reject.")


def _approval(request, approval_id: int) -> ApprovalRequest:
    """A request its submitter, its approvers and administrators may read; 404 for everyone else."""
    approval = (ApprovalRequest.objects.select_related("submitted_by")
                .prefetch_related("steps__approver", "steps__decided_by").filter(pk=approval_id).first())
    user = request.user
    if approval is None or not (user.is_admin or approval.submitted_by_id == user.pk
                                or any(step.approver_id == user.pk for step in approval.steps.all())):
        raise NotFound(_("No approval with this id, or it is not yours to see."))
    return approval


@approvals_router.get("/", response={200: list[ApprovalOut], 401: ErrorOut},
                      summary="What waits for my decision, oldest first")
def list_approvals(request):
    requests = [step.request for step in approvals.inbox(request.user)[:200]]
    ids = [r.pk for r in requests]
    loaded = {r.pk: r for r in ApprovalRequest.objects.filter(pk__in=ids).select_related("submitted_by")
              .prefetch_related("steps__approver", "steps__decided_by")}
    return [loaded[pk] for pk in ids]


@approvals_router.get("/{approval_id}", response={200: ApprovalOut, 401: ErrorOut, 404: ErrorOut},
                      summary="Read an approval request and its steps")
def get_approval(request, approval_id: int):
    return _approval(request, approval_id)


@approvals_router.post("/{approval_id}/decide", response={200: ApprovalOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                          409: ErrorOut, 422: ErrorOut},
                       summary="Approve or reject the step waiting for you",
                       description="403 when the request waits for someone else; 409 when it was already decided.")
def decide_approval(request, approval_id: int, payload: DecideIn):
    approval = _approval(request, approval_id)
    approvals.approval_decide(request=approval, actor=request.user, approve=payload.decision == "approve",
                              comment=payload.comment, channel=Channel.API)
    return _approval(request, approval_id)
