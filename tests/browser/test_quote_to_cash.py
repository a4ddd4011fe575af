"""Quote to cash in a real browser: the manager approves a discounted quote, the customer accepts it, the rep
makes the contract, plans and signs it with the scanned copy, finance records the first instalment on a
phone-sized screen, and the receivables show the rest."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from closeloop.contracts.models import Contract, ContractStatus
from closeloop.core.models import Channel, Role, User
from closeloop.deals.defaults import install_default_pipeline
from closeloop.quotes import catalog
from closeloop.quotes import services as quote_services
from closeloop.quotes.models import ApprovalChain, ApprovalOperator, QuoteStatus

pytestmark = pytest.mark.browser
WAIT = 30_000
# A one-page PDF as a scanner writes it (the upload check reads the magic bytes and the extension).
SCAN = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def test_quote_approved_accepted_contract_signed_paid_and_receivable(org, make_deal, new_page, tmp_path, settings):
    install_default_pipeline()
    settings.MEDIA_ROOT = str(tmp_path / "media")
    finance = User.objects.create_user("finance", "finance@example.com", "pw", role=Role.FINANCE,
                                       display_name="钱会计")
    catalog.approval_rule_save(actor=org.admin, data={
        "kind": "quote", "name": "折扣超过15%", "metric": "discount_pct", "operator": ApprovalOperator.ABOVE,
        "threshold": "15", "chain": ApprovalChain.MANAGERS, "levels": 1})
    product = catalog.product_save(actor=org.admin, data={
        "code": "CRM-PRO", "name": "CRM专业版", "unit": "套", "list_price": "100000", "cost": "30000",
        "tax_rate": "13", "price_includes_tax": True})
    deal = make_deal(amount="80000")
    quote = quote_services.quote_create(opportunity=deal, actor=org.owner)
    quote_services.quote_line_add(quote=quote, actor=org.owner, data={
        "product": product.pk, "quantity": "1", "unit_price": "100000", "discount_pct": "20"})
    quote_services.quote_submit(quote=quote, actor=org.owner)

    # The manager approves the discount from the approvals page.
    manager = new_page(user=org.manager)
    manager.set_default_timeout(WAIT)
    manager.goto(quote.get_absolute_url())
    manager.get_by_role("button", name="Approve").click()
    expect(manager.locator("body")).to_contain_text("Approved", timeout=WAIT)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    quote_services.quote_send(quote=quote, actor=org.owner)

    # The customer accepts through the public link (walked in a browser by the quotes' own browser test).
    quote_services.quote_decide(quote=quote, accept=True, actor=None, channel=Channel.FORM, name="周敏",
                                phone="13912345678")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED

    # The rep makes the contract from the deal's page, plans it, submits it and uploads the signed copy.
    rep = new_page(user=org.owner)
    rep.set_default_timeout(WAIT)
    rep.goto(deal.get_absolute_url())
    rep.get_by_role("button", name=f"Make the contract from {quote.number}").click()
    rep.get_by_role("button", name="Create the contract").click()
    expect(rep.get_by_role("button", name="Save the plan")).to_be_visible(timeout=WAIT)
    contract = Contract.objects.get()
    assert contract.amount == quote.current_version.total_incl_tax
    rep.locator("[name=i0-title]").fill("首付款")
    rep.locator("[name=i0-condition]").select_option("on_signing")
    rep.locator("[name=i0-days_after]").fill("7")
    rep.locator("[name=i0-percentage]").fill("30")
    rep.locator("[name=i1-title]").fill("验收款")
    rep.locator("[name=i1-condition]").select_option("on_acceptance")
    rep.locator("[name=i1-days_after]").fill("15")
    rep.locator("[name=i1-percentage]").fill("70")
    rep.get_by_role("button", name="Save the plan").click()
    expect(rep.locator("#contract-status")).to_have_text("Draft", timeout=WAIT)
    rep.get_by_role("button", name="Submit (no approval needed)").click()
    expect(rep.locator("#contract-status")).to_have_text("Approved", timeout=WAIT)
    scan = tmp_path / "签署版合同.pdf"
    scan.write_bytes(SCAN)
    rep.locator("#sign input[type=file]").set_input_files(str(scan))
    rep.get_by_role("button", name="Upload and mark signed").click()
    expect(rep.locator("#contract-status")).to_have_text("Signed", timeout=WAIT)
    expect(rep.get_by_role("link", name="签署版合同.pdf")).to_be_visible()
    # The rep cannot record money.
    expect(rep.get_by_text("Record a payment")).to_have_count(0)

    # Finance records the first instalment on a phone.
    contract.refresh_from_db()
    first = contract.instalments.order_by("position").first()
    phone = new_page(user=finance, phone=True)
    phone.set_default_timeout(WAIT)
    phone.goto(contract.get_absolute_url())
    # The payment form stands open while nothing is received.
    phone.get_by_label("amount (CNY)").first.fill(f"{first.amount:f}")
    phone.get_by_label("reference").fill("ZH20261206001")
    phone.get_by_role("button", name="Record payment").click()
    expect(phone.locator("#contract-status")).to_have_text("In performance", timeout=WAIT)
    expect(phone.locator("#money-paid")).to_contain_text(f"{first.amount:,.2f}")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, width
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE and contract.paid_amount == first.amount

    # The receivables show what is left, under the customer.
    phone.goto(reverse("contracts:receivables"))
    rest = contract.amount - first.amount
    expect(phone.locator("body")).to_contain_text(deal.customer.name)
    expect(phone.locator("body")).to_contain_text(f"{rest:,.2f}")
