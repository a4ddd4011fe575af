"""A manager narrows the board and the deal list to one rep on a phone, and downloads the list as Excel."""

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline

pytestmark = pytest.mark.browser

WAIT = 30_000


def test_a_manager_filters_deals_by_rep_on_a_phone(org, make_deal, new_page, tmp_path):
    install_default_pipeline()  # a browser test's database is flushed, the migration's pipeline with it
    mine = make_deal(owner=org.owner)
    theirs = make_deal(owner=org.teammate)
    page = new_page(user=org.manager, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/deals/board/")
    page.get_by_label("负责人").select_option(label=str(org.teammate))
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("link", name=theirs.name)).to_be_visible()
    expect(page.get_by_role("link", name=mine.name)).to_have_count(0)
    page.screenshot(path=tmp_path / "board-filtered-phone.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the board is {overflow}px wider than the phone"

    page.goto("/deals/")
    page.locator("details.filter-fold summary").click()  # on a phone the list's filters fold behind 筛选
    page.get_by_label("负责人").select_option(label=str(org.owner))
    expect(page.get_by_role("link", name=theirs.name)).to_have_count(0)
    expect(page.get_by_role("link", name=mine.name)).to_be_visible()
    page.screenshot(path=tmp_path / "list-filtered-phone.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="将这些商机导出为 Excel").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    names = [row[0] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert names == [mine.name]
