"""`closeloop import FILE --user NAME`: the import page's job from the command line, with its report."""

import csv
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from closeloop.core.models import AuditEntry
from closeloop.leads.models import ImportJob, ImportStatus, Lead

HEADERS = ["公司名称", "联系人", "手机", "邮箱", "备注"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def sheet(tmp_path, rows, headers=HEADERS, name="leads.xlsx"):
    book = openpyxl.Workbook()
    book.active.append(headers)
    for row in rows:
        book.active.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def run(*args, **options):
    out = io.StringIO()
    call_command("import", *[str(a) for a in args], stdout=out, **options)
    return out.getvalue()


def test_it_imports_a_sheet_as_the_page_does_and_prints_the_report(org, tmp_path):
    path = sheet(tmp_path, [
        ["杭州云帆科技有限公司", "王伟", "13912345678", "wang@example.com", "展会上认识"],
        ["苏州星河软件有限公司", "李娜", "13812345678", "", ""],
        ["南京坏号码有限公司", "张三", "12345", "", ""],
    ])
    out = run(path, user="owner", source="官网")
    assert "公司名称 → Company" in out and "备注 → Need" in out
    assert "2 imported, 0 sent to existing records, 0 merged, 1 refused." in out
    assert "row 4: Mobile:" in out
    job = ImportJob.objects.get()
    assert (job.status, job.created_by, job.default_source.name) == (ImportStatus.DONE, org.owner, "官网")
    leads = Lead.objects.order_by("pk")
    assert [lead.company_name for lead in leads] == ["杭州云帆科技有限公司", "苏州星河软件有限公司"]
    assert {lead.created_via for lead in leads} == {"import"} and {lead.source.name for lead in leads} == {"官网"}
    assert AuditEntry.objects.filter(action="import.finish").count() == 1
    # Nothing is left for the worker: the job ran here.
    from django_tasks_db.models import DBTaskResult

    assert not DBTaskResult.objects.exists()


def test_a_source_column_needs_no_source_option_and_keep_keeps_the_leads(org, tmp_path):
    path = tmp_path / "gbk.csv"
    text = io.StringIO()
    csv.writer(text).writerows([["公司", "联系人", "手机", "来源"], ["宁波海纳物流有限公司", "周敏", "13712345678", "展会"]])
    path.write_bytes(text.getvalue().encode("gbk"))
    out = run(path, user="owner", keep=True)
    assert "1 imported" in out
    lead = Lead.objects.get()
    assert (lead.source.name, lead.owner) == ("展会", org.owner)


def test_the_refused_rows_can_be_written_to_a_report(org, tmp_path):
    path = sheet(tmp_path, [["甲公司", "王", "123", "", ""]])
    report = tmp_path / "refused.xlsx"
    out = run(path, user="owner", source="官网", report=str(report))
    assert "1 refused" in out and "refused.xlsx" in out
    rows = list(openpyxl.load_workbook(report).active.values)
    assert rows[0][0] == "Row" and rows[1][0] == "2"


def test_it_says_what_is_missing(org, tmp_path):
    path = sheet(tmp_path, [["甲公司", "王伟", "13912345678", "", ""]])
    with pytest.raises(CommandError, match="No active user named nobody"):
        run(path, user="nobody")
    with pytest.raises(CommandError, match="No lead source named 海报. The sources are: 展会、官网"):
        run(path, user="owner", source="海报")
    with pytest.raises(CommandError, match="No column holds the source.*--source"):
        run(path, user="owner")
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "missing.xlsx", user="owner")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"%PDF-1.4")
    with pytest.raises(CommandError, match="This is a PDF document"):
        run(bad, user="owner", source="官网")
    assert not Lead.objects.exists()
