"""Excel/CSV import: real files made here, checked, mapped and imported through the batch intake path."""

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from closeloop.core.errors import ValidationFailed
from closeloop.core.models import AuditEntry, Channel
from closeloop.core.tests.sheets import HEADERS, xlsx_bytes
from closeloop.leads import imports
from closeloop.leads.exports import refusal_report
from closeloop.leads.models import ImportJob, ImportRefusal, ImportStatus, Lead, LeadStatus
from closeloop.leads.services.batch import lead_submit_batch
from closeloop.leads.services.importing import import_job_create, import_job_run, import_job_start
from closeloop.leads.services.intake import lead_submit


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}




def upload(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def create(org, data, name="leads.xlsx"):
    return import_job_create(upload=upload(data, name), actor=org.owner)


def run(org, job, **options):
    options.setdefault("default_source", org.sources["展会"])
    options.setdefault("merge_duplicates", False)
    import_job_start(job=job, mapping=options.pop("mapping", job.mapping), actor=org.owner, **options)
    # What the worker does with the queued task (the enqueue itself is tested in test_views_import).
    return import_job_run(job_id=job.pk)


def refused_message(org, data, name) -> str:
    with pytest.raises(ValidationFailed) as caught:
        create(org, data, name)
    return caught.value.field_errors["file"][0]


def test_it_imports_an_xlsx_with_some_broken_rows(org, django_capture_on_commit_callbacks):
    rows = [
        ["上海甲科技有限公司", "张三", 13912345678, "zhang@example.com", 50000, "官网"],
        ["北京乙公司", "李四", "139-1234-5679", "", "", ""],  # no source: the default applies
        ["坏手机公司", "王五", "12345", "", "", ""],
        ["坏邮箱公司", "赵六", "", "not-an-email", "abc", ""],
        ["", "", "", "", "", ""],  # blank rows are skipped, not refused
        ["广州丙公司", "钱七", "", "qian@example.com", "", "不存在的来源"],
    ]
    job = create(org, xlsx_bytes(rows))
    assert job.mapping == ["company_name", "contact_name", "mobile", "email", "budget", "source"]
    assert job.total_rows == 5  # xlsxwriter writes no element for the blank row
    with django_capture_on_commit_callbacks(execute=True):
        job = run(org, job)

    assert job.status == ImportStatus.DONE
    assert (job.imported_rows, job.refused_rows) == (2, 3)
    first = Lead.objects.get(company_name="上海甲科技有限公司")
    assert first.mobile_key == "+8613912345678" and str(first.budget) == "50000.00"
    assert first.source.name == "官网" and first.created_via == Channel.IMPORT and first.created_by == org.owner
    assert Lead.objects.get(contact_name="李四").source.name == "展会"
    refusals = {r.row_number: r for r in ImportRefusal.objects.filter(job=job)}
    # Header is row 1, so the third data row is spreadsheet row 4.
    assert sorted(refusals) == [4, 5, 7]
    assert "mobile" in refusals[4].errors
    assert set(refusals[5].errors) == {"email", "budget"}
    assert refusals[5].cells == ["坏邮箱公司", "赵六", "", "not-an-email", "abc", ""]
    assert "source" in refusals[7].errors
    # One audit entry per created lead, through the import channel.
    entry = AuditEntry.objects.for_object(first).get()
    assert entry.channel == Channel.IMPORT and entry.action == "lead.create" and entry.actor == org.owner
    assert entry.changes["company_name"] == [None, "上海甲科技有限公司"]
    assert not job.file  # the upload is deleted once the job is over


def test_it_reads_a_sheet_that_does_not_start_at_a1(org):
    job = create(org, xlsx_bytes([["甲公司", "张三", "13912345678", "", "", ""]], sheet_offset=(2, 1)))
    assert job.header_row == 3 and job.headers[1:] == HEADERS
    job = run(org, job)
    assert (job.imported_rows, job.refused_rows) == (1, 0)
    assert Lead.objects.get().mobile_key == "+8613912345678"


def test_it_imports_a_gbk_csv(org):
    text = "公司名称,联系人,手机,城市\r\n杭州示例网络科技有限公司,陈晓明,13800138000,杭州\r\n宁波海港贸易公司,周丽,13900139000,宁波\r\n"
    job = create(org, text.encode("gbk"), "客户.csv")
    assert job.file_kind == "csv" and job.encoding == "gb18030"
    job = run(org, job)
    assert job.imported_rows == 2
    assert Lead.objects.filter(city="杭州", contact_name="陈晓明").exists()


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_it_imports_a_utf8_csv_with_or_without_bom(org, bom):
    text = "Company,Name,Mobile,Email\n深圳某公司,Li Lei,13800138000,li@example.com\n"
    job = create(org, bom + text.encode(), "leads.csv")
    assert job.mapping == ["company_name", "contact_name", "mobile", "email"]
    assert job.headers[0] == "Company"
    job = run(org, job)
    assert job.imported_rows == 1


def test_it_refuses_a_csv_in_an_unknown_encoding(org):
    # Shift-JIS Japanese is neither UTF-8 nor Chinese GBK.
    text = "会社名,氏名,電話\n株式会社サンプル,山田太郎,0312345678\n" * 20
    assert "encoding" in refused_message(org, text.encode("shift_jis"), "x.csv")


def test_it_refuses_a_broken_zip(org):
    data = xlsx_bytes([["甲公司", "张三", "13912345678", "", "", ""]])
    assert "damaged" in refused_message(org, data[: len(data) // 2], "broken.xlsx")


def test_it_refuses_binary_junk_renamed_xlsx(org):
    junk = bytes(range(256)) * 50
    assert "not one" in refused_message(org, junk, "junk.xlsx")


def test_it_refuses_binary_junk_renamed_csv(org):
    junk = b"\x00\x01\x02\xff" * 1000
    assert "binary" in refused_message(org, junk, "junk.csv")


def test_it_refuses_other_formats_by_their_magic_bytes(org):
    assert "PDF" in refused_message(org, b"%PDF-1.7\n" + b"x" * 100, "leads.xlsx")
    assert ".xls" in refused_message(org, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls")


def test_it_refuses_a_zip_that_is_not_a_workbook(org):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert "not an Excel workbook" in refused_message(org, buffer.getvalue(), "leads.xlsx")


def test_it_refuses_a_zip_bomb_disguised_as_xlsx(org):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(200):  # 200 MB of zeros compress to about 200 KB
                member.write(block)
    data = buffer.getvalue()
    assert len(data) < 1024 * 1024
    assert "unsafe" in refused_message(org, data, "bomb.xlsx")


def test_it_refuses_an_empty_file(org):
    assert "empty" in refused_message(org, b"", "leads.xlsx")


def test_it_refuses_a_header_without_rows(org):
    assert "no data rows" in refused_message(org, xlsx_bytes([]), "leads.xlsx")


def test_it_refuses_too_many_rows(org, settings):
    settings.CLOSELOOP_IMPORT_MAX_ROWS = 3
    rows = [[f"公司{i}", "张三", f"1391234{i:04d}", "", "", ""] for i in range(4)]
    assert "at most 3" in refused_message(org, xlsx_bytes(rows), "big.xlsx")
    csv_text = "公司,手机\n" + "".join(f"公司{i},1391234{i:04d}\n" for i in range(4))
    assert "at most 3" in refused_message(org, csv_text.encode(), "big.csv")


def test_it_refuses_a_file_over_the_size_limit(org, settings):
    settings.CLOSELOOP_IMPORT_MAX_BYTES = 1000
    assert "larger than" in refused_message(org, b"a,b\n" * 500, "big.csv")
    assert not list((settings.MEDIA_ROOT / "imports").iterdir())  # refused uploads are not kept


def test_unknown_headers_are_ignored_until_the_user_maps_them(org):
    data = xlsx_bytes([["甲公司", "张三", "13912345678"]], headers=["客户", "Person", "Tel #"])
    job = create(org, data)
    assert job.mapping == ["company_name", "", ""]
    with pytest.raises(ValidationFailed) as caught:
        run(org, job, mapping=["company_name", "contact_name", "contact_name"])
    assert "two columns" in caught.value.message
    job = run(org, job, mapping=["company_name", "contact_name", "mobile"])
    assert job.imported_rows == 1 and Lead.objects.get().contact_name == "张三"


def test_a_mapping_without_source_needs_a_default_source(org):
    job = create(org, xlsx_bytes([["甲公司", "张三", "13912345678"]], headers=["公司", "姓名", "手机"]))
    with pytest.raises(ValidationFailed):
        run(org, job, default_source=None)
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.MAPPING


def test_merge_duplicates_inside_the_file(org):
    rows = [
        ["甲公司", "张三", "13912345678", "", "", ""],
        ["乙公司", "李四", "13800000001", "li@example.com", "", ""],
        ["甲公司", "张三", "+86 139 1234 5678", "zhang@example.com", "80000", ""],
        ["", "李四", "", "LI@example.com", "", ""],
    ]
    job = run(org, create(org, xlsx_bytes(rows)), merge_duplicates=True)
    assert (job.imported_rows, job.merged_rows, job.refused_rows) == (2, 2, 0)
    first = Lead.objects.get(company_name="甲公司")
    # The first row keeps its values and takes the blanks from the rows merged into it.
    assert first.email == "zhang@example.com" and str(first.budget) == "80000.00"


def test_without_merge_every_row_goes_through_intake(org):
    rows = [["甲公司", "张三", "13912345678", "", "", ""], ["甲公司", "张三", "13912345678", "", "", ""]]
    job = run(org, create(org, xlsx_bytes(rows)))
    assert job.imported_rows + job.routed_rows == 2 and job.merged_rows == 0


def test_a_finished_job_is_not_run_twice(org):
    job = run(org, create(org, xlsx_bytes([["甲公司", "张三", "13912345678", "", "", ""]])))
    import_job_run(job_id=job.pk)
    assert Lead.objects.count() == 1


def test_a_restarted_job_resumes_after_the_last_committed_row(org):
    rows = [[f"公司{i}", "张三", f"1391234{i:04d}", "", "", ""] for i in range(5)]
    job = create(org, xlsx_bytes(rows))
    job.mapping = imports.auto_mapping(job.headers)
    job.default_source = org.sources["展会"]
    # As if a worker died after committing the chunk that ended at spreadsheet row 4.
    lead_submit_batch(rows=[((n, []), {"company_name": f"公司{n - 2}", "mobile": f"1391234{n - 2:04d}",
                                       "contact_name": "张三", "source": "展会"}) for n in (2, 3, 4)],
                      channel=Channel.IMPORT, actor=org.owner)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, last_row=4, imported_rows=3,
                                                mapping=job.mapping, default_source=job.default_source)
    job = import_job_run(job_id=job.pk)
    assert job.imported_rows == 5
    assert sorted(Lead.objects.values_list("company_name", flat=True)) == [f"公司{i}" for i in range(5)]


def test_batch_matches_lead_submit(org):
    data = {"company_name": "上海 测试 有限公司", "contact_name": "张三", "mobile": "１３９１２３４５６７８",
            "email": " Zhang@Example.COM ", "budget": "¥1,000", "source": "官网"}
    single = lead_submit(data=data, channel=Channel.IMPORT, actor=org.owner).lead
    # Hide the first lead from the duplicate check, so the batch creates rather than routes.
    Lead.objects.filter(pk=single.pk).update(mobile_key="", email_key="", credit_code="", company_key="", brand_key="")
    outcome = lead_submit_batch(rows=[("k", data)], channel=Channel.IMPORT, actor=org.owner)
    assert outcome.created == 1
    batch = Lead.objects.exclude(pk=single.pk).get()
    # Every stored column agrees, except the keys blanked above and the moments of writing.
    moments = {"id", "created_at", "updated_at", "assigned_at", "pooled_at", "next_follow_up_at"}
    for field in Lead._meta.concrete_fields:
        if field.name not in moments | {"mobile_key", "email_key", "credit_code"}:
            assert getattr(batch, field.attname) == getattr(single, field.attname), field.name
    assert batch.email_key == "zhang@example.com"
    assert batch.mobile_key == "+8613912345678"
    # The bulk-written audit entry says what audit_record would have said.
    single_changes = AuditEntry.objects.for_object(single).get().changes
    batch_changes = AuditEntry.objects.for_object(batch).get().changes
    assert set(batch_changes) == set(single_changes)
    assert batch_changes["budget"] == single_changes["budget"] == [None, "1000.00"]
    assert batch_changes["company_name"] == single_changes["company_name"]


def test_refused_report_is_formula_safe(org):
    rows = [["=HYPERLINK(\"http://evil\")", "张三", "bad", "", "", ""]]
    job = run(org, create(org, xlsx_bytes(rows)))
    buffer = io.BytesIO()
    refusal_report(job, buffer)
    book = openpyxl.load_workbook(buffer)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header[0] == "Row" and header[-1] == "Reason"
    row = [c.value for c in sheet[2]]
    assert row[0] == "2" and row[1].startswith("'=") and "phone" in row[-1]


@pytest.mark.parametrize("keep", [True, False])
def test_a_rep_may_keep_the_leads_of_their_own_import(org, keep):
    rows = [["成都天成电子有限公司", "周杰", "13800138001", "", "", ""],
            ["杭州远景实业有限公司", "钱一", "13800138002", "", "", ""]]
    job = run(org, create(org, xlsx_bytes(rows)), assign_to_me=keep)
    leads = Lead.objects.filter(mobile_key__in=["+8613800138001", "+8613800138002"])
    assert leads.count() == 2
    if keep:
        assert {lead.owner for lead in leads} == {org.owner} and not any(lead.in_pool for lead in leads)
    else:
        # The rules decide; none matches here: the pool, or nurture with its owner (the marketer of 展会).
        assert all(lead.in_pool or (lead.status == LeadStatus.NURTURE and lead.owner == org.marketer)
                   for lead in leads)
    assert job.assign_to_me is keep


def test_only_sales_staff_are_offered_to_keep_an_import(org):
    from closeloop.leads.forms import ImportMappingForm

    job = create(org, xlsx_bytes([["成都天成电子有限公司", "周杰", "13800138001", "", "", ""]]))
    assert ImportMappingForm(job=job, user=org.owner).fields["assign_to_me"].initial is True
    assert "assign_to_me" not in ImportMappingForm(job=job, user=org.marketer).fields
