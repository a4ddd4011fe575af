"""Payments (回款): finance records money received against a signed contract, split over its instalments.

A payment may pay part of an instalment or several at once; more than is still owed is refused (on the
instalment and on the contract), and the database's check constraints refuse it again. A wrong entry is
voided with a reason, never edited. The contract and instalment rows are locked in primary-key order, so two
finance users recording at once queue instead of both spending the same outstanding amount.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from closeloop.core.inputs import date_input
from closeloop.core.models import Channel, User
from closeloop.core.money import format_yuan, quantize
from closeloop.core.notify import notify
from closeloop.quotes.catalog import parse_amount

from . import access
from .actions import ContractAction
from .fields import positive_amount, texts
from .models import (
    RECEIVABLE_STATUSES,
    Contract,
    ContractStatus,
    Instalment,
    Payment,
    PaymentAllocation,
    PaymentMethod,
)
from .plans import sync_instalments
from .services import complete_if_done, start


def _require_finance(actor: User) -> None:
    if not access.is_finance(actor):
        raise Forbidden(_("Only finance records and voids payments."))


def _clean(data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    values: dict = {}
    try:
        values["received_on"] = date_input(data.get("received_on"), "received_on") or timezone.localdate()
        if values["received_on"] > timezone.localdate():
            errors["received_on"] = [_("Money cannot be received in the future.")]
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    values["amount"] = positive_amount(data, "amount", errors)
    method = data.get("method") or PaymentMethod.TRANSFER
    if method not in PaymentMethod.values:
        errors["method"] = [_("Choose how the money came in.")]
    values["method"] = method
    values.update(texts(data, {"reference": 100, "note": 300}, errors))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return values


def _split(amount: Decimal, instalments: list[Instalment], allocations: list[dict] | None) -> list[tuple[Instalment, Decimal]]:
    """Where the money goes: the split finance typed, or else the oldest instalments first (by due date, those
    without a date last). Refuses any instalment paid beyond what it still owes."""
    open_ones = [i for i in instalments if i.outstanding > 0]
    if not allocations:
        order = sorted(open_ones, key=lambda i: (i.due_date is None, i.due_date or 0, i.position, i.pk))
        split, left = [], amount
        for instalment in order:
            if left <= 0:
                break
            share = min(left, instalment.outstanding)
            split.append((instalment, share))
            left -= share
        return split
    by_pk = {i.pk: i for i in instalments}
    split, errors = [], []
    for row in allocations:
        instalment = by_pk.get(int(row["instalment"])) if str(row.get("instalment", "")).isdigit() else None
        if instalment is None:
            errors.append(_("Choose instalments of this contract."))
            continue
        try:
            share = parse_amount(row.get("amount"), "amount", required=False)
        except ValidationFailed:
            errors.append(_("%(title)s: enter an amount in yuan.") % {"title": instalment.title})
            continue
        if not share:
            continue
        if share > instalment.outstanding:
            errors.append(_("%(title)s: %(amount)s is %(over)s more than it still owes (%(owed)s); overpayment is refused.")
                          % {"title": instalment.title, "amount": format_yuan(share),
                             "over": format_yuan(share - instalment.outstanding), "owed": format_yuan(instalment.outstanding)})
        split.append((instalment, share))
    total = sum((share for _i, share in split), start=quantize(0))
    if not errors and total != amount:
        errors.append(_("The split adds up to %(total)s, %(gap)s %(direction)s than the payment of %(amount)s.")
                      % {"total": format_yuan(total), "gap": format_yuan(abs(amount - total)),
                         "direction": _("less") if total < amount else _("more"), "amount": format_yuan(amount)})
    if len({i.pk for i, _share in split}) != len(split):
        errors.append(_("Name each instalment once."))
    if errors:
        raise ValidationFailed(errors[0], field_errors={"allocations": errors}, code="allocation_invalid")
    return split


def payment_record(*, contract: Contract, data: dict, actor: User, channel: str = Channel.WEB,
                   allocations: list[dict] | None = None) -> Payment:
    """Record money received (date, amount, method, reference) against the contract's instalments. The first
    payment puts a signed contract in performance; the last one completes it when the delivery was accepted."""
    _require_finance(actor)
    values = _clean(data)
    with transaction.atomic():
        contract = Contract.objects.lock(contract.pk)
        if contract.status not in RECEIVABLE_STATUSES:
            raise Conflict(_("Payments are recorded on signed contracts; this one is “%(status)s”.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        amount = values["amount"]
        owed = contract.amount - contract.paid_amount
        if amount > owed:
            raise ValidationFailed(
                _("%(amount)s is %(over)s more than %(contract)s still owes (%(owed)s); overpayment is refused.")
                % {"amount": format_yuan(amount), "over": format_yuan(amount - owed), "contract": contract.number,
                   "owed": format_yuan(owed)}, field_errors={"amount": [_("More than is owed.")]}, code="overpayment")
        instalments = list(contract.instalments.select_for_update(of=("self",)).select_related("task").order_by("pk"))
        split = _split(amount, instalments, allocations)
        payment = Payment.objects.create(contract=contract, recorded_by=actor, **values)
        PaymentAllocation.objects.bulk_create([PaymentAllocation(payment=payment, instalment=i, amount=share)
                                               for i, share in split])
        for instalment, share in split:
            instalment.paid_amount += share
            if instalment.paid_amount >= instalment.amount:
                instalment.paid_on = values["received_on"]
            instalment.save(update_fields=["paid_amount", "paid_on"])
        contract.paid_amount += amount
        contract.save(update_fields=["paid_amount", "updated_at"])
        sync_instalments(contract, instalments=instalments)
        audit_record(actor=actor, channel=channel, action=ContractAction.PAYMENT_RECORD, target=contract,
                     changes={"amount": [None, amount], "received_on": [None, values["received_on"]],
                              "method": [None, values["method"]], "reference": [None, values["reference"] or None],
                              "paid_amount": [contract.paid_amount - amount, contract.paid_amount]},
                     note="; ".join(f"{i.title} {format_yuan(share)}" for i, share in split))
        if contract.status == ContractStatus.SIGNED:
            start(contract, actor=actor, channel=channel)
        complete_if_done(contract, actor=actor, channel=channel)
        notify(recipient=contract.owner, kind="payment.recorded", url=contract.get_absolute_url(),
               message=_("%(amount)s received on %(contract)s; %(owed)s still owed.")
               % {"amount": format_yuan(amount), "contract": contract.number, "owed": format_yuan(contract.outstanding)})
    return payment


def payment_void(*, payment: Payment, actor: User, reason: str, channel: str = Channel.WEB) -> Payment:
    """Undo a wrongly recorded payment: its instalments owe again what it paid. A completed contract is closed;
    its payments stay."""
    _require_finance(actor)
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", _("Say why the payment is voided."))
    with transaction.atomic():
        contract = Contract.objects.lock(payment.contract_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.is_void:
            raise Conflict(_("This payment was already voided."), code="payment_void")
        if contract.status not in RECEIVABLE_STATUSES:
            raise Conflict(_("Payments of a contract that is “%(status)s” stay as they are.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        instalments = list(contract.instalments.select_for_update(of=("self",)).select_related("task").order_by("pk"))
        by_pk = {i.pk: i for i in instalments}
        for allocation in payment.allocations.all():
            instalment = by_pk[allocation.instalment_id]
            instalment.paid_amount -= allocation.amount
            instalment.paid_on = None
            instalment.save(update_fields=["paid_amount", "paid_on"])
        payment.voided_at, payment.voided_by, payment.void_reason = timezone.now(), actor, reason[:300]
        payment.save(update_fields=["voided_at", "voided_by", "void_reason"])
        contract.paid_amount -= payment.amount
        contract.save(update_fields=["paid_amount", "updated_at"])
        sync_instalments(contract, instalments=instalments)
        audit_record(actor=actor, channel=channel, action=ContractAction.PAYMENT_VOID, target=contract,
                     changes={"amount": [payment.amount, None],
                              "paid_amount": [contract.paid_amount + payment.amount, contract.paid_amount]},
                     note=f"{payment.received_on} {payment.reference}: {reason[:300]}".strip())
    return payment
