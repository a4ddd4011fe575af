"""A rep who started the wrong import cancels it from a phone (390 px, zh-hans) and is told what was kept."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from closeloop.core.tests.sheets import xlsx_bytes
from closeloop.leads.models import ImportJob, ImportStatus
from closeloop.leads.services.importing import import_job_create, import_job_run, import_job_start

pytestmark = pytest.mark.browser


def test_a_rep_cancels_a_running_import_on_a_phone(org, new_page, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    rows = [[f"错误文件{n}号公司", f"联系人{n}", f"139{n:08d}", "", "", ""] for n in range(1, 11)]
    job = import_job_create(upload=SimpleUploadedFile("错误的表.xlsx", xlsx_bytes(rows)), actor=org.owner)
    job = import_job_start(job=job, mapping=job.mapping, default_source=org.sources["展会"], merge_duplicates=False,
                           actor=org.owner, queue=False)
    # The worker has written three rows when the rep notices the wrong file.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, last_row=4, imported_rows=3)

    page = new_page(user=org.owner, phone=True, locale="zh-CN")
    page.goto(job.get_absolute_url())
    button = page.get_by_role("button", name="取消导入")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.screenshot(path=tmp_path / "import-running.png", full_page=True)
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    # Dismissing the question leaves the import running.
    button.click()
    page.wait_for_timeout(1500)
    assert asked == ["取消这次导入？已导入的行会保留，文件中其余的行不再导入。"]
    assert ImportJob.objects.get(pk=job.pk).cancel_requested_at is None
    page.get_by_role("button", name="取消导入").click()
    expect(page.get_by_text("正在取消：正在写入的行保存后，导入即停止。").first).to_be_visible()
    assert len(asked) == 2
    expect(page.get_by_role("button", name="取消导入")).to_have_count(0)
    assert ImportJob.objects.get(pk=job.pk).cancel_requested_at is not None

    # The writer sees the request after its chunk and ends the job; the page turns into the result by itself.
    assert import_job_run(job_id=job.pk).status == ImportStatus.CANCELLED
    expect(page.get_by_text("导入已取消。停止前已导入的 3 行会保留，文件中其余的行没有导入。")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("button", name="取消导入")).to_have_count(0)
    page.screenshot(path=tmp_path / "import-cancelled.png", full_page=True)
