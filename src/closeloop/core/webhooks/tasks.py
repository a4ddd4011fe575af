"""The worker's jobs for outbound webhooks; thin wrappers, the work is in sending.py."""

from django.tasks import task

from .sending import deliveries_prune, deliveries_recover, delivery_send


@task
def send_webhook(pk: int) -> str:
    return delivery_send(pk=pk)


@task
def recover_webhook_deliveries() -> int:
    return deliveries_recover()


@task
def prune_webhook_deliveries() -> int:
    return deliveries_prune()
