"""The lead pool and the customer pool on a 375-px phone (walked as a rep): each pooled record is a card whose
claim button is on the screen, not in a table's columns off its right edge; claiming asks first on both."""

import pytest
from playwright.sync_api import expect

from closeloop.core.models import Channel
from closeloop.deals.pool import customer_release
from closeloop.leads.services.intake import lead_submit

pytestmark = pytest.mark.browser

PHONE_WIDTH = 375


def on_screen(page, locator):
    box = locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH, box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def test_a_rep_claims_from_both_pools_on_a_phone(org, make_customer, new_page):
    lead_submit(data={"company_name": "成都天成电子有限公司", "contact_name": "周杰", "mobile": "13800130001",
                      "email": "zhou@tiancheng.cn", "need": "需要CRM", "budget": "200000", "source": "展会"},
                channel=Channel.API, actor=org.admin)
    customer = make_customer(owner=org.teammate, name="杭州青禾实业有限公司")
    customer_release(customer=customer, actor=org.teammate, reason="预算取消")
    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 812})
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))

    page.goto("/leads/pool/")
    card = page.locator("table.cards tbody tr", has_text="成都天成电子有限公司")
    expect(card).to_be_visible()
    expect(card.locator('td[data-label="等级"]')).to_be_visible()
    claim = card.get_by_role("button", name="领取")
    on_screen(page, claim)
    claim.click()
    expect(page.locator("h1")).to_have_text("公海")  # dismissed: still the pool
    assert len(asked) == 1

    page.goto("/deals/customers/pool/")
    card = page.locator("table.cards tbody tr", has_text="杭州青禾实业有限公司")
    expect(card).to_be_visible()
    claim = card.get_by_role("button", name="领取")
    on_screen(page, claim)
    claim.click()
    expect(card).to_be_visible()
    assert len(asked) == 2
    customer.refresh_from_db()
    assert customer.owner_id is None
