"""Finance's lists on a 390-px phone: outstanding instalments and invoice requests are cards, as the record lists
are (test_phone_lists.py)."""

import pytest
from playwright.sync_api import expect

from closeloop.contracts.tests.conftest import (  # noqa: F401 (fixtures)
    accepted_quote,
    deal,
    finance,
    make_contract,
    make_product,
    make_quote,
    signed_contract,
)

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_finance_reads_outstanding_instalments_and_invoice_requests_as_cards_on_a_phone(
        data_migration_rows, org, signed_contract, finance, new_page):  # noqa: F811 (the fixtures imported above)
    # Both were wide tables: at 390 px the customer's name wrapped a character a line and the amount, the figure
    # finance opens them for, sat off the screen's edge.
    from closeloop.contracts import invoices

    contract = signed_contract()
    invoices.invoice_request_create(contract=contract, actor=org.owner, data={"amount": "9000", "invoice_type": "general"})
    page = new_page(user=finance, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    for url, rows, amount in [("/contracts/receivables/instalments/", "table.instalment-rows", "¥9,000.00"),
                              ("/contracts/invoices/", "table.invoice-rows", "¥9,000.00")]:
        page.goto(url)
        card = page.locator(f"{rows} tbody tr").first
        expect(card.locator("td.card-title")).to_have_text(contract.number)
        expect(card.locator('td[data-label="客户"]')).to_contain_text(contract.customer.name)
        expect(card.get_by_text(amount).first).to_be_in_viewport()
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (url, box)
