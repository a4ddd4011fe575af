"""Background jobs of core; thin wrappers, the work is in delivery.py."""

from django.tasks import task

from .delivery import deliveries_recover, delivery_send
from .statistics import statistics_refresh
from .summaries import summaries_send


@task
def deliver_notification(key: str) -> str:
    return delivery_send(key=key)


@task
def recover_notification_deliveries() -> int:
    return deliveries_recover()


@task
def send_daily_summaries() -> int:
    return summaries_send()


@task
def refresh_statistics() -> str:
    return statistics_refresh()


@task
def prune_sync_deletions() -> int:
    from .sync import deletions_prune  # sync.py reads the apps' synced kinds when imported

    return deletions_prune()


@task
def sync_custom_search() -> int:
    """Fill and keep up the SQLite index of the lists' search in custom values (a no-op on PostgreSQL)."""
    from .customfields.search import sync

    return sync()


@task
def run_export(job_id: int) -> str:
    from .exports import export_run

    return export_run(job_id=job_id)


@task
def recover_exports() -> int:
    from .exports import exports_recover

    return exports_recover()


@task
def prune_exports() -> int:
    from .exports import exports_prune

    return exports_prune()
