"""The demo carries some deals through quotes, so a newcomer sees every state of one."""

from io import StringIO

import pytest
from django.core.management import call_command

from closeloop.core.models import AuditEntry, User
from closeloop.quotes import approvals
from closeloop.quotes.models import ApprovalRule, Product, Quote, QuoteStatus, QuoteTemplate

pytestmark = pytest.mark.django_db


def test_the_demo_has_quotes_in_every_state():
    out = StringIO()
    call_command("demo", leads=60, stdout=out)
    statuses = set(Quote.objects.values_list("status", flat=True))
    assert {QuoteStatus.DRAFT, QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED, QuoteStatus.SENT,
            QuoteStatus.ACCEPTED, QuoteStatus.DECLINED} <= statuses
    assert Quote.objects.filter(versions__number=2, status=QuoteStatus.SENT).exists()
    accepted_by_link = AuditEntry.objects.filter(action="quote.accept", channel="form")
    assert accepted_by_link.count() == 1
    waiting = [step for user in User.objects.filter(role="sales_manager") for step in approvals.inbox(user)
               if step.request.kind == "quote"]
    assert len(waiting) == 1
    assert Product.objects.count() >= 9 and QuoteTemplate.objects.count() == 2
    assert ApprovalRule.objects.filter(kind="quote").count() == 3
    assert "9 quotes" in out.getvalue()
