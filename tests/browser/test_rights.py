"""Who may change what, in a real browser: a teammate brought onto a deal sees it and follows it up but
cannot edit it; a pre-sales colleague who declines a hand-off no longer sees the deal."""

import pytest
from playwright.sync_api import expect

from closeloop.core.models import Role, User
from closeloop.deals.defaults import install_default_pipeline
from closeloop.followup.models import Activity, Handoff, HandoffStatus

pytestmark = pytest.mark.browser

WAIT = 30_000  # each step waits on a server round trip; allow for a busy CI machine


def test_a_teammate_sees_but_cannot_edit_and_a_declined_hand_off_ends_sight(org, make_deal, new_page, tmp_path):
    install_default_pipeline()
    presales = User.objects.create_user("presales", "presales@example.com", "pw", role=Role.PRESALES,
                                        display_name="presales")
    deal = make_deal(name="云帆CRM项目", amount="280000")
    owner = new_page(user=org.owner)
    owner.set_default_timeout(WAIT)

    # The owner brings a teammate in as a product specialist and hands a technical assessment to pre-sales.
    owner.goto(deal.get_absolute_url())
    owner.get_by_text("Add a collaborator").click()
    add = owner.locator("form[action$='/participants/']")
    add.get_by_label("Person").select_option(label="teammate · Sales rep")
    add.get_by_label("Role").select_option(label="Product")
    add.get_by_role("button", name="Add").click()
    expect(owner.get_by_text("teammate — Product")).to_be_visible()
    owner.get_by_text("Request a hand-off").click()
    handoff = owner.locator("form[action$='/handoffs/']")
    handoff.get_by_label("Hand to").select_option(label="presales · Pre-sales")
    handoff.get_by_label("Due").fill("2099-01-05T10:00")
    handoff.get_by_role("button", name="Send").click()
    expect(owner.get_by_text("Technical assessment → presales (Pre-sales)")).to_be_visible()

    # The teammate sees the deal and follows it up, but is offered no edit, and the edit page refuses.
    teammate = new_page(user=org.teammate, phone=True)
    teammate.set_default_timeout(WAIT)
    teammate.goto(deal.get_absolute_url())
    expect(teammate.get_by_role("heading", name="云帆CRM项目")).to_be_visible()
    expect(teammate.get_by_role("button", name="Edit", exact=True)).to_have_count(0)
    expect(teammate.get_by_text("Add a collaborator")).to_have_count(0)
    teammate.screenshot(path=tmp_path / "teammate-deal.png", full_page=True)
    response = teammate.goto(f"/deals/{deal.pk}/edit/")
    assert response.status == 403
    expect(teammate.get_by_role("heading", name="Not allowed")).to_be_visible()
    teammate.goto(deal.get_absolute_url())
    teammate.get_by_text("Log a follow-up").click()
    form = teammate.locator("#log-follow-up form")
    form.get_by_label("What happened").fill("产品演示已约在下周二")
    form.get_by_role("button", name="Log follow-up").click()
    expect(teammate.locator("ul.timeline")).to_contain_text("产品演示已约在下周二")
    assert Activity.objects.get(content="产品演示已约在下周二").actor == org.teammate

    # Pre-sales sees the deal while the hand-off waits, declines it, and then no longer sees the deal.
    pre = new_page(user=presales)
    pre.set_default_timeout(WAIT)
    pre.goto(deal.get_absolute_url())
    expect(pre.get_by_role("heading", name="云帆CRM项目")).to_be_visible()
    pre.get_by_placeholder("Note (required to decline)").fill("本周排满，请找其他同事")
    pre.get_by_role("button", name="Decline").click()
    expect(pre.get_by_text("Answer recorded.")).to_be_visible()
    assert Handoff.objects.get().status == HandoffStatus.DECLINED
    response = pre.goto(deal.get_absolute_url())
    assert response.status == 404
    expect(pre.get_by_role("heading", name="Page not found")).to_be_visible()
    assert "280,000" not in pre.content()

    # The owner's page shows the answer.
    owner.reload()
    answered = owner.get_by_text("Technical assessment → presales (Pre-sales)")
    expect(answered).to_contain_text("Declined")
    expect(answered).to_contain_text("本周排满，请找其他同事")
