"""From the duplicates list to a merge in a real browser, on a 375-px phone and a desktop: nothing is ticked for
merging until the person ticks it, and the merge page's comparison reads without scrolling sideways."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WAIT = 30_000
NEED = "三十人的销售团队需要CRM，重点是线索分配、公海回收和报价审批，希望下个季度上线，并能对接企业微信与金蝶财务系统"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone-375"])
def test_a_merge_starts_from_nothing_ticked_and_reads_on_a_phone(org, make_lead, new_page, phone, tmp_path):
    from closeloop.leads.models import Lead, LeadStatus

    a = make_lead(owner=org.owner, company_name="杭州云帆智能科技股份有限公司（滨江研发中心）", contact_name="张三",
                  mobile="13900000001", need=NEED)
    b = make_lead(owner=org.owner, company_name="杭州云帆智能科技股份有限公司", contact_name="李四",
                  mobile="13900000002", email="li.si.procurement@yunfan-intelligence.example.com")
    Lead.objects.filter(pk=b.pk).update(duplicate_of=a)  # flagged on intake
    page = new_page(user=org.owner, phone=phone, locale="zh-CN")
    if phone:
        page.set_viewport_size({"width": 375, "height": 812})
    page.set_default_timeout(WAIT)
    page.goto("/leads/duplicates/")

    # Nothing comes ticked; asking for the merge with nothing ticked says what to do and stays on the list.
    boxes = page.locator("input[type=checkbox][name=ids]")
    expect(boxes).to_have_count(2)
    assert [boxes.nth(i).is_checked() for i in range(2)] == [False, False]
    page.get_by_role("button", name="核对并合并").click()
    page.wait_for_timeout(300)
    assert page.url.endswith("/leads/duplicates/")
    assert boxes.first.evaluate("box => box.validationMessage") == "请勾选要合并的线索。"

    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="核对并合并").click()
    expect(page.get_by_role("heading", name="合并线索")).to_be_visible()

    # The comparison fits the screen: no sideways scroll of the page or inside the table's frame.
    frame = page.locator(".table-wrap").first
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert frame.evaluate("wrap => wrap.scrollWidth <= wrap.clientWidth")
    need_b = page.locator(f'input[name=field_need][value="{a.pk}"]')
    expect(need_b).to_be_visible()
    if phone:
        # Each field a card: its name, then each lead's value labelled with the lead's number.
        expect(page.locator("table.merge-table thead")).to_be_hidden()
        row = page.locator("table.merge-table tbody tr", has=page.locator("th", has_text="联系人"))
        expect(row.locator(f'td[data-label="#{b.pk}"]')).to_contain_text("李四")
        assert f"#{b.pk}" in row.locator(f'td[data-label="#{b.pk}"]').evaluate(
            "td => getComputedStyle(td, '::before').content")
        box = row.locator(f'td[data-label="#{b.pk}"]').bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    else:
        expect(page.locator("table.merge-table thead")).to_be_visible()
    page.screenshot(path=tmp_path / "merge.png", full_page=True)

    page.locator(f'input[name=field_contact_name][value="{b.pk}"]').check()
    page.get_by_label("我了解合并后的线索无法再拆分。").check()
    page.get_by_role("button", name="合并", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("合并")
    a.refresh_from_db()
    assert a.contact_name == "李四" and Lead.objects.get(pk=b.pk).status == LeadStatus.MERGED
