"""Background jobs of core; thin wrappers, the work is in delivery.py."""

from django.tasks import task

from .delivery import deliveries_recover, delivery_send


@task
def deliver_notification(key: str) -> str:
    return delivery_send(key=key)


@task
def recover_notification_deliveries() -> int:
    return deliveries_recover()
