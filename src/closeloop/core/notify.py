"""In-app notifications; delivered after the transaction commits so a rollback sends nothing."""

from django.db import transaction

from .models import Notification


def notify(*, recipient, kind: str, message: str, url: str = "") -> None:
    if recipient is None:
        return

    def _send():
        Notification.objects.create(recipient=recipient, kind=kind, message=str(message)[:500], url=url)

    transaction.on_commit(_send)
