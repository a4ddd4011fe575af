"""Contracts over JSON: contracts and their steps, payment plans, signed copies, payments, invoice requests,
receivables, and the e-signature service's callback.

The same services as the pages: a contract you may not see is a 404, a change you may not make a 403, a step
the contract's state does not allow a 409 with a `code` saying which, a plan or payment that does not add up
a 422 saying by how much.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from closeloop.core.apischema import (
    IsoDate,
    JsonInt,
    decimal_in,
    form_bool,
    form_date,
    int_in,
    multipart_form,
)
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
from closeloop.core.errors import ErrorOut, Forbidden, NotFound, ValidationFailed
from closeloop.core.models import Channel
from closeloop.core.pagination import ApiPage, SyncParams, api_list
from closeloop.deals.selectors import get_opportunity_for_user
from closeloop.quotes.selectors import get_quote_for_user

from . import access, documents, esign, invoices, payments, plans, receivables, services
from .models import ContractStatus, InstalmentCondition, InvoiceStatus, InvoiceType, PaymentMethod, SignedVia
from .selectors import (
    ContractFilters,
    contract_list,
    get_contract_for_user,
    get_invoice_request_for_user,
    get_payment_for_user,
)
from .services import CONTRACT_TARGET

router = Router()

Positive = decimal_in(digits=12, at_least=None, above=0, below=1_000_000_000_000,
                      pattern=r"^([1-9]\d{0,11}(\.\d{1,2})?|0\.([1-9]\d?|0[1-9]))$",
                      description="Yuan, more than 0, at most two decimals: a number or a decimal string.")
Percentage = decimal_in(digits=3, at_least=None, above=0, at_most=100,
                        pattern=r"^(100(\.0{1,2})?|[1-9]\d?(\.\d{1,2})?|0\.([1-9]\d?|0[1-9]))$",
                        description="More than 0 and at most 100, two decimals.")
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# ---------------------------------------------------------------------------------------------------
# Schemas


class PersonOut(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj):
        return str(obj)


class CustomerOut(Schema):
    id: int
    name: str


class LineOut(Schema):
    id: int
    position: int
    product_id: int | None
    name: str
    description: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    discount_pct: Decimal
    tax_rate: Decimal
    amount_excl_tax: Decimal
    tax_amount: Decimal
    amount_incl_tax: Decimal


class InstalmentOut(Schema):
    id: int
    position: int
    title: str
    condition: InstalmentCondition
    days_after: int
    due_date: date | None = Field(None, description="Empty until the signature or the acceptance it waits for.")
    percentage: Decimal | None
    amount: Decimal
    paid_amount: Decimal
    outstanding: Decimal
    receivable: bool
    paid_on: date | None


class ContractSummaryOut(Schema):
    id: int
    number: str
    title: str
    status: ContractStatus
    opportunity_id: int
    customer: CustomerOut
    owner: PersonOut
    amount: Decimal
    paid_amount: Decimal
    invoiced_amount: Decimal
    outstanding: Decimal
    sign_date: date | None
    end_date: date | None
    created_at: datetime


class ContractOut(ContractSummaryOut):
    quote_id: int | None
    quote_version: int | None = None
    party_a: str
    party_b: str
    party_b_contact: str
    party_b_phone: str
    amount_excl_tax: Decimal | None
    tax_amount: Decimal | None
    start_date: date | None
    payment_terms: str
    notes: str
    signed_via: SignedVia | Literal[""]
    approved_at: datetime | None
    signed_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    terminated_at: datetime | None
    termination_reason: str
    lines: list[LineOut]
    instalments: list[InstalmentOut]
    custom: dict[str, Any] = custom_out(CONTRACT_TARGET)

    @staticmethod
    def resolve_custom(obj, context):
        return values_for(obj, context)

    @staticmethod
    def resolve_quote_version(obj):
        return obj.quote_version.number if obj.quote_version_id else None

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())

    @staticmethod
    def resolve_instalments(obj):
        return list(obj.instalments.order_by("position", "id"))


class ContractPage(ApiPage):
    items: list[ContractSummaryOut]


class ContractParams(SyncParams):
    q: str = Field("", max_length=100)
    status: ContractStatus | None = None
    deal_id: int | None = Field(None, ge=1, le=2**63 - 1)
    customer_id: int | None = Field(None, ge=1, le=2**63 - 1)
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=200)


class ContractIn(Schema):
    quote_id: JsonInt | None = Field(None, description="An accepted quote: its lines and totals are carried over.")
    opportunity_id: JsonInt | None = Field(None, description="Without a quote: the deal, and the amount typed.")
    title: str = Field("", max_length=200)
    amount: Positive | None = Field(None, description="Only without a quote; empty: the deal's amount.")
    party_a: str = Field("", max_length=200)
    party_b: str = Field("", max_length=200)
    party_b_contact: str = Field("", max_length=100)
    party_b_phone: str = Field("", max_length=40)
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    payment_terms: str = Field("", max_length=2000)
    notes: str = Field("", max_length=5000)
    custom: dict[str, Any] | None = custom_in(CONTRACT_TARGET)


class ContractPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    amount: Positive | None = None
    party_a: str | None = Field(None, max_length=200)
    party_b: str | None = Field(None, min_length=1, max_length=200)
    party_b_contact: str | None = Field(None, max_length=100)
    party_b_phone: str | None = Field(None, max_length=40)
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    payment_terms: str | None = Field(None, max_length=2000)
    notes: str | None = Field(None, max_length=5000)
    custom: dict[str, Any] | None = custom_in(CONTRACT_TARGET)


class NoteIn(Schema):
    note: str = Field("", max_length=500)


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)


class AcceptanceIn(Schema):
    accepted_on: IsoDate = Field(..., description="The day the customer signed the delivery acceptance.")


class InstalmentIn(Schema):
    id: JsonInt | None = Field(None, description="An existing instalment to keep; empty: a new one.")
    title: str = Field(..., min_length=1, max_length=100)
    condition: InstalmentCondition = InstalmentCondition.ON_DATE
    days_after: int_in(minimum=0, maximum=3650) = Field(0, description="For on signing / on acceptance.")
    due_date: IsoDate | None = Field(None, description="Required for on a date.")
    percentage: Percentage | None = Field(None,
                                       description="A share of the contract; the amount is worked out from it.")
    amount: Positive | None = None


class PlanIn(Schema):
    instalments: list[InstalmentIn] = Field(..., min_length=1, max_length=plans.MAX_INSTALMENTS)


class AllocationIn(Schema):
    instalment_id: JsonInt
    amount: Positive


class PaymentIn(Schema):
    received_on: IsoDate
    amount: Positive
    method: PaymentMethod = PaymentMethod.TRANSFER
    reference: str = Field("", max_length=100)
    note: str = Field("", max_length=300)
    allocations: list[AllocationIn] | None = Field(
        None, max_length=plans.MAX_INSTALMENTS, description="Empty: the oldest instalments are paid first.")


class AllocationOut(Schema):
    instalment_id: int
    amount: Decimal


class PaymentOut(Schema):
    id: int
    contract_id: int
    received_on: date
    amount: Decimal
    method: PaymentMethod
    reference: str
    note: str
    recorded_by: PersonOut
    recorded_at: datetime
    voided_at: datetime | None
    void_reason: str
    allocations: list[AllocationOut]

    @staticmethod
    def resolve_allocations(obj):
        return list(obj.allocations.all())


class InvoiceRequestIn(Schema):
    amount: Positive
    invoice_type: InvoiceType = InvoiceType.SPECIAL
    buyer_name: str = Field("", max_length=200, description="Empty: party B of the contract.")
    buyer_tax_id: str = Field("", max_length=30, description="Required for a special VAT invoice (专票).")
    buyer_details: str = Field("", max_length=500)
    note: str = Field("", max_length=300)


class InvoiceIssueIn(Schema):
    invoice_number: str = Field(..., min_length=1, max_length=30)
    issued_on: IsoDate | None = None
    invoice_type: InvoiceType | None = Field(None, description="Empty: the type asked for.")


class InvoiceRequestOut(Schema):
    id: int
    contract_id: int
    amount: Decimal
    invoice_type: InvoiceType
    buyer_name: str
    buyer_tax_id: str
    buyer_details: str
    note: str
    status: InvoiceStatus
    requested_by: PersonOut
    requested_at: datetime
    invoice_number: str
    issued_on: date | None
    reject_reason: str


class DocumentOut(Schema):
    id: int
    kind: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class BucketsOut(Schema):
    total: Decimal
    not_due: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal


class ReceivableLineOut(Schema):
    id: int
    name: str
    total: Decimal
    buckets: BucketsOut


class ReceivablesOut(Schema):
    as_of: date
    totals: BucketsOut
    by_rep: list[ReceivableLineOut]
    by_customer: list[ReceivableLineOut]
    page: int
    has_next: bool


class CallbackOut(Schema):
    outcome: Literal["signed", "already_signed", "duplicate", "recorded", "ignored"]
    contract: str | None = Field(None, description="The contract's number.")


# ---------------------------------------------------------------------------------------------------
# Helpers


def _contract(request, contract_id: int):
    try:
        return get_contract_for_user(request.user, contract_id)
    except Http404:
        raise NotFound(_("No contract with this id, or you cannot see it.")) from None


def _text(data: dict) -> dict:
    """Schema values as the services take them: decimals and dates as text, None as empty (custom values as sent,
    the whole object null as none)."""
    return {k: (v or {}) if k == "custom" else
            (f"{v:f}" if isinstance(v, Decimal) else v.isoformat() if isinstance(v, date) else "" if v is None else v)
            for k, v in data.items()}


# ---------------------------------------------------------------------------------------------------
# Contracts


@router.get("/", response={200: ContractPage, 401: ErrorOut, 422: ErrorOut}, summary="List the contracts you can see",
            description="By page, or synced by `updated_since` and `cursor`." + FILTERS_DESCRIPTION + FILTERED_SYNC,
            openapi_extra=filters_in(CONTRACT_TARGET))
def list_contracts(request, params: Query[ContractParams]):
    filters = ContractFilters(q=params.q, status=params.status or "", deal=str(params.deal_id or ""),
                              customer=str(params.customer_id or ""))
    contracts = indexes.apply_filters(contract_list(user=request.user, filters=filters),
                                      list_filters(request, CONTRACT_TARGET))
    return api_list(contracts, params, caller=request.user)


@router.post("/", response={201: ContractOut, **ERRORS}, summary="Make a contract from an accepted quote or a deal",
             description="With `quote_id` the quote must be accepted (409 `quote_not_accepted`) and have no live "
             "contract yet (409 `contract_exists`); with `opportunity_id` the amount is typed.")
def create_contract(request, payload: ContractIn):
    data = _text(payload.model_dump(exclude={"quote_id", "opportunity_id"}, exclude_none=True))
    if payload.quote_id is not None:
        try:
            quote = get_quote_for_user(request.user, payload.quote_id)
        except Http404:
            raise NotFound(_("No quote with this id, or you cannot see it.")) from None
        data.pop("amount", None)
        contract = services.contract_create_from_quote(quote=quote, actor=request.user, channel=Channel.API, data=data)
    elif payload.opportunity_id is not None:
        try:
            deal = get_opportunity_for_user(request.user, payload.opportunity_id)
        except Http404:
            raise NotFound(_("No deal with this id, or you cannot see it.")) from None
        contract = services.contract_create_from_deal(opportunity=deal, data=data, actor=request.user,
                                                      channel=Channel.API)
    else:
        raise ValidationFailed(_("Please correct the marked fields."),
                               field_errors={"quote_id": [_("Give the accepted quote, or the deal.")]})
    return Status(201, _contract(request, contract.pk))


@router.get("/receivables", response={200: ReceivablesOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
            summary="Outstanding amounts by age bucket, rep and customer (finance, managers)")
def get_receivables(request, page: int = Query(1, ge=1, le=100_000)):
    if not access.can_read_receivables(request.user):
        raise Forbidden(_("Receivables are for finance, managers and administrators."))
    today = timezone.localdate()

    def line(item):
        return {"id": item.key, "name": item.name, "total": item.total, "buckets": {"total": item.total, **item.buckets}}

    totals, reps = receivables.summary(request.user, today)
    customers = receivables.by_customer(receivables.receivable_instalments(request.user), today, page=page,
                                        ranking=receivables.receivable_customers(request.user))
    return {"as_of": today, "totals": totals, "by_rep": [line(item) for item in reps],
            "by_customer": [line(item) for item in customers["rows"]], "page": page, "has_next": customers["has_next"]}


@router.post("/esign/callback", auth=None, url_name="esign_callback",
             response={200: CallbackOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
             summary="The e-signature service's callback (HMAC-signed, no token)",
             description=f"Authenticated by `{esign.TIMESTAMP_HEADER}` (Unix seconds or milliseconds) and "
             f"`{esign.SIGNATURE_HEADER}`: hex HMAC-SHA256 under the shared secret of the timestamp's text followed by "
             "the raw body. Refused (401) outside the accepted window; a repeat is answered `duplicate` and changes "
             "nothing. `sign_flow_completed` signs an approved contract (`already_signed` when it is).",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["event"], "properties": {
                     "event": {"type": "string"}, "flow_id": {"type": "string"},
                     "contract_number": {"type": "string"}, "signed_at": {"type": "string", "format": "date-time"}}}}}}})
def esign_callback(request):
    result = esign.esign_callback(timestamp=request.headers.get(esign.TIMESTAMP_HEADER, ""),
                                  signature=request.headers.get(esign.SIGNATURE_HEADER, ""), body=request.body)
    return {"outcome": result.outcome, "contract": result.contract.number if result.contract else None}


@router.get("/{contract_id}", response={200: ContractOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a contract")
def get_contract(request, contract_id: int):
    return _contract(request, contract_id)


@router.patch("/{contract_id}", response={200: ContractOut, **ERRORS}, summary="Change a draft contract",
              description="409 `contract_status` once it is submitted: amounts and terms are what the approvers saw.")
def update_contract(request, contract_id: int, payload: ContractPatch):
    contract = _contract(request, contract_id)
    services.contract_update(contract=contract, data=_text(payload.model_dump(exclude_unset=True)), actor=request.user,
                             channel=Channel.API)
    return _contract(request, contract_id)


@router.post("/{contract_id}/submit", response={200: ContractOut, **ERRORS}, summary="Submit for approval",
             description="Approved at once when no approval rule applies. 422 `plan_incomplete` when the plan does "
             "not add up to the amount.")
def submit_contract(request, contract_id: int, payload: NoteIn):
    services.contract_submit(contract=_contract(request, contract_id), actor=request.user, channel=Channel.API,
                             note=payload.note)
    return _contract(request, contract_id)


@router.post("/{contract_id}/withdraw", response={200: ContractOut, **ERRORS}, summary="Take it back from approval")
def withdraw_contract(request, contract_id: int):
    services.contract_withdraw(contract=_contract(request, contract_id), actor=request.user, channel=Channel.API)
    return _contract(request, contract_id)


@router.post("/{contract_id}/reopen", response={200: ContractOut, **ERRORS},
             summary="Return an approved contract to draft (a manager over the owner)")
def reopen_contract(request, contract_id: int, payload: ReasonIn):
    services.contract_reopen(contract=_contract(request, contract_id), actor=request.user, reason=payload.reason,
                             channel=Channel.API)
    return _contract(request, contract_id)


@router.post("/{contract_id}/start", response={200: ContractOut, **ERRORS}, summary="Signed → in performance")
def start_contract(request, contract_id: int):
    services.contract_start(contract=_contract(request, contract_id), actor=request.user, channel=Channel.API)
    return _contract(request, contract_id)


@router.post("/{contract_id}/delivery-acceptance", response={200: ContractOut, **ERRORS},
             summary="The delivery was accepted: release the “on acceptance” instalments",
             description="Idempotent. A fully paid contract completes. 409 `acceptance_by_delivery` when deliveries "
                         "record acceptance (the service app): then only an accepted delivery releases them.")
def accept_delivery(request, contract_id: int, payload: AcceptanceIn):
    if payload.accepted_on > timezone.localdate():
        raise ValidationFailed(_("Please correct the marked fields."),
                               field_errors={"accepted_on": [_("The acceptance cannot be in the future.")]})
    services.contract_delivery_record(contract=_contract(request, contract_id), accepted_on=payload.accepted_on,
                                      actor=request.user, channel=Channel.API)
    return _contract(request, contract_id)


@router.post("/{contract_id}/complete", response={200: ContractOut, **ERRORS},
             summary="Close a fully paid contract (409 `contract_unpaid` otherwise)")
def complete_contract(request, contract_id: int, payload: NoteIn):
    services.contract_complete(contract=_contract(request, contract_id), actor=request.user, channel=Channel.API,
                               note=payload.note)
    return _contract(request, contract_id)


@router.post("/{contract_id}/terminate", response={200: ContractOut, **ERRORS}, summary="Terminate the contract")
def terminate_contract(request, contract_id: int, payload: ReasonIn):
    services.contract_terminate(contract=_contract(request, contract_id), actor=request.user, reason=payload.reason,
                                channel=Channel.API)
    return _contract(request, contract_id)


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "PDF, JPG, PNG, TIFF or WebP."},
        "sign": {"type": "boolean", "description": "The signed copy signs the approved contract."},
        "sign_date": {"type": "string", "format": "date"}}}}}}}


@router.post("/{contract_id}/documents", response={201: DocumentOut, **ERRORS}, openapi_extra=UPLOAD_BODY,
             summary="Upload the signed copy (or another document)",
             description="Checked for what it claims to be (magic bytes against the extension) and its size while "
             "it arrives; 422 `file_refused` says why.")
def upload_document(request, contract_id: int):
    guard = documents.guard_uploads(request)
    contract = _contract(request, contract_id)
    # The form's fields as the document types them (a date, not 明天; true or false, not "yes").
    form = multipart_form(request)
    sign, sign_date = form_bool(form, "sign"), form_date(form, "sign_date")
    document = documents.document_upload(contract=contract, upload=request.FILES.get("file"), actor=request.user,
                                         sign=sign, sign_date=sign_date, channel=Channel.API, guard=guard)
    return Status(201, document)


# ---------------------------------------------------------------------------------------------------
# Payment plans


@router.get("/{contract_id}/plan", response={200: list[InstalmentOut], 401: ErrorOut, 404: ErrorOut},
            summary="The payment plan")
def get_plan(request, contract_id: int):
    return list(_contract(request, contract_id).instalments.order_by("position", "id"))


@router.put("/{contract_id}/plan", response={200: list[InstalmentOut], **ERRORS}, summary="Replace the payment plan",
            description="It must add up to the contract amount (422 `plan_invalid` says by how much it is off). After "
            "approval only finance or a manager changes it; instalments with payments stay.")
def put_plan(request, contract_id: int, payload: PlanIn):
    contract = _contract(request, contract_id)
    rows = [_text(row.model_dump()) for row in payload.instalments]
    plans.payment_plan_save(contract=contract, instalments=rows, actor=request.user, channel=Channel.API)
    return list(contract.instalments.order_by("position", "id"))


# ---------------------------------------------------------------------------------------------------
# Payments


@router.get("/{contract_id}/payments", response={200: list[PaymentOut], 401: ErrorOut, 404: ErrorOut},
            summary="Payments received on the contract")
def list_payments(request, contract_id: int):
    return list(_contract(request, contract_id).payments.select_related("recorded_by").prefetch_related("allocations"))


@router.post("/{contract_id}/payments", response={201: PaymentOut, **ERRORS}, summary="Record a payment (finance)",
             description="422 `overpayment` when it is more than still owed; 422 `allocation_invalid` when the split "
             "does not add up or pays an instalment beyond what it owes.")
def record_payment(request, contract_id: int, payload: PaymentIn):
    contract = _contract(request, contract_id)
    data = _text(payload.model_dump(exclude={"allocations"}))
    allocations = ([{"instalment": str(a.instalment_id), "amount": f"{a.amount:f}"} for a in payload.allocations]
                   if payload.allocations else None)
    payment = payments.payment_record(contract=contract, data=data, actor=request.user, channel=Channel.API,
                                      allocations=allocations)
    return Status(201, payment)


@router.post("/{contract_id}/payments/{payment_id}/void", response={200: PaymentOut, **ERRORS},
             summary="Void a wrongly recorded payment (finance)")
def void_payment(request, contract_id: int, payment_id: int, payload: ReasonIn):
    try:
        payment = get_payment_for_user(request.user, contract_id, payment_id)
    except Http404:
        raise NotFound(_("No such payment on a contract you can see.")) from None
    return payments.payment_void(payment=payment, actor=request.user, reason=payload.reason, channel=Channel.API)


# ---------------------------------------------------------------------------------------------------
# Invoice requests


@router.get("/{contract_id}/invoice-requests", response={200: list[InvoiceRequestOut], 401: ErrorOut, 404: ErrorOut},
            summary="Invoice requests of the contract")
def list_invoice_requests(request, contract_id: int):
    return list(_contract(request, contract_id).invoice_requests.select_related("requested_by"))


@router.post("/{contract_id}/invoice-requests", response={201: InvoiceRequestOut, **ERRORS},
             summary="Ask finance for an invoice",
             description="422 `over_invoiced` when issued and waiting requests would exceed the contract amount.")
def request_invoice(request, contract_id: int, payload: InvoiceRequestIn):
    contract = _contract(request, contract_id)
    return Status(201, invoices.invoice_request_create(contract=contract, data=_text(payload.model_dump()),
                                                       actor=request.user, channel=Channel.API))


def _invoice(request, contract_id: int, request_id: int):
    try:
        return get_invoice_request_for_user(request.user, contract_id, request_id)
    except Http404:
        raise NotFound(_("No such invoice request on a contract you can see.")) from None


@router.post("/{contract_id}/invoice-requests/{request_id}/issue", response={200: InvoiceRequestOut, **ERRORS},
             summary="Record the issued invoice (finance)",
             description="409 `invoice_number_taken` when the number is already recorded.")
def issue_invoice(request, contract_id: int, request_id: int, payload: InvoiceIssueIn):
    return invoices.invoice_issue(request=_invoice(request, contract_id, request_id), data=_text(payload.model_dump()),
                                  actor=request.user, channel=Channel.API)


@router.post("/{contract_id}/invoice-requests/{request_id}/reject", response={200: InvoiceRequestOut, **ERRORS},
             summary="Reject the request, saying why (finance)")
def reject_invoice(request, contract_id: int, request_id: int, payload: ReasonIn):
    return invoices.invoice_reject(request=_invoice(request, contract_id, request_id), reason=payload.reason,
                                   actor=request.user, channel=Channel.API)


@router.post("/{contract_id}/invoice-requests/{request_id}/cancel", response={200: InvoiceRequestOut, **ERRORS},
             summary="Withdraw a request finance has not answered")
def cancel_invoice(request, contract_id: int, request_id: int):
    return invoices.invoice_cancel(request=_invoice(request, contract_id, request_id), actor=request.user,
                                   channel=Channel.API)
