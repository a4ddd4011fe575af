"""The lead list's bulk actions in a real browser, on a desktop and a phone: what is missing is said first, where it
is missing, and the question to confirm comes only for a request the server would take."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WAIT = 30_000


def asked_on(page, answers):
    """Record each question the page asks (window.confirm) and answer it with the next of `answers`."""
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept() if answers[len(asked) - 1] else dialog.dismiss()

    page.on("dialog", answer)
    return asked


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_bulk_assign_says_what_is_missing_before_it_asks(org, make_lead, new_page, phone):
    from closeloop.leads.models import Lead

    lead = make_lead(owner=org.owner, company_name="苏州批量分配测试有限公司")
    page = new_page(user=org.manager, phone=phone, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/leads/")
    asked = asked_on(page, [False, True])
    assign = page.get_by_role("button", name="分配", exact=True)
    box = page.get_by_role("checkbox", name=str(lead))

    # Nothing ticked, nobody chosen: the first box says to tick leads; no question, nothing sent.
    assign.click()
    page.wait_for_timeout(300)
    assert asked == [] and page.url.endswith("/leads/")
    assert box.evaluate("box => box.validationMessage") == "请先勾选要分配的线索。"

    # A lead ticked, nobody chosen: the person select says so (the browser's own words), and it has the focus.
    box.check()
    assign.click()
    page.wait_for_timeout(300)
    owner = page.locator("#bulk-form select[name=owner]")
    assert asked == [] and owner.evaluate("select => select.validity.valueMissing")
    assert owner.evaluate("select => document.activeElement === select")
    assert Lead.objects.get(pk=lead.pk).owner_id == org.owner.pk

    # Enter in the reason field is the Assign button: the same check, still no question.
    page.get_by_placeholder("原因（记入留痕）").fill("休假交接")
    page.get_by_placeholder("原因（记入留痕）").press("Enter")
    page.wait_for_timeout(300)
    assert asked == []

    # A person chosen: now the question; dismissing it leaves the lead, accepting assigns it.
    owner.select_option(label=str(org.teammate))
    assign.click()
    page.wait_for_timeout(300)
    assert asked == ["确定分配所选线索？"] and Lead.objects.get(pk=lead.pk).owner_id == org.owner.pk
    page.get_by_role("checkbox", name=str(lead)).check()
    assign.click()
    expect(page.get_by_role("status")).to_contain_text(f"已将 1 条线索分配给 {org.teammate}。")
    assert Lead.objects.get(pk=lead.pk).owner_id == org.teammate.pk and len(asked) == 2


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_rep_returns_ticked_leads_to_the_pool_after_a_reason_and_a_question(org, make_lead, new_page, phone):
    from closeloop.leads.models import Lead

    leads = [make_lead(owner=org.owner, company_name=f"宁波退回{n}贸易有限公司") for n in range(3)]
    page = new_page(user=org.owner, phone=phone, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/leads/")
    asked = asked_on(page, [False, True])
    release = page.get_by_role("button", name="退回公海")
    reason = page.get_by_placeholder("为何退回公海？")
    # A rep has no assign box; the return sits with the tick boxes.
    expect(page.get_by_role("button", name="分配", exact=True)).to_have_count(0)

    # Nothing ticked: the first box says so. Ticked with no reason: the reason field says so. No question yet.
    release.click()
    page.wait_for_timeout(300)
    first_box = page.locator("input[name=leads]").first
    assert asked == [] and first_box.evaluate("box => box.validationMessage") == "请先勾选要退回公海的线索。"
    for lead in leads[:2]:
        page.get_by_role("checkbox", name=str(lead)).check()
    release.click()
    page.wait_for_timeout(300)
    assert asked == [] and reason.evaluate("field => field.validity.valueMissing")
    assert reason.evaluate("field => document.activeElement === field")

    # A reason, then the question (Enter in the reason asks it too): dismissed, nothing moves; accepted, both go.
    reason.fill("展会名单，空号")
    reason.press("Enter")
    page.wait_for_timeout(300)
    assert len(asked) == 1 and asked[0].startswith("确定将所选线索退回公海？")
    assert Lead.objects.filter(owner=org.owner).count() == 3
    release.click()
    expect(page.get_by_role("status")).to_contain_text("已将 2 条线索退回公海。")
    assert len(asked) == 2
    assert set(Lead.objects.filter(in_pool=True).values_list("pk", flat=True)) == {leads[0].pk, leads[1].pk}
    expect(page.get_by_role("checkbox", name=str(leads[2]))).to_be_visible()
    expect(page.get_by_role("checkbox", name=str(leads[0]))).to_have_count(0)
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_bulk_tag_says_what_is_missing_before_it_sends(org, make_lead, new_page, phone):
    from closeloop.followup.models import TagLink
    from closeloop.followup.tags import tag_save

    tag = tag_save(data={"name": "重点客户", "color": "red"}, actor=org.admin)
    lead = make_lead(owner=org.owner, company_name="温州批量标签测试有限公司")
    page = new_page(user=org.owner, phone=phone, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/leads/")
    button = page.get_by_role("button", name="标签", exact=True)
    button.click()
    page.wait_for_timeout(300)
    box = page.get_by_role("checkbox", name=str(lead))
    assert page.url.endswith("/leads/") and box.evaluate("box => box.validationMessage") == "请先勾选要打标签的记录。"
    box.check()
    button.click()
    page.wait_for_timeout(300)
    chooser = page.locator("#bulk-form select[name=tag]")
    assert page.url.endswith("/leads/") and chooser.evaluate("select => select.validity.valueMissing")
    assert not TagLink.objects.exists()
    chooser.select_option(label="重点客户")
    button.click()
    expect(page.get_by_role("status")).to_contain_text("已给所选的 1 条记录打上标签“重点客户”。")
    assert TagLink.objects.filter(tag=tag, record_id=lead.pk).count() == 1
