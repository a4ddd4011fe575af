"""Quote to acceptance in a real browser: a rep builds a quote with a discount over the threshold, the
manager approves it, and the customer accepts it through the public link on a phone.

The contracts half extends this walk: from the accepted quote to a signed contract and the first payment.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline
from closeloop.deals.models import Stage
from closeloop.quotes import catalog
from closeloop.quotes.models import ApprovalChain, ApprovalOperator, Quote, QuoteStatus
from closeloop.quotes.services import quote_create, quote_line_add

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_discount_over_the_threshold_manager_approves_customer_accepts(org, make_deal, new_page, tmp_path):
    # Browser tests run on a transactional database that earlier tests may have flushed.
    pipeline = install_default_pipeline()
    catalog.install_default_tax_rates()
    catalog.approval_rule_save(actor=org.admin, data={
        "kind": "quote", "name": "折扣超过15%", "metric": "discount_pct", "operator": ApprovalOperator.ABOVE,
        "threshold": "15", "chain": ApprovalChain.MANAGERS, "levels": 1})
    catalog.pipeline_quote_settings_save(actor=org.admin, pipeline=pipeline,
                                         accepted_stage=Stage.objects.get(pipeline=pipeline, name="需求确认"))
    product = catalog.product_save(actor=org.admin, data={
        "code": "CRM-STD", "name": "CRM标准版", "unit": "用户·年", "list_price": "1200", "cost": "150",
        "tax_rate": "13", "price_includes_tax": True})
    deal = make_deal(name="云帆CRM项目", amount="36000", need="30人销售团队")

    # The rep starts a quote from the deal and adds the licences at 20% off, without a page reload.
    rep = new_page(user=org.owner)
    rep.set_default_timeout(WAIT)
    rep.goto(f"/quotes/new/?deal={deal.pk}")
    rep.get_by_role("button", name="Create quote").click()
    expect(rep.get_by_text("Add its lines below")).to_be_visible()
    quote = Quote.objects.get()
    editor = rep.locator("#line-editor")
    editor.locator("select[name=product]").select_option(str(product.pk))
    expect(rep.locator("#price-history")).to_contain_text("Never quoted to this customer.")
    editor.get_by_label("Quantity").fill("30")
    editor.get_by_label("Discount (%)").fill("20")
    rep.evaluate("window.pageMarker = 'kept'")
    editor.get_by_role("button", name="Add line").click()
    expect(rep.locator("table.lines")).to_contain_text("CRM标准版")
    expect(rep.locator("#totals")).to_contain_text("¥28,800.00")
    expect(rep.locator("#totals")).to_contain_text("贰万捌仟捌佰元整")
    assert rep.evaluate("window.pageMarker") == "kept"
    # The actions follow the line: 20% off crosses the rule, so the quote must be approved first.
    actions = rep.locator("#quote-actions")
    expect(actions).to_contain_text("Needs approval before it can be sent")
    expect(actions.get_by_role("button", name="Mark as sent")).to_have_count(0)
    actions.get_by_label("Note for the approvers").fill("老客户，长期合作")
    actions.get_by_role("button", name="Submit for approval").click()
    expect(rep.get_by_text("Submitted for approval; the approvers have been told.")).to_be_visible()
    expect(rep.locator("#quote-status")).to_have_text("Awaiting approval")

    # The manager finds it among the approvals and approves it with a comment.
    manager = new_page(user=org.manager)
    manager.set_default_timeout(WAIT)
    manager.goto("/quotes/approvals/")
    item = manager.locator(".approval-item").filter(has_text=quote.number)
    expect(item).to_contain_text("Discount off list price 20.00% above 15.00%")
    expect(item).to_contain_text("老客户，长期合作")
    item.get_by_label("Comment").fill("同意，尽快签约")
    item.get_by_role("button", name="Approve").click()
    expect(manager.get_by_text(f"Approved: {quote.number}")).to_be_visible()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED

    # The rep sends it and takes the customer's link.
    rep.goto(quote.get_absolute_url())
    expect(rep.locator("#quote-status")).to_have_text("Approved")
    rep.locator("#quote-actions").get_by_role("button", name="Mark as sent").click()
    expect(rep.locator("#quote-status")).to_have_text("Sent")
    link = rep.locator("#public-url").input_value()
    assert re.search(r"/q/[\w-]{30,}/$", link)
    rep.screenshot(path=tmp_path / "quote-sent.png", full_page=True)

    # The customer opens the link on a phone, without an account, and accepts.
    customer = new_page(phone=True)
    customer.set_default_timeout(WAIT)
    customer.goto(urlsplit(link).path)  # the link names the configured site; the test server has its own port
    expect(customer.get_by_role("heading", name=f"Quotation {quote.number}")).to_be_visible()
    expect(customer.locator("main")).to_contain_text("¥28,800.00")
    expect(customer.locator("main")).not_to_contain_text("margin")
    # The phone hides the discount column; the unit price says it, or 30 × ¥1,200 would not make ¥28,800.
    expect(customer.locator("main table").get_by_text("Discount 20%")).to_be_visible()
    assert customer.evaluate("document.documentElement.scrollWidth") <= 390
    customer.get_by_label("Your name").fill("周敏")
    customer.get_by_label("Mobile (to accept)").fill("13912345678")
    customer.get_by_role("button", name="Accept this quote").click()
    expect(customer.get_by_text("Accepted by 周敏")).to_be_visible()
    customer.screenshot(path=tmp_path / "quote-accepted-phone.png", full_page=True)

    quote.refresh_from_db()
    deal.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED and quote.decided_by_phone == "13912345678"
    assert deal.stage.name == "需求确认"
    rep.goto(quote.get_absolute_url())
    expect(rep.locator("#quote-status")).to_have_text("Accepted")



def test_rep_edits_a_catalogue_line_and_its_price_history_stays_beside_the_editor(org, make_deal, new_page):
    # The editor of a catalogue line loads the product's price history into #price-history; the lazy loader
    # once inherited the editor form's hx-target and replaced the whole line area (lines, totals, editor).
    install_default_pipeline()
    catalog.install_default_tax_rates()
    product = catalog.product_save(actor=org.admin, data={
        "code": "CRM-STD", "name": "CRM标准版", "unit": "用户·年", "list_price": "1200", "cost": "150",
        "tax_rate": "13", "price_includes_tax": True})
    deal = make_deal(name="云帆CRM项目", amount="36000")
    quote = quote_create(opportunity=deal, actor=org.owner)
    line = quote_line_add(quote=quote, data={"product": product, "quantity": "10"}, actor=org.owner)

    rep = new_page(user=org.owner, phone=True)
    rep.set_default_timeout(WAIT)
    for opened in ("by the link, without a reload", "as a page of its own"):
        if opened == "as a page of its own":
            rep.goto(f"{quote.get_absolute_url()}?edit={line.pk}#line-editor")
        else:
            rep.goto(quote.get_absolute_url())
            expect(rep.locator("#totals")).to_contain_text("¥12,000.00")
            rep.locator("table.lines").get_by_role("link", name="Edit").click()
        expect(rep.get_by_role("heading", name="Change line: CRM标准版")).to_be_visible()
        expect(rep.locator("#price-history")).to_contain_text("Never quoted to this customer.")
        expect(rep.locator("table.lines")).to_contain_text("CRM标准版")
        expect(rep.locator("#totals")).to_contain_text("¥12,000.00")
        expect(rep.get_by_role("button", name="Save line")).to_be_visible()
    rep.locator("#line-editor").get_by_label("Discount (%)").fill("25")
    rep.get_by_role("button", name="Save line").click()
    expect(rep.locator("#totals")).to_contain_text("¥9,000.00")
    line.refresh_from_db()
    assert line.discount_pct == 25
    # At 390 px the line's discount and amount read without scrolling sideways (the discount under the price).
    lines = rep.locator("table.lines")
    expect(lines).to_contain_text("Discount 25%")
    wrap = rep.locator("#line-area .table-wrap").first
    overflow = wrap.evaluate("e => e.scrollWidth - e.clientWidth")
    widths = lines.evaluate("t => [...t.rows[1].cells].map(c => [c.className, c.offsetWidth, c.innerText.slice(0, 30)])")
    assert overflow <= 0, f"the line table is {overflow}px wider than the phone: {widths}"
    expect(lines).to_contain_text("¥9,000.00")


def test_a_line_the_quote_refuses_says_why_and_keeps_what_was_typed(org, make_deal, new_page):
    # The answer came back as 422 and htmx left the page as it was: no message, the line silently not added.
    install_default_pipeline()
    catalog.install_default_tax_rates()
    product = catalog.product_save(actor=org.admin, data={
        "code": "CRM-STD", "name": "CRM标准版", "unit": "用户·年", "list_price": "1200", "cost": "150",
        "tax_rate": "13", "price_includes_tax": True})
    quote = quote_create(opportunity=make_deal(name="云帆CRM项目"), actor=org.owner)
    rep = new_page(user=org.owner, phone=True, locale="zh-CN")
    rep.set_default_timeout(WAIT)
    rep.goto(quote.get_absolute_url())
    editor = rep.locator("#line-editor")
    editor.locator("select[name=product]").select_option(str(product.pk))
    editor.get_by_label("数量").fill("30")
    editor.get_by_label("折扣（%）").fill("两成")
    editor.get_by_role("button", name="添加").click()
    expect(rep.locator("#line-area")).to_contain_text("请输入数字，例如 1.5。")
    expect(rep.locator("#line-editor").get_by_label("数量")).to_have_value("30")
    expect(rep.locator("#line-editor").get_by_label("折扣（%）")).to_have_value("两成")
    assert not quote.current_version.lines.exists()
    # Corrected, it is added.
    rep.locator("#line-editor").get_by_label("折扣（%）").fill("20")
    rep.locator("#line-editor").get_by_role("button", name="添加").click()
    expect(rep.locator("table.lines")).to_contain_text("CRM标准版")
    assert quote.current_version.lines.count() == 1
