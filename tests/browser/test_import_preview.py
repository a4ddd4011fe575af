"""A marketer checks a file with mistakes on a phone (390 px, zh-hans): each row's errors can be read."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from closeloop.core.tests.sheets import xlsx_bytes
from closeloop.leads.services.importing import import_job_create

pytestmark = pytest.mark.browser


def test_the_preview_shows_a_rows_errors_in_a_readable_column_on_a_phone(org, new_page, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    rows = [["坏电话公司", "王二", "12345", "not-an-email", "abc", "展会"],
            ["上海甲科技有限公司", "张三", "13912345678", "zhang@example.com", "50000", "展会"]]
    job = import_job_create(upload=SimpleUploadedFile("有错的表.xlsx", xlsx_bytes(rows)), actor=org.owner)

    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.goto(job.get_absolute_url())
    reason = page.locator("td.reason").first
    text = reason.inner_text()
    # Chinese punctuation between a field and its error and between errors, as the rest of the page.
    assert "手机：" in text and "；" in text and "; " not in text, text
    # Before, the column squeezed to a few characters and one row grew a screen tall.
    assert reason.bounding_box()["width"] >= 240
    assert reason.bounding_box()["height"] < 200
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=tmp_path / "import-preview.png", full_page=True)
