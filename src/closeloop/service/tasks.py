"""Background jobs of the service app, run by `closeloop worker` on the schedule in apps.py."""

from django.core.mail import EmailMessage
from django.tasks import task

from .sla import sla_sweep


@task
def ticket_sla_sweep() -> int:
    return sla_sweep()


@task
def contract_renewal_sweep() -> int:
    from .renewals import renewal_sweep

    return renewal_sweep()


@task
def sync_ticket_search() -> int:
    """Bring the SQLite ticket-search index up to date with tickets written since (a no-op on PostgreSQL)."""
    from .ticket_search import sync_sqlite_index

    return sync_sqlite_index()


@task
def customer_mail(address: str, subject: str, body: str) -> None:
    """Mail the customer (a reply on their ticket) from the worker, so a slow or refusing mail server never holds
    up the person replying; a failure stays on the job's result."""
    EmailMessage(subject=subject, body=body, to=[address]).send()
