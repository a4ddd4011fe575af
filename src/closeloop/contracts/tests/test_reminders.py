"""The contracts' sweeps: due soon, overdue (owner, then manager and finance after the grace period), ending
soon; each notice once however often the sweep runs; signed contracts start on their start date."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from closeloop.contracts import plans, receivables, services
from closeloop.contracts.models import ContractStatus, SignedVia
from closeloop.contracts.reminders import run_contract_reminders, run_contract_starts
from closeloop.core.models import Notification
from closeloop.deals.models import Opportunity
from closeloop.followup.reminders import run_reminder_sweep

pytestmark = pytest.mark.django_db


def _signed(org, deal, *, due: str, sign_days_ago: int = 0, end_date=None, start_date=None):
    contract = services.contract_create_from_deal(opportunity=deal, actor=org.owner, data={
        "amount": "50000", "end_date": end_date or "", "start_date": start_date or ""})
    plans.payment_plan_save(contract=contract, actor=org.owner, instalments=[
        {"title": "首付款", "condition": "on_date", "due_date": due, "amount": "20000"},
        {"title": "尾款", "condition": "on_acceptance", "days_after": "30", "amount": "30000"}])
    services.contract_submit(contract=contract, actor=org.owner)
    services.contract_sign(contract=contract, actor=org.owner, via=SignedVia.SCAN,
                           sign_date=timezone.localdate() - timedelta(days=sign_days_ago))
    contract.refresh_from_db()
    return contract


def kinds(user):
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_due_soon_then_overdue_then_escalated_once_each(org, deal, finance):
    today = timezone.localdate()
    _signed(org, deal, due=(today + timedelta(days=3)).isoformat())
    assert run_contract_reminders() == 1
    assert run_contract_reminders() == 0
    assert kinds(org.owner).count("reminder.instalment_due_soon") == 1
    # Four days later it is overdue: the owner hears at once; the manager and finance after the grace (7 days).
    later = timezone.now() + timedelta(days=4)
    assert run_contract_reminders(now=later) == 1
    assert "reminder.instalment_overdue" in kinds(org.owner) and kinds(org.manager) == []
    much_later = timezone.now() + timedelta(days=12)
    assert run_contract_reminders(now=much_later) == 2
    assert run_contract_reminders(now=much_later) == 0
    assert kinds(org.manager) and kinds(finance)
    # The family's task reminder leaves the instalment tasks to this sweep: nobody is told twice. (The deal's
    # own next follow-up, which every open deal has, is put past the moment of the sweep.)
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=much_later + timedelta(days=1))
    before = Notification.objects.count()
    run_reminder_sweep(now=much_later)
    assert Notification.objects.count() == before


def test_the_contract_ending_soon_reminds_the_owner(org, deal):
    today = timezone.localdate()
    _signed(org, deal, due=(today + timedelta(days=60)).isoformat(), start_date=(today - timedelta(days=300)).isoformat(),
            end_date=(today + timedelta(days=20)).isoformat())
    run_contract_reminders()
    assert "reminder.contract_ending" in kinds(org.owner)


def test_a_signed_contract_starts_on_its_start_date(org, deal):
    today = timezone.localdate()
    contract = _signed(org, deal, due=today.isoformat(), start_date=(today + timedelta(days=2)).isoformat())
    assert run_contract_starts() == 0
    assert run_contract_starts(now=timezone.now() + timedelta(days=3)) == 1
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_receivables_put_each_instalment_in_its_age_bucket(org, make_deal, finance):
    today = timezone.localdate()
    for days in (0, -10, -45, -75, -200):
        deal = make_deal(amount="50000")
        _signed(org, deal, due=(today + timedelta(days=days)).isoformat(), sign_days_ago=max(0, -days))
    rows = receivables.receivable_instalments(finance)
    totals = receivables.totals(rows, today)
    # Each contract: 20,000 dated, 30,000 on acceptance (not yet due).
    assert totals == {"not_due": D("170000.00"), "d1_30": D("20000.00"), "d31_60": D("20000.00"),
                      "d61_90": D("20000.00"), "d90_plus": D("20000.00"), "total": D("250000.00")}
    assert receivables.totals(receivables.receivable_instalments(org.other_manager), today)["total"] == 0
    reps = receivables.by_rep(rows, today)
    assert [(rep.key, rep.total) for rep in reps] == [(org.owner.pk, D("250000.00"))]


def test_escalating_to_finance_reads_who_is_in_finance_once_per_sweep(org, make_deal, finance):
    """The overdue sweep asked for the contract's finance collaborators and then for everyone in finance for each
    instalment it escalated (two queries each); it reads them once for the whole sweep now."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today = timezone.localdate()
    for _ in range(3):
        _signed(org, make_deal(), due=(today - timedelta(days=1)).isoformat(), sign_days_ago=2)
    much_later = timezone.now() + timedelta(days=12)
    with CaptureQueriesContext(connection) as queries:
        assert run_contract_reminders(now=much_later) == 9  # the owner, the manager and finance, three times

    def reads_of(table):
        return [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
                and f'FROM "{table}"' in q["sql"] and '"role"' in q["sql"]]

    assert len(reads_of("core_user")) == 1 and len(reads_of("followup_participant")) == 1
    assert kinds(finance).count("reminder.escalation") == 3
