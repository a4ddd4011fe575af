"""Background jobs of the insights app, run by `closeloop worker` on the schedule in apps.py."""

from django.tasks import task

from .digest import digests_send
from .radar import recount


@task
def radar_recount() -> int:
    return recount()


@task
def weekly_digests() -> int:
    return digests_send()
