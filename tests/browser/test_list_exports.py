"""The quote, contract, delivery and ticket lists' “导出 Excel” on a 390-px phone in Chinese: the link sits on the
page without widening it, carries the list's filters, and downloads a workbook of the rows the list selects."""

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from closeloop.deals.defaults import install_default_pipeline
from closeloop.service.tests.conftest import (  # noqa: F401 (fixtures)
    accepted_quote,
    deal,
    default_sla_policies,
    delivered_contract,
    make_contract,
    make_delivery,
    make_product,
    make_quote,
    make_ticket,
    service_staff,
    service_team,
)

pytestmark = pytest.mark.browser

WAIT = 30_000


@pytest.fixture
def pipeline(transactional_db):
    install_default_pipeline()  # the live server's flush removed the migration's pipeline


@pytest.fixture
def records(pipeline, org, default_sla_policies, make_delivery, make_ticket):  # noqa: F811
    delivery = make_delivery()
    return {"quote": delivery.contract.quote, "contract": delivery.contract, "delivery": delivery,
            "ticket": make_ticket(title="报表导出的金额格式不对")}


@pytest.mark.parametrize(("path", "query", "record", "header", "cell"), [
    ("/quotes/", "status=accepted", "quote", "编号", "number"),
    ("/contracts/", "status=signed", "contract", "编号", "number"),
    ("/service/deliveries/", "status=in_progress", "delivery", "交付", "title"),
    ("/service/tickets/", "status=all", "ticket", "编号", "number"),
])
def test_a_list_exports_its_rows_from_a_phone(org, records, new_page, tmp_path, path, query, record, header, cell):
    page = new_page(user=org.admin, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto(f"{path}?{query}")
    link = page.get_by_role("button", name="导出 Excel")
    expect(link).to_be_visible()
    box = link.bounding_box()  # a button a thumb can hit, inside the screen
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 24, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert link.get_attribute("href").endswith(f"export/?{query}")
    page.screenshot(path=tmp_path / f"{record}-export-phone.png", full_page=True)

    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    head, *rows = load_workbook(io.BytesIO(saved.read_bytes())).worksheets[0].iter_rows(values_only=True)
    assert head[0] == header and "链接" in head
    assert [row[0] for row in rows] == [getattr(records[record], cell)]


def test_a_large_export_runs_in_the_background_and_is_downloaded_from_its_page(org, records, new_page, tmp_path,
                                                                                settings):
    from closeloop.core import exports
    from closeloop.core.models import ExportJob

    settings.DATA_DIR = tmp_path
    settings.CLOSELOOP_EXPORT_BACKGROUND_ROWS = 0  # the one ticket is "large"
    page = new_page(user=org.admin, phone=True, locale="zh-CN")
    page.set_default_timeout(WAIT)
    page.goto("/service/tickets/?status=all")
    page.get_by_role("button", name="导出 Excel").click()
    expect(page.get_by_role("heading", name="工单导出")).to_be_visible()
    expect(page.locator("#export-progress")).to_contain_text("已处理 0 行，共约 1 行")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    exports.export_run(job_id=ExportJob.objects.get().pk)  # the worker
    download_link = page.get_by_role("button", name="下载")  # a link styled as a button, as the list's export
    expect(download_link).to_be_visible()  # the page polls itself
    box = download_link.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=tmp_path / "background-export-phone.png", full_page=True)
    with page.expect_download() as download:
        download_link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("tickets-") and saved.suffix == ".xlsx"
    head, *rows = load_workbook(io.BytesIO(saved.read_bytes())).worksheets[0].iter_rows(values_only=True)
    assert [row[0] for row in rows] == [records["ticket"].number]
