"""A manager's first screen on a phone: the team's overdue work by person, one tap from each person's Today, and the
approvals waiting on them."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline
from closeloop.deals.models import Opportunity
from closeloop.quotes import approvals, catalog, services
from closeloop.quotes.models import ApprovalChain, ApprovalOperator, ApprovalStep

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_a_managers_today_on_a_phone(org, make_deal, new_page, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    install_default_pipeline()  # a browser test's database is flushed, the migration's pipeline with it
    deal = make_deal()
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=timezone.now() - timedelta(days=3))
    # A rep's quote 20% off list waits for the manager's approval.
    catalog.approval_rule_save(actor=org.admin, approvers=[], data={
        "kind": "quote", "name": "折扣超过15%", "metric": "discount_pct", "operator": ApprovalOperator.ABOVE,
        "threshold": "15", "chain": ApprovalChain.MANAGERS, "levels": 1})
    product = catalog.product_save(actor=org.admin, data={
        "code": "P001", "name": "CRM 标准版", "unit": "套", "list_price": "10000", "cost": "4000", "tax_rate": "13",
        "price_includes_tax": True})
    quote = services.quote_create(opportunity=deal, actor=org.owner)
    services.quote_line_add(quote=quote, actor=org.owner, data={
        "product": product.pk, "unit_price": "10000", "discount_pct": "20", "quantity": "1"})
    services.quote_submit(quote=quote, actor=org.owner)
    page = new_page(user=org.manager, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    # The first screen after signing in is the manager's Today: the team's work and what waits on them.
    page.goto("/")
    expect(page.get_by_role("heading", name="我的团队")).to_be_visible()
    expect(page.get_by_role("columnheader", name="逾期跟进")).to_be_visible()
    expect(page.locator("#today-approvals")).to_contain_text(quote.number)
    # The time beside it is when the decision is due, not when it was submitted: it says so.
    due = timezone.localtime(approvals.due_at(ApprovalStep.objects.get()))
    expect(page.locator("#today-approvals")).to_contain_text(f"到期 {due:%Y-%m-%d %H:%M}")
    page.screenshot(path=tmp_path / "team-today-phone.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the team's Today is {overflow}px wider than the phone"
    # Every count in sight: the team's table wraps its headers rather than scrolling sideways.
    sideways = page.locator(".today-team .table-wrap").evaluate("wrap => wrap.scrollWidth - wrap.clientWidth")
    assert sideways <= 0, f"the team's table scrolls {sideways}px sideways"
    page.get_by_role("link", name="1", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/follow-up/today/people/{org.owner.pk}/#today-follow_ups$"))
    expect(page.get_by_role("heading", name=f"{org.owner} 的今日")).to_be_visible()
    expect(page.get_by_role("link", name=deal.name)).to_be_visible()
