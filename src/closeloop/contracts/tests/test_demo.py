"""The demo carries deals to contracts in every state, with payments, invoices and an overdue instalment."""

from io import StringIO

import pytest
from django.core.management import call_command

from closeloop.contracts.models import Contract, ContractStatus, Instalment, InvoiceStatus, Payment
from closeloop.core.models import Notification

pytestmark = pytest.mark.django_db


def test_the_demo_has_contracts_in_every_state():
    out = StringIO()
    call_command("demo", leads=60, stdout=out)
    assert set(Contract.objects.values_list("status", flat=True)) == set(ContractStatus.values)
    assert "7 contracts" in out.getvalue()
    from django.utils import timezone

    overdue = Instalment.objects.filter(receivable=True, due_date__lt=timezone.localdate())
    assert overdue.exists()
    assert Payment.objects.count() >= 3
    assert {InvoiceStatus.ISSUED, InvoiceStatus.REQUESTED} <= set(
        Contract.objects.get(status=ContractStatus.ACTIVE).invoice_requests.values_list("status", flat=True))
    assert Notification.objects.filter(kind="reminder.instalment_overdue").exists()
