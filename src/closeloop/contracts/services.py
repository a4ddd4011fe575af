"""Contract writes: make one from an accepted quote or a deal, edit the draft, submit it for approval, sign,
perform, complete or terminate it.

The life of a contract is a state machine (`TRANSITIONS`); a step it does not allow is refused with a
message saying where the contract stands:

    草稿 draft ──submit──► 审批中 pending_approval ──approved──► 已批准 approved ──sign──► 已签署 signed
      ▲  (no rule crossed: approved at once)   │ rejected / withdrawn            │ (scan upload or e-signature)
      └──────────────────────────────────────────┘◄──── reopen (a manager) ──────┘          │ start date, first payment
                                                                                          ▼
        已终止 terminated ◄── terminate (any state before completed) ── 履行中 active ──► 已完成 completed
                                                                         (fully paid, and delivered or closed)

Every function locks the contract row, checks that the actor may act (`access`), writes its audit entry on
the contract in the same transaction and notifies after commit (core.notify defers its deliveries).
"""

from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core.audit import audit_record, audited_create, audited_update
from closeloop.core.customfields.registry import clean_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from closeloop.core.hooks import loop_apps
from closeloop.core.inputs import date_input, too_long_message
from closeloop.core.models import Channel, Role, User
from closeloop.core.money import format_yuan, parse_money, quantize
from closeloop.core.notify import notify
from closeloop.deals.models import Opportunity, OpportunityStatus
from closeloop.followup.services import tasks_cancel
from closeloop.quotes import approvals
from closeloop.quotes.catalog import parse_amount, quote_settings
from closeloop.quotes.models import Quote, QuoteStatus
from closeloop.quotes.numbering import next_number

from . import access
from .actions import ContractAction
from .config import contract_settings
from .models import Contract, ContractLine, ContractStatus, Instalment, InstalmentCondition
from .plans import plan_problem, sync_instalments

APPROVAL_KIND = "contract"
S = ContractStatus

# Which status may follow which. Anything else is refused by `_move`.
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.PENDING_APPROVAL, S.APPROVED, S.TERMINATED},
    S.PENDING_APPROVAL: {S.APPROVED, S.DRAFT, S.TERMINATED},
    S.APPROVED: {S.SIGNED, S.DRAFT, S.TERMINATED},
    S.SIGNED: {S.ACTIVE, S.TERMINATED},
    S.ACTIVE: {S.COMPLETED, S.TERMINATED},
    S.COMPLETED: set(),
    S.TERMINATED: set(),
}


def _move(contract: Contract, new: str) -> str:
    """Set the new status if the state machine allows it; returns the old one."""
    old = contract.status
    if new not in TRANSITIONS[old]:
        raise Conflict(_("A contract that is “%(old)s” cannot become “%(new)s”.")
                       % {"old": S(old).label, "new": S(new).label}, code="contract_status")
    contract.status = new
    return old


def locked(contract: Contract) -> Contract:
    return Contract.objects.lock(contract.pk)


def _require(allowed: bool, message) -> None:
    if not allowed:
        raise Forbidden(message)


def _require_editor(actor, contract: Contract) -> None:
    _require(access.can_edit(actor, contract),
             _("Only the contract's owner, their manager or a sales collaborator on it can do this."))


def _text(data: dict, field: str, limit: int, *, required: bool = False) -> str:
    value = str(data.get(field) or "").strip()
    if required and not value:
        raise invalid(field, _("This field is required."))
    if len(value) > limit:
        raise invalid(field, too_long_message(limit, len(value)))
    return value


def _collect(errors: dict, parse):
    try:
        return parse()
    except ValidationFailed as exc:
        for key, messages in exc.field_errors.items():
            errors.setdefault(key, []).extend(messages)
        return None


# ---------------------------------------------------------------------------------------------------
# Creating and editing


TEXT_FIELDS = {"title": 200, "party_a": 200, "party_b": 200, "party_b_contact": 100, "party_b_phone": 40,
               "payment_terms": 2000, "notes": 5000}
DATE_FIELDS = ["sign_date", "start_date", "end_date"]
EDIT_FIELDS = [*TEXT_FIELDS, "amount", *DATE_FIELDS]
# What a contract's creation entry shows: what it is, not every carried-over term.
CREATION_FIELDS = ["number", "title", "amount", "status", "owner"]
# The record type of contracts' custom fields (ContractsConfig.custom_field_targets).
CONTRACT_TARGET = "contracts.Contract"


def _creation_fields(custom: dict | None) -> list[str]:
    """The creation entry's fields, with the custom values the contract starts with (audited key by key)."""
    return [*CREATION_FIELDS, *(f"custom.{key}" for key in custom or {})]


def _clean(data: dict, *, contract: Contract | None, amount_editable: bool) -> dict:
    """The fields of a contract as typed, parsed and checked; raises with every field's problem at once."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    for name, limit in TEXT_FIELDS.items():
        if name in data:
            values[name] = _collect(errors, lambda name=name, limit=limit: _text(
                data, name, limit, required=name in ("title", "party_b")))
    for name in DATE_FIELDS:
        if name in data:
            values[name] = _collect(errors, lambda name=name: date_input(data[name], name))
    if "amount" in data:
        if not amount_editable:
            errors["amount"] = [_("The amount comes from the quote's lines; change the quote and make a new contract.")]
        else:
            values["amount"] = _collect(errors, lambda: parse_amount(data["amount"], "amount"))
            if values["amount"] is not None and values["amount"] <= 0:
                errors["amount"] = [_("Enter an amount above zero.")]
    start = values.get("start_date", contract.start_date if contract else None)
    end = values.get("end_date", contract.end_date if contract else None)
    if start and end and end < start and "end_date" not in errors:
        errors["end_date"] = [_("The contract cannot end before it starts.")]
    sign = values.get("sign_date")
    if sign and sign > timezone.localdate():
        errors["sign_date"] = [_("The sign date cannot be in the future.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return values


def _given(data: dict | None) -> dict:
    """What was typed: an empty field of a new contract takes the quote's or the deal's value."""
    return {name: value for name, value in (data or {}).items() if value not in (None, "")}


def _new_number() -> str:
    return next_number(series="contract", pattern=contract_settings().number_pattern)


def contract_create_from_quote(*, quote: Quote, actor: User, channel: str = Channel.WEB, data: dict | None = None) -> Contract:
    """A draft contract from an accepted quote: its version's lines, totals, terms and addressee carried over."""
    deal = quote.opportunity
    _require(access.can_create_for_deal(actor, deal),
             _("Only the deal's owner, their manager or a collaborator on the deal can make its contract."))
    values, custom = clean_record(lambda: _clean(_given(data), contract=None, amount_editable=False), CONTRACT_TARGET,
                                  data or {}, channel=channel, actor=actor, creating=True)
    with transaction.atomic():
        # The quote's lock makes "one live contract per quote" hold when two people click at once.
        quote = (Quote.objects.select_for_update(of=("self",))
                 .select_related("current_version", "opportunity__customer", "opportunity__owner").get(pk=quote.pk))
        if quote.status != QuoteStatus.ACCEPTED:
            raise Conflict(_("Only a quote the customer accepted becomes a contract."), code="quote_not_accepted")
        existing = quote.contracts.exclude(status=S.TERMINATED).first()
        if existing is not None:
            raise Conflict(_("This quote already has contract %(number)s.") % {"number": existing.number},
                           code="contract_exists", contract=existing.pk)
        version = quote.current_version
        deal = quote.opportunity
        contract = Contract(
            number=_new_number(), title=values.get("title") or quote.title, opportunity=deal, customer=deal.customer,
            quote=quote, quote_version=version, owner=deal.owner, created_by=actor,
            party_a=values.get("party_a") or quote_settings().company_name, party_b=values.get("party_b") or deal.customer.name,
            party_b_contact=values.get("party_b_contact") or version.contact_name,
            party_b_phone=values.get("party_b_phone") or version.contact_phone,
            amount=version.total_incl_tax, amount_excl_tax=version.total_excl_tax, tax_amount=version.tax_total,
            payment_terms=values.get("payment_terms") or version.payment_terms, notes=values.get("notes") or version.notes,
            start_date=values.get("start_date"), end_date=values.get("end_date"), custom=custom,
        )
        audited_create(instance=contract, actor=actor, channel=channel, action=ContractAction.CONTRACT_CREATE,
                       fields=_creation_fields(custom),
                       note=_("from quote %(number)s v%(version)s") % {"number": quote.number, "version": version.number})
        ContractLine.objects.bulk_create([
            ContractLine(contract=contract, position=position, product_id=line.product_id, name=line.name,
                         description=line.description, unit=line.unit, quantity=line.quantity,
                         unit_price=line.unit_price, discount_pct=line.discount_pct, tax_rate=line.tax_rate,
                         amount_excl_tax=line.amount_excl_tax, tax_amount=line.tax_amount,
                         amount_incl_tax=line.amount_incl_tax)
            for position, line in enumerate(version.lines.order_by("position", "id"))
        ])
    return contract


def contract_create_from_deal(*, opportunity: Opportunity, data: dict, actor: User,
                              channel: str = Channel.WEB) -> Contract:
    """A draft contract for a deal without a quote: the amount is typed (the deal's amount by default)."""
    _require(access.can_create_for_deal(actor, opportunity),
             _("Only the deal's owner, their manager or a collaborator on the deal can make its contract."))
    if opportunity.status == OpportunityStatus.LOST:
        raise Conflict(_("This deal is lost; reopen it before making a contract."), code="deal_lost")
    data = {"title": opportunity.name, "party_b": opportunity.customer.name, **_given(data)}
    if data.get("amount") in (None, "") and opportunity.amount:
        data["amount"] = opportunity.amount
    if data.get("amount") in (None, ""):
        raise invalid("amount", _("Enter the contract amount."))
    values, custom = clean_record(lambda: _clean(data, contract=None, amount_editable=True), CONTRACT_TARGET, data,
                                  channel=channel, actor=actor, creating=True)
    values.pop("sign_date", None)
    with transaction.atomic():
        contract = Contract(number=_new_number(), opportunity=opportunity, customer=opportunity.customer,
                            owner=opportunity.owner, created_by=actor, custom=custom, **values)
        contract.party_a = contract.party_a or quote_settings().company_name
        audited_create(instance=contract, actor=actor, channel=channel, action=ContractAction.CONTRACT_CREATE,
                       fields=_creation_fields(custom), note=_("from deal %(deal)s") % {"deal": opportunity.name})
    return contract


def _same_amount(value, amount) -> bool:
    try:
        return parse_money(value) == amount
    except ValueError:
        return False


def contract_update(*, contract: Contract, data: dict, actor: User, channel: str = Channel.WEB) -> Contract:
    """Edit a draft. After approval nothing here changes (amounts and terms were what the approvers saw); a
    manager returns the contract to draft first."""
    with transaction.atomic():
        contract = locked(contract)
        _require_editor(actor, contract)
        if contract.status != S.DRAFT:
            raise Conflict(_("Only a draft contract can be edited; this one is “%(status)s”.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        fields = {k: v for k, v in data.items() if k in EDIT_FIELDS and k != "sign_date"}
        has_lines = contract.lines.exists()
        if has_lines and "amount" in fields and _same_amount(fields["amount"], contract.amount):
            fields.pop("amount")  # the form sends the amount back as it was
        values, custom = clean_record(lambda: _clean(fields, contract=contract, amount_editable=not has_lines),
                                      CONTRACT_TARGET, data, channel=channel, actor=actor, current=contract.custom)
        values["custom"] = custom
        changes = audited_update(instance=contract, data=values, actor=actor, channel=channel,
                                 action=ContractAction.CONTRACT_UPDATE, fields=[*EDIT_FIELDS, "custom"])
        if "amount" in changes:
            # Instalments typed as a share follow the new amount.
            sync_instalments(contract, rescale=True)
    return contract


# ---------------------------------------------------------------------------------------------------
# Approval


def contract_metrics(contract: Contract) -> dict:
    """What approval rules measure on a contract."""
    on_signing = sum((i.amount for i in contract.instalments.all() if i.condition == InstalmentCondition.ON_SIGNING),
                     start=quantize(0))
    prepayment = quantize(on_signing * 100 / contract.amount) if contract.amount else None
    version = contract.quote_version
    return {"amount": contract.amount, "prepayment_pct": prepayment,
            "discount_pct": version.discount_pct if version is not None else None}


def contract_approval_title(contract: Contract) -> str:
    return f"{contract.number} · {contract.customer} · {format_yuan(contract.amount)}"


def contract_approval_decided(contract: Contract, request, actor: User, channel: str) -> None:
    """The approval engine's callback: the round ended (inside its transaction)."""
    contract = locked(contract)
    if contract.status != S.PENDING_APPROVAL:
        return
    approved = request.status == approvals.ApprovalStatus.APPROVED
    old = _move(contract, S.APPROVED if approved else S.DRAFT)
    if approved:
        contract.approved_at = timezone.now()
    contract.save(update_fields=["status", "approved_at", "updated_at"])
    audit_record(actor=actor, channel=channel, target=contract,
                 action=ContractAction.CONTRACT_APPROVED if approved else ContractAction.CONTRACT_REJECTED,
                 changes={"status": [old, contract.status]})


def contract_approval_kind() -> approvals.ApprovalKind:
    """How contracts take part in the quotes' approval engine (one mechanism for both; registered in ready())."""
    return approvals.ApprovalKind(
        key=APPROVAL_KIND, label=gettext_lazy("Contract"), model="contracts.Contract",
        metrics=(
            approvals.Metric("amount", gettext_lazy("Contract amount"), "¥"),
            approvals.Metric("prepayment_pct", gettext_lazy("Share paid on signing"), "%"),
            approvals.Metric("discount_pct", gettext_lazy("Discount off list in the quote"), "%"),
        ),
        measure=contract_metrics, owner=lambda contract: contract.owner,
        opportunity=lambda contract: contract.opportunity, title=contract_approval_title,
        url=lambda contract: contract.get_absolute_url(), on_decided=contract_approval_decided,
    )


def contract_submit(*, contract: Contract, actor: User, channel: str = Channel.WEB, note: str = "") -> Contract:
    """Ask for approval; a contract that crosses no rule is approved at once (the trail says so). The payment
    plan must add up to the amount first: the approvers approve the plan with the amount."""
    with transaction.atomic():
        contract = locked(contract)
        _require_editor(actor, contract)
        if contract.status != S.DRAFT:
            raise Conflict(_("Only a draft contract can be submitted; this one is “%(status)s”.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        if problem := plan_problem(contract):
            raise ValidationFailed(problem, code="plan_incomplete", field_errors={"instalments": [problem]})
        request = approvals.approval_submit(kind=APPROVAL_KIND, target=contract, actor=actor, channel=channel,
                                            note=(note or "").strip())
        old = _move(contract, S.PENDING_APPROVAL if request else S.APPROVED)
        if request is None:
            contract.approved_at = timezone.now()
        contract.save(update_fields=["status", "approved_at", "updated_at"])
        audit_record(actor=actor, channel=channel, target=contract, changes={"status": [old, contract.status]},
                     action=ContractAction.CONTRACT_SUBMIT if request else ContractAction.CONTRACT_APPROVED,
                     note="" if request else _("No approval rule applies."))
    return contract


def contract_withdraw(*, contract: Contract, actor: User, channel: str = Channel.WEB) -> Contract:
    """Take a contract back from approval, to change it."""
    with transaction.atomic():
        contract = locked(contract)
        _require_editor(actor, contract)
        if contract.status != S.PENDING_APPROVAL:
            raise Conflict(_("This contract is not waiting for approval."), code="contract_status")
        if (request := approvals.pending_request(APPROVAL_KIND, contract.pk)) is not None:
            approvals.approval_cancel(request=request, actor=actor, channel=channel, reason=_("Withdrawn to change it."))
        old = _move(contract, S.DRAFT)
        contract.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, channel=channel, target=contract, action=ContractAction.CONTRACT_WITHDRAW,
                     changes={"status": [old, contract.status]})
    return contract


def contract_reopen(*, contract: Contract, actor: User, reason: str, channel: str = Channel.WEB) -> Contract:
    """An approved, unsigned contract back to draft, by a manager over the owner or an administrator (the rep
    cannot: the approval covered its amounts). It must be approved again."""
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", _("Say why it goes back to draft; the owner reads this."))
    with transaction.atomic():
        contract = locked(contract)
        _require(access.can_oversee(actor, contract),
                 _("Only a manager over the owner or an administrator can return an approved contract to draft."))
        if contract.status != S.APPROVED:
            raise Conflict(_("Only an approved, unsigned contract can go back to draft."), code="contract_status")
        old = _move(contract, S.DRAFT)
        contract.approved_at = None
        contract.save(update_fields=["status", "approved_at", "updated_at"])
        audit_record(actor=actor, channel=channel, target=contract, action=ContractAction.CONTRACT_REOPEN,
                     changes={"status": [old, contract.status]}, note=reason[:500])
        if contract.owner_id != actor.pk:
            notify(recipient=contract.owner, kind="contract.changed", url=contract.get_absolute_url(),
                   message=_("%(who)s returned %(contract)s to draft: %(why)s")
                   % {"who": actor, "contract": contract.number, "why": reason[:200]})
    return contract


# ---------------------------------------------------------------------------------------------------
# Signing and performance


def contract_sign(*, contract: Contract, actor: User | None, sign_date: date | None, via: str,
                  channel: str = Channel.WEB, flow_id: str = "") -> Contract:
    """Record the signature (a signed copy uploaded, or the e-signature service's callback, actor None): the
    plan's "on signing" instalments fall due and every instalment with a date becomes receivable."""
    today = timezone.localdate()
    sign_date = sign_date or today
    if sign_date > today:
        raise invalid("sign_date", _("The sign date cannot be in the future."))
    with transaction.atomic():
        contract = locked(contract)
        if actor is not None:
            _require_editor(actor, contract)
        if contract.status != S.APPROVED:
            raise Conflict(_("Only an approved contract can be signed; this one is “%(status)s”.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        old = _move(contract, S.SIGNED)
        contract.sign_date, contract.signed_at, contract.signed_via = sign_date, timezone.now(), via
        if flow_id:
            contract.esign_flow_id = flow_id[:100]
        contract.save(update_fields=["status", "sign_date", "signed_at", "signed_via", "esign_flow_id", "updated_at"])
        sync_instalments(contract)
        audit_record(actor=actor, channel=channel, target=contract, action=ContractAction.CONTRACT_SIGN,
                     changes={"status": [old, contract.status], "sign_date": [None, sign_date],
                              "signed_via": [None, via]})
        if actor is None or contract.owner_id != actor.pk:
            notify(recipient=contract.owner, kind="contract.signed", url=contract.get_absolute_url(),
                   message=_("%(contract)s is signed (%(via)s).") % {"contract": contract, "via": contract.get_signed_via_display()})
    return contract


def start(contract: Contract, *, actor, channel: str) -> None:
    """Signed → in performance, inside the caller's transaction on a locked contract."""
    old = _move(contract, S.ACTIVE)
    contract.activated_at = timezone.now()
    contract.save(update_fields=["status", "activated_at", "updated_at"])
    audit_record(actor=actor, channel=channel, target=contract, action=ContractAction.CONTRACT_START,
                 changes={"status": [old, contract.status]})


def contract_start(*, contract: Contract, actor: User | None, channel: str = Channel.WEB) -> Contract:
    """The contract is being performed: by hand, when its start date comes (the sweep, actor None) or with its
    first payment."""
    with transaction.atomic():
        contract = locked(contract)
        if actor is not None:
            _require_editor(actor, contract)
        start(contract, actor=actor, channel=channel)
    return contract


def complete(contract: Contract, *, actor, channel: str, note: str = "") -> None:
    """In performance → completed, inside the caller's transaction on a locked contract."""
    if not contract.is_fully_paid:
        raise Conflict(_("%(contract)s still has %(amount)s outstanding; it completes when it is fully paid.")
                       % {"contract": contract.number, "amount": format_yuan(contract.outstanding)},
                       code="contract_unpaid")
    old = _move(contract, S.COMPLETED)
    contract.completed_at = timezone.now()
    contract.save(update_fields=["status", "completed_at", "updated_at"])
    tasks_cancel(record=contract)
    audit_record(actor=actor, channel=channel, target=contract, action=ContractAction.CONTRACT_COMPLETE,
                 changes={"status": [old, contract.status]}, note=note)


def complete_if_done(contract: Contract, *, actor, channel: str) -> bool:
    """The rule for finishing by itself: fully paid and the delivery accepted. Returns whether it completed."""
    if contract.status == S.SIGNED and contract.is_fully_paid and contract.delivered_at:
        start(contract, actor=actor, channel=channel)
    if contract.status == S.ACTIVE and contract.is_fully_paid and contract.delivered_at:
        complete(contract, actor=actor, channel=channel, note=_("Fully paid and delivered."))
        return True
    return False


def contract_complete(*, contract: Contract, actor: User, channel: str = Channel.WEB, note: str = "") -> Contract:
    """Close a fully paid contract whose delivery Closeloop does not track (the owner, their manager or finance)."""
    with transaction.atomic():
        contract = locked(contract)
        _require(access.can_edit(actor, contract) or access.is_finance(actor),
                 _("Only the contract's owner, their manager or finance can close it."))
        if contract.status == S.SIGNED and contract.is_fully_paid:
            start(contract, actor=actor, channel=channel)
        complete(contract, actor=actor, channel=channel, note=(note or "").strip()[:500])
    return contract


def acceptance_by_delivery() -> bool:
    """Whether an app above records delivery acceptance (core.hooks.LoopApp.records_delivery_acceptance)."""
    return any(app.records_delivery_acceptance for app in loop_apps())


def contract_delivery_record(*, contract: Contract, accepted_on: date, actor: User,
                             channel: str = Channel.WEB) -> list[Instalment]:
    """Staff say by hand, on the contract's page or through the API, that its delivery was accepted. Refused when
    an app records the acceptance of deliveries (409 `acceptance_by_delivery`): the customer's or the signed form's
    acceptance there is what releases the instalments due "on acceptance", never a click beside it."""
    if acceptance_by_delivery():
        raise Conflict(_("Record the acceptance on the contract's delivery: the customer accepts it there (or you upload "
                         "the signed acceptance form), and that releases the instalments due on acceptance."),
                       code="acceptance_by_delivery")
    return contract_delivery_accept(contract=contract, accepted_on=accepted_on, actor=actor, channel=channel)


def contract_delivery_accept(*, contract: Contract, accepted_on: date, actor: User | None,
                             channel: str = Channel.WEB) -> list[Instalment]:
    """The delivery was accepted (called by the service app when the customer signs the acceptance): the
    "on acceptance" instalments fall due `days_after` that day, and a fully paid contract completes. Returns the
    instalments that fell due now (for the caller's notice).

    Idempotent: a second acceptance of the same contract changes nothing (and returns none)."""
    with transaction.atomic():
        contract = locked(contract)
        if actor is not None:
            _require(access.can_edit(actor, contract) or access.is_finance(actor)
                     or (actor.is_active and actor.role == Role.SERVICE),
                     _("Only the contract's people, finance or after-sales service record its delivery."))
        if contract.delivered_at is not None:
            return []
        if contract.status not in (S.SIGNED, S.ACTIVE):
            raise Conflict(_("Only a signed contract is delivered; this one is “%(status)s”.")
                           % {"status": contract.get_status_display()}, code="contract_status")
        moment = timezone.make_aware(datetime.combine(accepted_on, time()))
        contract.delivered_at = moment
        contract.save(update_fields=["delivered_at", "updated_at"])
        released = sync_instalments(contract)
        audit_record(actor=actor, channel=channel, target=contract, action=ContractAction.CONTRACT_DELIVERED,
                     changes={"delivered_at": [None, accepted_on]},
                     note="; ".join(f"{i.title} {format_yuan(i.amount)} → {i.due_date}" for i in released))
        complete_if_done(contract, actor=actor, channel=channel)
    return released


def contract_terminate(*, contract: Contract, actor: User, reason: str, channel: str = Channel.WEB) -> Contract:
    """End a contract before it completes. Before signing its people may; a signed one only a manager over the
    owner or an administrator. Payments stay recorded; nothing more is owed or reminded."""
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", _("Say why the contract is terminated."))
    with transaction.atomic():
        contract = locked(contract)
        if contract.status in (S.SIGNED, S.ACTIVE):
            _require(access.can_oversee(actor, contract),
                     _("Only a manager over the owner or an administrator can terminate a signed contract."))
        else:
            _require_editor(actor, contract)
        if contract.status == S.PENDING_APPROVAL and (request := approvals.pending_request(APPROVAL_KIND, contract.pk)):
            approvals.approval_cancel(request=request, actor=actor, channel=channel, reason=_("Contract terminated."))
        old = _move(contract, S.TERMINATED)
        contract.terminated_at, contract.termination_reason = timezone.now(), reason[:500]
        contract.save(update_fields=["status", "terminated_at", "termination_reason", "updated_at"])
        sync_instalments(contract)
        tasks_cancel(record=contract)
        audit_record(actor=actor, channel=channel, target=contract, action=ContractAction.CONTRACT_TERMINATE,
                     changes={"status": [old, contract.status]}, note=reason[:500])
        if contract.owner_id != actor.pk:
            notify(recipient=contract.owner, kind="contract.changed", url=contract.get_absolute_url(),
                   message=_("%(who)s terminated %(contract)s: %(why)s")
                   % {"who": actor, "contract": contract.number, "why": reason[:200]})
    return contract
