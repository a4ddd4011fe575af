"""Invoice requests (开票申请): the rep asks, finance issues the invoice and records its number and type.

What is requested and issued together never goes beyond the contract amount, so the contract page's
invoiced vs paid vs due add up for sales and finance alike.
"""

import re

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from closeloop.core.inputs import date_input
from closeloop.core.models import Channel, Role, User
from closeloop.core.money import format_yuan, quantize
from closeloop.core.notify import notify

from . import access
from .actions import ContractAction
from .fields import positive_amount, texts
from .models import Contract, ContractStatus, InvoiceRequest, InvoiceStatus, InvoiceType

INVOICEABLE = (ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.COMPLETED)
# A taxpayer ID is the unified social credit code (18) or an older registration number (15 to 20).
TAX_ID = re.compile(r"^[0-9A-Z]{15,20}$")
# Paper invoices carry 8 digits (with a 10–12 digit code), fully digital ones (全电发票) 20.
INVOICE_NUMBER = re.compile(r"^[0-9A-Za-z-]{8,30}$")


def finance_users():
    return get_user_model().objects.filter(role=Role.FINANCE, is_active=True)


def _left_to_invoice(contract: Contract) -> tuple:
    waiting = (contract.invoice_requests.filter(status=InvoiceStatus.REQUESTED).aggregate(total=Sum("amount"))["total"]
               or 0)
    waiting = quantize(waiting)
    return contract.amount - contract.invoiced_amount - waiting, waiting


def invoice_request_create(*, contract: Contract, data: dict, actor: User, channel: str = Channel.WEB) -> InvoiceRequest:
    errors: dict[str, list[str]] = {}
    values: dict = {}
    values["amount"] = positive_amount(data, "amount", errors)
    invoice_type = data.get("invoice_type") or InvoiceType.SPECIAL
    if invoice_type not in InvoiceType.values:
        errors["invoice_type"] = [_("Choose 普票 or 专票.")]
    values["invoice_type"] = invoice_type
    values.update(texts(data, {"buyer_name": 200, "buyer_tax_id": 30, "buyer_details": 500, "note": 300}, errors))
    values["buyer_tax_id"] = values["buyer_tax_id"].upper().replace(" ", "")
    if values["buyer_tax_id"] and not TAX_ID.match(values["buyer_tax_id"]):
        errors["buyer_tax_id"] = [_("A taxpayer ID has 15 to 20 letters and digits (the unified social credit code).")]
    if invoice_type == InvoiceType.SPECIAL and not values["buyer_tax_id"] and "buyer_tax_id" not in errors:
        errors["buyer_tax_id"] = [_("A special VAT invoice (专票) needs the buyer's taxpayer ID.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        contract = Contract.objects.lock(contract.pk)
        if not access.can_edit(actor, contract):
            raise Forbidden(_("Only the contract's owner, their manager or a sales collaborator on it asks for invoices."))
        if contract.status not in INVOICEABLE:
            raise Conflict(_("Invoices are asked for on signed contracts; this one is “%(status)s”.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        left, waiting = _left_to_invoice(contract)
        if values["amount"] > left:
            raise ValidationFailed(
                _("%(amount)s is more than is left to invoice (%(left)s of %(total)s: %(invoiced)s issued, %(waiting)s "
                  "waiting).") % {"amount": format_yuan(values["amount"]), "left": format_yuan(max(left, 0)),
                                 "total": format_yuan(contract.amount), "invoiced": format_yuan(contract.invoiced_amount),
                                 "waiting": format_yuan(waiting)},
                field_errors={"amount": [_("More than is left to invoice.")]}, code="over_invoiced")
        values["buyer_name"] = values["buyer_name"] or contract.party_b
        request = InvoiceRequest.objects.create(contract=contract, requested_by=actor, **values)
        audit_record(actor=actor, channel=channel, action=ContractAction.INVOICE_REQUEST, target=contract,
                     changes={"amount": [None, request.amount], "invoice_type": [None, request.invoice_type],
                              "buyer_name": [None, request.buyer_name]}, note=request.note)
        for person in finance_users():
            notify(recipient=person, kind="invoice.requested", url=contract.get_absolute_url() + "#invoices",
                   message=_("%(who)s asks for a %(type)s of %(amount)s on %(contract)s")
                   % {"who": actor, "type": request.get_invoice_type_display(), "amount": format_yuan(request.amount),
                      "contract": contract.number})
    return request


def _locked_request(request: InvoiceRequest) -> tuple[Contract, InvoiceRequest]:
    contract = Contract.objects.lock(request.contract_id)
    request = InvoiceRequest.objects.select_for_update(of=("self",)).select_related("requested_by").get(pk=request.pk)
    if request.status != InvoiceStatus.REQUESTED:
        raise Conflict(_("This request was already %(status)s.") % {"status": request.get_status_display()},
                       code="invoice_status")
    return contract, request


def invoice_issue(*, request: InvoiceRequest, data: dict, actor: User, channel: str = Channel.WEB) -> InvoiceRequest:
    """Finance issued the invoice: its number, date and type (the type may differ from the one asked for)."""
    if not access.is_finance(actor):
        raise Forbidden(_("Only finance issues invoices."))
    errors: dict[str, list[str]] = {}
    number = str(data.get("invoice_number") or "").strip()
    if not INVOICE_NUMBER.match(number):
        errors["invoice_number"] = [_("Enter the invoice number as printed (8 to 30 letters and digits).")]
    try:
        issued_on = date_input(data.get("issued_on"), "issued_on") or timezone.localdate()
        if issued_on > timezone.localdate():
            errors["issued_on"] = [_("An invoice cannot be issued in the future.")]
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        issued_on = None
    invoice_type = data.get("invoice_type") or None
    if invoice_type is not None and invoice_type not in InvoiceType.values:
        errors["invoice_type"] = [_("Choose 普票 or 专票.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        contract, request = _locked_request(request)
        request.invoice_type = invoice_type or request.invoice_type
        request.status, request.invoice_number, request.issued_on = InvoiceStatus.ISSUED, number, issued_on
        request.decided_by, request.decided_at = actor, timezone.now()
        try:
            with transaction.atomic():
                request.save(update_fields=["invoice_type", "status", "invoice_number", "issued_on", "decided_by",
                                            "decided_at"])
        except IntegrityError:
            raise Conflict(_("Invoice %(number)s is already recorded.") % {"number": number},
                           code="invoice_number_taken") from None
        old = contract.invoiced_amount
        contract.invoiced_amount += request.amount
        contract.save(update_fields=["invoiced_amount", "updated_at"])
        audit_record(actor=actor, channel=channel, action=ContractAction.INVOICE_ISSUE, target=contract,
                     changes={"invoice_number": [None, number], "invoice_type": [None, request.invoice_type],
                              "invoiced_amount": [old, contract.invoiced_amount]},
                     note=f"{format_yuan(request.amount)} · {issued_on}")
        notify(recipient=request.requested_by, kind="invoice.decided", url=contract.get_absolute_url() + "#invoices",
               message=_("Invoice %(number)s (%(amount)s) issued for %(contract)s")
               % {"number": number, "amount": format_yuan(request.amount), "contract": contract.number})
    return request


def invoice_reject(*, request: InvoiceRequest, reason: str, actor: User, channel: str = Channel.WEB) -> InvoiceRequest:
    if not access.is_finance(actor):
        raise Forbidden(_("Only finance rejects invoice requests."))
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", _("Say why, so the rep can ask again correctly."))
    with transaction.atomic():
        contract, request = _locked_request(request)
        request.status, request.reject_reason = InvoiceStatus.REJECTED, reason[:300]
        request.decided_by, request.decided_at = actor, timezone.now()
        request.save(update_fields=["status", "reject_reason", "decided_by", "decided_at"])
        audit_record(actor=actor, channel=channel, action=ContractAction.INVOICE_REJECT, target=contract,
                     changes={"amount": [request.amount, None]}, note=reason[:300])
        notify(recipient=request.requested_by, kind="invoice.decided", url=contract.get_absolute_url() + "#invoices",
               message=_("Finance rejected the invoice request on %(contract)s: %(why)s")
               % {"contract": contract.number, "why": reason[:200]})
    return request


def invoice_cancel(*, request: InvoiceRequest, actor: User, channel: str = Channel.WEB) -> InvoiceRequest:
    """The rep withdraws a request finance has not answered yet."""
    with transaction.atomic():
        contract, request = _locked_request(request)
        if not (request.requested_by_id == actor.pk or access.can_edit(actor, contract)):
            raise Forbidden(_("Only whoever asked, or the contract's owner and their manager, withdraws the request."))
        request.status, request.decided_by, request.decided_at = InvoiceStatus.CANCELLED, actor, timezone.now()
        request.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(actor=actor, channel=channel, action=ContractAction.INVOICE_CANCEL, target=contract,
                     changes={"amount": [request.amount, None]})
    return request
