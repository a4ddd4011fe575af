"""Background jobs of the follow-up family, run by `closeloop worker`."""

from django.tasks import task

from .reminders import run_reminder_sweep


@task
def reminder_sweep() -> int:
    return run_reminder_sweep()
