"""The contracts' sweeps: reminders before and after instalments fall due, contracts ending soon, and signed
contracts whose start date came.

Reminders go through the follow-up family's ledger (`remind_once`): one row per (instalment, kind, due date,
level), so a sweep run twice, late, or by two workers at once sends each notice once; a due date moved by
finance is a new key. Who hears what (days from the contract settings):

- due in N days: the owner (level 0);
- overdue: the owner at once (level 0); after the grace period the owner's manager (level 1) and finance
  (level 2: the contract's finance collaborators, else every finance user);
- ending in N days: the owner of a contract signed or in performance.

The owner's open task for each instalment (on Today) is the family's; its own overdue notice is left to this
sweep (`TaskKind(reminded=False)`), so nobody is told twice.
"""

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.models import Channel
from closeloop.core.money import format_yuan
from closeloop.core.notify import notify
from closeloop.followup.models import Participant, ParticipantRole, Reminder
from closeloop.followup.reminders import remind_once

from .config import contract_settings
from .invoices import finance_users
from .models import Contract, ContractStatus, Instalment
from .plans import due_at_of
from .services import contract_start

DUE_SOON, OVERDUE, ENDING = "instalment_due_soon", "instalment_overdue", "contract_ending"
# Instalments overdue for longer than this were escalated long ago; the sweep stops reading them.
LOOKBACK_DAYS = 120


def _sent(rows, model, kind: str) -> set[tuple]:
    """(record id, due time, level) of the reminders of `kind` already in the ledger for `rows`, read at once: the
    sweep skips them instead of trying an insert per level on every run (the ledger's key still decides)."""
    return set(Reminder.objects.filter(record_type=ContentType.objects.get_for_model(model), kind=kind,
                                       record_id__in=rows.values("pk")).values_list("record_id", "due_at", "level"))


class _FinanceFor:
    """Who hears of an instalment overdue past the grace period: the contract's finance collaborators, or else
    everyone in finance. Read once per sweep for all the contracts it escalates (not twice per instalment)."""

    def __init__(self, overdue):
        self.by_contract: dict[int, list] = {}
        rows = (Participant.objects.for_records(Contract, overdue.values("contract_id"))
                .filter(role=ParticipantRole.FINANCE, user__is_active=True).select_related("user").order_by("pk"))
        for row in rows:
            self.by_contract.setdefault(row.record_id, []).append(row.user)
        self._everyone = None

    def __call__(self, contract: Contract) -> list:
        if people := self.by_contract.get(contract.pk):
            return people
        if self._everyone is None:
            self._everyone = list(finance_users())
        return self._everyone


def _escalate_to_finance(instalment: Instalment, due_at, message: str, finance_for: _FinanceFor) -> int:
    people = finance_for(instalment.contract)
    if not people:
        return 0
    if not remind_once(record=instalment, kind=OVERDUE, due_at=due_at, level=2, recipient=people[0], message=message):
        return 0
    # One ledger row for the step; each finance person's notice is itself idempotent (its key).
    for person in people[1:]:
        notify(recipient=person, kind="reminder.escalation", message=message, url=instalment.get_absolute_url(),
               key=f"instalment:{instalment.pk}:{OVERDUE}:{due_at.isoformat()}:2:{person.pk}")
    return 1


def _describe(instalment: Instalment) -> dict:
    contract = instalment.contract
    return {"contract": contract.number, "customer": contract.customer.name, "title": instalment.title,
            "amount": format_yuan(instalment.outstanding), "date": instalment.due_date.isoformat(),
            "owner": contract.owner}


def run_contract_reminders(*, now=None) -> int:
    """Send every contract reminder that is due and not yet sent; returns how many were sent."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    settings = contract_settings()
    sent = 0
    receivable = (Instalment.objects.filter(receivable=True, due_date__isnull=False)
                  .select_related("contract__owner__manager", "contract__customer"))

    soon = receivable.filter(due_date__gte=today, due_date__lte=today + timedelta(days=settings.due_soon_days))
    done = _sent(soon, Instalment, DUE_SOON)
    for instalment in soon.iterator(chunk_size=500):
        if (instalment.pk, due_at_of(instalment.due_date), 0) in done:
            continue
        words = _describe(instalment)
        sent += remind_once(record=instalment, kind=DUE_SOON, due_at=due_at_of(instalment.due_date), level=0,
                            recipient=instalment.contract.owner,
                            message=_("%(title)s of %(contract)s (%(customer)s), %(amount)s, is due on %(date)s.") % words)

    overdue = receivable.filter(due_date__lt=today, due_date__gte=today - timedelta(days=LOOKBACK_DAYS))
    grace_line = today - timedelta(days=settings.overdue_grace_days)
    done = _sent(overdue, Instalment, OVERDUE)
    finance_for = _FinanceFor(overdue.filter(due_date__lte=grace_line))
    for instalment in overdue.iterator(chunk_size=500):
        due_at = due_at_of(instalment.due_date)
        escalate = instalment.due_date <= grace_line
        manager = instalment.contract.owner.manager
        manager = manager if manager is not None and manager.is_active else None
        levels = (0, 1, 2) if escalate and manager else (0, 2) if escalate else (0,)
        if {(instalment.pk, due_at, level) for level in levels} <= done:
            continue
        words = _describe(instalment)
        message = _("Overdue: %(title)s of %(contract)s (%(customer)s), %(amount)s, was due on %(date)s.") % words
        owner = instalment.contract.owner
        sent += remind_once(record=instalment, kind=OVERDUE, due_at=due_at, level=0, recipient=owner, message=message)
        if not escalate:
            continue
        escalation = _("Escalation — %(owner)s has not collected it: %(message)s") % {"owner": owner, "message": message}
        if manager is not None:
            sent += remind_once(record=instalment, kind=OVERDUE, due_at=due_at, level=1, recipient=manager,
                                message=escalation)
        sent += _escalate_to_finance(instalment, due_at, escalation, finance_for)

    ending = (Contract.objects.filter(status__in=[ContractStatus.SIGNED, ContractStatus.ACTIVE], end_date__gte=today,
                                      end_date__lte=today + timedelta(days=settings.ending_soon_days))
              .select_related("owner", "customer"))
    done = _sent(ending, Contract, ENDING)
    for contract in ending.iterator(chunk_size=500):
        if (contract.pk, due_at_of(contract.end_date), 0) in done:
            continue
        sent += remind_once(record=contract, kind=ENDING, due_at=due_at_of(contract.end_date), level=0,
                            recipient=contract.owner,
                            message=_("%(contract)s with %(customer)s ends on %(date)s: time to talk about renewal.")
                            % {"contract": contract, "customer": contract.customer.name, "date": contract.end_date})
    return sent


def run_contract_starts(*, now=None) -> int:
    """Signed contracts whose start date has come are in performance (the system's step, on the trail)."""
    today = timezone.localdate(now or timezone.now())
    started = 0
    for contract in Contract.objects.filter(status=ContractStatus.SIGNED, start_date__lte=today).iterator(chunk_size=200):
        contract_start(contract=contract, actor=None, channel=Channel.SYSTEM)
        started += 1
    return started
