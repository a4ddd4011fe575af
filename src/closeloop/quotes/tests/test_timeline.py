"""The deal's and the customer's timelines show their quotes' trail, approvals included, to whoever may see the quotes."""

import pytest

from closeloop.followup.timeline import record_timeline
from closeloop.quotes import approvals, services
from closeloop.quotes.models import ApprovalRequest

pytestmark = pytest.mark.django_db


def actions(record, viewer) -> set[str]:
    return {entry.item.action for entry in record_timeline(record, viewer=viewer) if entry.kind == "audit"}


def test_the_deal_and_customer_timelines_show_the_quotes_approval(client, org, deal, make_quote, discount_rule):
    discount_rule("15")
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    approvals.approval_decide(request=ApprovalRequest.objects.get(), actor=org.manager, approve=True, comment="同意")
    trail = {"quote.create", "quote_line.add", "approval.submit", "approval.approve", "quote.approved"}
    for record in (deal, deal.customer):
        assert trail <= actions(record, org.owner)
        assert trail <= actions(record, org.manager)
        assert not trail & actions(record, org.outsider)
    client.force_login(org.owner)
    body = client.get(deal.get_absolute_url()).content.decode()
    assert "Approval requested" in body and "同意" in body and quote.number in body
