"""Background jobs of the contracts app, run by `closeloop worker` on the schedule in apps.py."""

from django.tasks import task

from .receivable_summary import recount
from .reminders import run_contract_reminders, run_contract_starts


@task
def contract_reminders() -> int:
    return run_contract_reminders()


@task
def contract_starts() -> int:
    return run_contract_starts()


@task
def receivables_recount() -> int:
    return recount()
