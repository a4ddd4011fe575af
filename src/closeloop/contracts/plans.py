"""Payment plans (回款计划): the instalments of a contract, their due dates, and what the receivables read.

`sync_instalments` is the one place an instalment's derived values are set: its due date from its condition
(a date; the sign date or the delivery acceptance plus `days_after`), what is outstanding, whether it is
receivable now, the owner and customer the receivables group by, and the owner's task for it on Today.
Every service that changes a contract, its plan or its payments calls it under the contract's lock.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from closeloop.core.audit import audit_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.inputs import date_input
from closeloop.core.models import Channel, User
from closeloop.core.money import format_yuan, quantize
from closeloop.followup.models import Task, TaskStatus
from closeloop.followup.services import task_open
from closeloop.quotes.catalog import parse_amount, parse_decimal

from . import access, receivable_summary
from .actions import ContractAction
from .models import RECEIVABLE_STATUSES, Contract, ContractStatus, Instalment, InstalmentCondition

INSTALMENT_TASK = "instalment_due"
MAX_INSTALMENTS = 36
HUNDRED = Decimal(100)


def due_at_of(day: date) -> datetime:
    """An instalment is due by the end of its day (site time): overdue from the next morning."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def due_date_of(instalment: Instalment, contract: Contract) -> date | None:
    if instalment.condition == InstalmentCondition.ON_DATE:
        return instalment.due_date
    if instalment.condition == InstalmentCondition.ON_SIGNING:
        event = contract.sign_date
    else:
        event = timezone.localdate(contract.delivered_at) if contract.delivered_at else None
    return event + timedelta(days=instalment.days_after) if event else None


def _share(contract: Contract, percentage: Decimal) -> Decimal:
    return quantize(contract.amount * percentage / HUNDRED)


def _rescale(contract: Contract, instalments: list[Instalment]) -> None:
    """Amounts of instalments typed as a share, from the contract amount. When the shares make 100%, the last of
    them takes the rounding, so 33.33/33.33/33.34% of ¥100,000.01 still adds up to the cent."""
    shared = [i for i in instalments if i.percentage is not None]
    for instalment in shared:
        instalment.amount = _share(contract, instalment.percentage)
    if shared and sum(i.percentage for i in shared) == HUNDRED and len(shared) == len(instalments):
        shared[-1].amount = contract.amount - sum(i.amount for i in shared[:-1])


def _task_title(contract: Contract, instalment: Instalment) -> str:
    return f"{instalment.title} {format_yuan(instalment.outstanding)}"[:200]


def _sync_task(contract: Contract, instalment: Instalment, now) -> None:
    task = instalment.task
    if instalment.receivable and instalment.due_date is not None:
        due_at, title = due_at_of(instalment.due_date), _task_title(contract, instalment)
        if task is None or task.status != TaskStatus.OPEN:
            instalment.task = task_open(record=contract, owner=contract.owner, kind=INSTALMENT_TASK, due_at=due_at,
                                        title=title, take_over=False)
        elif (task.owner_id, task.due_at, task.title) != (contract.owner_id, due_at, title):
            task.owner, task.due_at, task.title = contract.owner, due_at, title
            task.save(update_fields=["owner", "due_at", "title"])
    elif task is not None and task.status == TaskStatus.OPEN:
        task.status = TaskStatus.DONE if instalment.is_paid else TaskStatus.CANCELLED
        task.closed_at = now
        task.save(update_fields=["status", "closed_at"])


def sync_instalments(contract: Contract, *, rescale: bool = False, instalments=None,
                     contributed: list | None = None) -> list[Instalment]:
    """Set every instalment's derived values from the contract (see the module docstring) and carry the change
    to the receivables summaries; returns those whose due date became known now (released by the signature
    or the acceptance). `contributed` is what the contract's instalments contributed to the summaries when the
    caller changed them before this call (by default, what `instalments` contribute as they are given)."""
    instalments = list(instalments if instalments is not None
                       else contract.instalments.select_related("task").order_by("position", "id"))
    if contributed is None:
        contributed = receivable_summary.contributions(instalments)
    if rescale:
        _rescale(contract, instalments)
    now = timezone.now()
    owed = contract.status in RECEIVABLE_STATUSES
    released = []
    for instalment in instalments:
        before = (instalment.due_date, instalment.amount, instalment.outstanding, instalment.receivable,
                  instalment.owner_id, instalment.customer_id, instalment.released_at, instalment.task_id)
        due = due_date_of(instalment, contract)
        if instalment.condition != InstalmentCondition.ON_DATE and due is not None and instalment.released_at is None:
            instalment.released_at = now
            released.append(instalment)
        elif instalment.condition != InstalmentCondition.ON_DATE and due is None:
            instalment.released_at = None
        instalment.due_date = due
        instalment.outstanding = instalment.amount - instalment.paid_amount
        instalment.receivable = owed and instalment.outstanding > 0
        instalment.owner_id, instalment.customer_id = contract.owner_id, contract.customer_id
        _sync_task(contract, instalment, now)
        after = (instalment.due_date, instalment.amount, instalment.outstanding, instalment.receivable,
                 instalment.owner_id, instalment.customer_id, instalment.released_at, instalment.task_id)
        if after != before and instalment.pk:
            instalment.save(update_fields=["due_date", "amount", "outstanding", "receivable", "owner", "customer",
                                           "released_at", "task"])
    receivable_summary.apply(contributed, receivable_summary.contributions(instalments))
    return released


def plan_total(contract: Contract) -> Decimal:
    return sum((i.amount for i in contract.instalments.all()), start=quantize(0))


def total_problem(total: Decimal, amount: Decimal) -> str | None:
    """Why a plan of `total` does not fit a contract of `amount`, saying by how much; None when it adds up."""
    if total == amount:
        return None
    words = {"total": format_yuan(total), "gap": format_yuan(abs(amount - total)), "amount": format_yuan(amount)}
    if total < amount:
        return _("The instalments add up to %(total)s, %(gap)s less than the contract amount %(amount)s.") % words
    return _("The instalments add up to %(total)s, %(gap)s more than the contract amount %(amount)s.") % words


def plan_problem(contract: Contract) -> str | None:
    if not contract.instalments.exists():
        return _("Add a payment plan before submitting: when and on what condition the customer pays.")
    return total_problem(plan_total(contract), contract.amount)


def plan_text(instalments) -> str:
    """The plan as the trail shows it: one line per instalment."""
    lines = []
    for n, i in enumerate(instalments, start=1):
        when = (i.due_date.isoformat() if i.condition == InstalmentCondition.ON_DATE and i.due_date
                else f"{InstalmentCondition(i.condition).label} +{i.days_after}{pgettext('days', 'd')}")
        share = f" {i.percentage.normalize():f}%" if i.percentage is not None else ""
        lines.append(f"{n}. {i.title}{share} {format_yuan(i.amount)} · {when}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Saving a plan


def _row_errors(errors: list[str], n: int, exc: ValidationFailed) -> None:
    for messages in exc.field_errors.values():
        errors.extend(_("Instalment %(n)d: %(message)s") % {"n": n, "message": m} for m in messages)


def _clean_row(row: dict, n: int, errors: list[str]) -> dict | None:
    values: dict = {"id": row.get("id") or None}
    before = len(errors)
    title = str(row.get("title") or "").strip()
    if not title:
        errors.append(_("Instalment %(n)d: name it, e.g. 首付款 or 验收款.") % {"n": n})
    elif len(title) > 100:
        errors.append(_("Instalment %(n)d: keep the name under 100 characters.") % {"n": n})
    values["title"] = title
    condition = row.get("condition") or InstalmentCondition.ON_DATE
    if condition not in InstalmentCondition.values:
        errors.append(_("Instalment %(n)d: choose on signing, on delivery acceptance or on a date.") % {"n": n})
    values["condition"] = condition
    try:
        values["days_after"] = int(parse_decimal(row.get("days_after"), "days_after", minimum=Decimal(0),
                                                 maximum=Decimal(3650), places=0, default=Decimal(0)))
        values["due_date"] = date_input(row.get("due_date"), "due_date")
        values["percentage"] = parse_decimal(row.get("percentage"), "percentage", minimum=Decimal("0.01"),
                                             maximum=HUNDRED, required=False)
        values["amount"] = parse_amount(row.get("amount"), "amount", required=False)
    except ValidationFailed as exc:
        _row_errors(errors, n, exc)
        return None
    if condition == InstalmentCondition.ON_DATE and values["due_date"] is None:
        errors.append(_("Instalment %(n)d: give the due date.") % {"n": n})
    if condition != InstalmentCondition.ON_DATE:
        values["due_date"] = None
    if values["percentage"] is None and not values["amount"]:
        errors.append(_("Instalment %(n)d: give an amount or a share of the contract.") % {"n": n})
    return values if len(errors) == before else None


def _require_planner(actor: User, contract: Contract) -> None:
    if contract.status == ContractStatus.DRAFT:
        if not access.can_edit(actor, contract):
            raise Forbidden(_("Only the contract's owner, their manager or a sales collaborator on it can change "
                              "its payment plan."))
        return
    if contract.status == ContractStatus.PENDING_APPROVAL:
        raise Conflict(_("This contract is waiting for approval; withdraw it before changing the plan."),
                       code="contract_status")
    if contract.status not in (ContractStatus.APPROVED, *RECEIVABLE_STATUSES):
        raise Conflict(_("The plan of a contract that is “%(status)s” no longer changes.")
                       % {"status": contract.get_status_display()}, code="contract_status")
    if not (access.can_oversee(actor, contract) or access.is_finance(actor)):
        raise Forbidden(_("Once a contract is approved, only finance or a manager over the owner changes its plan, "
                          "and its total stays the contract amount."))


def payment_plan_save(*, contract: Contract, instalments: list[dict], actor: User,
                      channel: str = Channel.WEB) -> list[Instalment]:
    """Replace the contract's plan with `instalments` (dicts: id to keep an existing one, title, condition,
    days_after, due_date, percentage or amount). The plan must add up to the contract amount; an instalment
    already (partly) paid stays, at no less than what was paid."""
    with transaction.atomic():
        contract = Contract.objects.lock(contract.pk)
        _require_planner(actor, contract)
        existing = {i.pk: i for i in contract.instalments.select_for_update(of=("self",)).select_related("task").order_by("pk")}
        # What the plan adds to the receivables summaries now, before the rows below are changed or removed.
        contributed = receivable_summary.contributions(existing.values())
        errors: list[str] = []
        rows = [r for r in instalments if any(str(r.get(k) or "").strip() for k in ("title", "amount", "percentage"))]
        if not rows:
            errors.append(_("Add at least one instalment."))
        if len(rows) > MAX_INSTALMENTS:
            errors.append(_("A plan holds at most %(n)d instalments.") % {"n": MAX_INSTALMENTS})
        cleaned = [_clean_row(row, n, errors) for n, row in enumerate(rows, start=1)]
        kept: list[Instalment] = []
        for n, values in enumerate(cleaned, start=1):
            if values is None:
                continue
            pk = int(values.pop("id")) if str(values.get("id") or "").isdigit() else None
            if pk is not None and pk not in existing:
                errors.append(_("Instalment %(n)d is not part of this contract.") % {"n": n})
                continue
            instalment = existing.get(pk) or Instalment(contract=contract, paid_amount=Decimal(0), outstanding=Decimal(0),
                                                        owner_id=contract.owner_id, customer_id=contract.customer_id)
            for name, value in values.items():
                setattr(instalment, name, value)
            instalment.position = n
            kept.append(instalment)
        _rescale(contract, kept)
        for n, instalment in enumerate(kept, start=1):
            if instalment.amount is None or instalment.amount <= 0:
                errors.append(_("Instalment %(n)d: the amount must be above zero.") % {"n": n})
            elif instalment.amount < instalment.paid_amount:
                errors.append(_("Instalment %(n)d: %(paid)s has been paid on it; it cannot be less.")
                              % {"n": n, "paid": format_yuan(instalment.paid_amount)})
        kept_ids = {i.pk for i in kept if i.pk}
        removed = [i for pk, i in existing.items() if pk not in kept_ids]
        for instalment in removed:
            if instalment.paid_amount > 0:
                errors.append(_("%(title)s has payments recorded on it and stays in the plan.") % {"title": instalment.title})
        if not errors and (problem := total_problem(sum((i.amount for i in kept), start=quantize(0)), contract.amount)):
            errors.append(problem)
        if errors:
            raise ValidationFailed(_("The payment plan was not saved: %(first)s") % {"first": errors[0]},
                                   field_errors={"instalments": errors}, code="plan_invalid")
        old_text = plan_text(existing.values())
        for instalment in removed:
            if instalment.task_id:
                Task.objects.filter(pk=instalment.task_id, status=TaskStatus.OPEN).update(
                    status=TaskStatus.CANCELLED, closed_at=timezone.now())
            instalment.delete()
        for instalment in kept:
            instalment.outstanding = instalment.amount - instalment.paid_amount
            instalment.save()
        sync_instalments(contract, instalments=kept, contributed=contributed)
        new_text = plan_text(kept)
        if new_text != old_text:
            audit_record(actor=actor, channel=channel, action=ContractAction.PLAN_UPDATE, target=contract,
                         changes={"instalments": [old_text or None, new_text]})
    return kept
