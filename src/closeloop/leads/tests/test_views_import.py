"""Import pages as owner, teammate, manager, outsider and admin: upload, map, run, result, report."""

import io
import time

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from closeloop.core.tests.test_spreadsheets import shared_strings_bomb
from closeloop.leads.models import ImportJob, ImportStatus, Lead
from closeloop.leads.services.importing import import_job_inspect

from .test_imports import xlsx_bytes

# Who may see an import uploaded by `owner`: its uploader and admins only.
EXPECTED = {"owner": True, "teammate": False, "manager": False, "outsider": False, "admin": True}
ROWS = [
    ["上海甲科技有限公司", "张三", "13912345678", "zhang@example.com", "50000", "官网"],
    ["坏手机公司", "王五", "12345", "", "", ""],
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def upload(client, data=None, name="leads.xlsx", *, inspect=True):
    """Upload a file; with `inspect` the worker's inspection (queued on commit) runs before this returns."""
    file = SimpleUploadedFile(name, xlsx_bytes(ROWS) if data is None else data)
    if not inspect:
        return client.post(reverse("leads:import"), {"file": file})
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("leads:import"), {"file": file})


def mapping_post(job, org, **extra):
    data = {f"column_{i}": name for i, name in enumerate(job.mapping)}
    data.update(default_source=org.sources["展会"].pk, **extra)
    return data


@pytest.fixture
def finished_job(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.owner)
    upload(client)
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(job.get_absolute_url(), mapping_post(job, org, start="1"))
    assert response.status_code == 302
    client.logout()
    job.refresh_from_db()
    return job


def test_the_leads_list_links_to_import(client, org):
    client.force_login(org.owner)
    assert reverse("leads:import") in client.get(reverse("leads:list")).content.decode()


def test_it_goes_from_upload_to_mapping_to_result(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.owner)
    response = upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()

    page = client.get(job.get_absolute_url()).content.decode()
    assert "上海甲科技有限公司" in page and 'value="mobile" selected' in page
    # The preview shows the broken row's problem, naming the field, before anything is imported.
    assert "Mobile: " in page and "is not a valid phone number" in page
    assert Lead.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(job.get_absolute_url(), mapping_post(job, org, start="1"))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and (job.imported_rows, job.refused_rows) == (1, 1)

    page = client.get(job.get_absolute_url()).content.decode()
    assert "坏手机公司" in page and reverse("leads:import_report", args=[job.pk]) in page
    assert "Mobile: " in page  # the result page names the field, as the downloaded report does
    # The recent imports list on the upload page.
    assert job.original_name in client.get(reverse("leads:import")).content.decode()


def test_the_template_is_a_sheet_whose_every_column_maps_by_itself(client, org):
    from closeloop.core.customfields.services import custom_field_create

    custom_field_create(target="leads.Lead", key="grade", field_type="choice", actor=org.admin,
                        data={"label_zh": "客户等级", "label_en": "Customer grade", "options": "A\nB"})
    client.force_login(org.owner)
    upload_page = client.get(reverse("leads:import")).content.decode()
    assert reverse("leads:import_template") in upload_page
    response = client.get(reverse("leads:import_template"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    headers = [cell.value for cell in openpyxl.load_workbook(io.BytesIO(response.content)).active[1]]
    assert headers[:3] == ["公司名称", "联系人", "职务"] and "Customer grade" in headers
    # Filled in and uploaded as it is, every column is mapped to its field without a correction.
    row = ["上海甲科技有限公司", "张三", "", "13912345678"] + [""] * (len(headers) - 4)
    upload(client, xlsx_bytes([row], headers=headers))
    job = ImportJob.objects.get()
    assert "" not in job.mapping and len(set(job.mapping)) == len(headers)
    assert job.mapping[headers.index("Customer grade")] == "custom.grade"
    # Products' template marks the columns a row must have; only those who import products get it.
    client.force_login(org.admin)
    product_headers = [cell.value for cell in openpyxl.load_workbook(io.BytesIO(
        client.get(reverse("quotes:product_import_template")).content)).active[1]]
    assert product_headers[:2] == ["编码*", "名称*"]


def test_a_corrected_mapping_is_previewed_and_kept(client, org):
    client.force_login(org.owner)
    upload(client, xlsx_bytes([["甲公司", "张三", "13912345678"]], headers=["A", "B", "C"]))
    job = ImportJob.objects.get()
    assert job.mapping == ["", "", ""]
    data = {"column_0": "company_name", "column_1": "contact_name", "column_2": "mobile",
            "default_source": org.sources["展会"].pk, "preview": "1"}
    page = client.post(job.get_absolute_url(), data).content.decode()
    assert "✓" in page and 'value="mobile" selected' in page
    data.pop("preview")
    data["column_2"] = "contact_name"
    page = client.post(job.get_absolute_url(), {**data, "start": "1"}).content.decode()
    assert "two columns" in page
    assert ImportJob.objects.get().status == ImportStatus.MAPPING


def test_a_bad_file_is_refused_on_the_upload_page(client, org):
    client.force_login(org.owner)
    response = upload(client, b"\x00junk" * 100, "junk.xlsx")
    assert response.status_code == 200
    assert "not one" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_oversized_request_is_refused_before_it_is_read(client, org, settings):
    settings.CLOSELOOP_IMPORT_MAX_BYTES = 10
    client.force_login(org.owner)
    response = upload(client, b"a" * 200_000, "big.csv")
    assert response.status_code == 200 and "too large" in response.content.decode()


def test_progress_partial_redirects_htmx_when_done(client, org, finished_job):
    client.force_login(org.owner)
    response = client.get(reverse("leads:import_progress", args=[finished_job.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == finished_job.get_absolute_url()


def test_progress_page_while_running(client, org):
    client.force_login(org.owner)
    upload(client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, last_row=2)
    page = client.get(job.get_absolute_url()).content.decode()
    progress_url = reverse("leads:import_progress", args=[job.pk])
    assert f'hx-get="{progress_url}"' in page and "<progress" in page
    partial = client.get(progress_url)
    assert "HX-Redirect" not in partial and "1 of about 2 rows" in partial.content.decode()


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_import_pages_are_for_the_uploader_and_admins(client, org, finished_job, who, sees):
    client.force_login(getattr(org, who))
    expected = 200 if sees else 404
    assert client.get(finished_job.get_absolute_url()).status_code == expected
    assert client.get(reverse("leads:import_progress", args=[finished_job.pk])).status_code == expected
    response = client.get(reverse("leads:import_report", args=[finished_job.pk]))
    assert response.status_code == expected
    assert client.post(finished_job.get_absolute_url(), {}).status_code == (302 if sees else 404)
    listed = finished_job.original_name in client.get(reverse("leads:import")).content.decode()
    assert listed is (who == "owner")


@pytest.mark.parametrize(("who", "sees"), {"owner": False, "teammate": False, "manager": False,
                                           "outsider": False, "admin": True}.items())
def test_imported_leads_follow_the_usual_visibility(client, org, finished_job, who, sees):
    lead = Lead.objects.get()
    assert lead.owner is None  # imports are not assigned to the uploader by default
    client.force_login(getattr(org, who))
    assert client.get(lead.get_absolute_url()).status_code == (200 if sees else 404)


def test_the_report_lists_refused_rows(client, org, finished_job):
    client.force_login(org.owner)
    response = client.get(reverse("leads:import_report", args=[finished_job.pk]))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == ["Refused rows"]
    rows = [[c.value for c in row] for row in book.active.iter_rows()]
    assert rows[0][:3] == ["Row", "公司名称", "联系人"] and rows[0][-1] == "Reason"
    assert rows[1][0] == "3" and rows[1][1] == "坏手机公司" and "12345" in rows[1][-1]
    assert len(rows) == 2


def test_anonymous_is_sent_to_login(client, org):
    response = client.get(reverse("leads:import"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_result_says_where_every_row_went(client, org, django_capture_on_commit_callbacks):
    rows = [["上海甲科技有限公司", "张三", "13912345678", "zhang@example.com", "500000", "官网"],
            ["杭州乙贸易有限公司", "李四", "13912345679", "", "", ""],
            ["坏手机公司", "王五", "12345", "", "", ""]]
    client.force_login(org.owner)
    upload(client, xlsx_bytes(rows))
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job.get_absolute_url(), mapping_post(job, org, start="1"))
    nurtured = Lead.objects.get(company_name="杭州乙贸易有限公司")
    pooled = Lead.objects.get(company_name="上海甲科技有限公司")
    assert nurtured.import_job_id == pooled.import_job_id == job.pk
    assert nurtured.owner == org.marketer and pooled.in_pool
    # As an admin, who sees every lead (the uploader sees only where their own leads went, see below).
    client.force_login(org.admin)
    page = client.get(job.get_absolute_url()).content.decode()
    lead_list = reverse("leads:list")
    assert f'href="{lead_list}?import={job.pk}&amp;owner={org.marketer.pk}&amp;status=nurture"' in page
    assert "1 to nurture, owned by marketer" in page
    assert f'href="{lead_list}?import={job.pk}&amp;owner=none"' in page and "1 to the public pool" in page
    assert "1 rows refused" in page and "elsewhere" not in page
    # Each link opens that set in the lead list.
    listed = client.get(lead_list, {"import": job.pk, "owner": org.marketer.pk, "status": "nurture"}).content.decode()
    assert "杭州乙贸易有限公司" in listed and "上海甲科技有限公司" not in listed


def test_a_rep_learns_where_only_the_leads_they_may_see_went(client, org, django_capture_on_commit_callbacks):
    """The rules give a rep's import to colleagues: the rep sees their own share, by link, and the rest as one
    count, never who got how many; each link lists exactly as many leads as its line counts."""
    from closeloop.leads.quality import AssignmentStrategy
    from closeloop.leads.rule_services import assignment_rule_save

    assignment_rule_save(data={"name": "all", "strategy": AssignmentStrategy.ROUND_ROBIN, "position": 0,
                               "active": True},
                         members=[(org.owner, 1), (org.outsider, 1), (org.teammate, 1)], actor=org.admin)
    rows = [[f"上海甲{n}科技有限公司", "张三", f"1391234567{n}", "", "500000", "官网"] for n in range(6)]
    client.force_login(org.owner)
    upload(client, xlsx_bytes(rows))
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job.get_absolute_url(), mapping_post(job, org, start="1"))
    mine = list(Lead.objects.filter(import_job=job, owner=org.owner).order_by("pk"))
    assert len(mine) == 2 and Lead.objects.filter(import_job=job).count() == 6
    # Later the rep sends one of theirs to nurture: it leaves the "assigned" line and its link alike.
    Lead.objects.filter(pk=mine[0].pk).update(status="nurture")

    page = client.get(job.get_absolute_url()).content.decode()
    assert "1 assigned to owner" in page and "1 to nurture, owned by owner" in page
    assert "4 elsewhere, among leads you cannot see" in page
    assert "outsider" not in page and "teammate" not in page and "public pool" not in page
    lead_list = reverse("leads:list")
    assigned = f"{lead_list}?import={job.pk}&amp;owner={org.owner.pk}&amp;not_status=nurture"
    assert f'href="{assigned}"' in page
    listed = client.get(assigned.replace("&amp;", "&")).content.decode()
    assert mine[1].company_name in listed and mine[0].company_name not in listed


def test_the_upload_only_stores_the_file_and_the_worker_reads_it(client, org):
    client.force_login(org.owner)
    response = upload(client, inspect=False)
    job = ImportJob.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert job.status == ImportStatus.INSPECTING and job.headers == [] and job.file_kind == "xlsx"
    page = client.get(job.get_absolute_url()).content.decode()
    assert "Checking the file" in page and "<progress" in page
    progress_url = reverse("leads:import_progress", args=[job.pk])
    assert "HX-Redirect" not in client.get(progress_url, HTTP_HX_REQUEST="true")

    import_job_inspect(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING and job.headers[0] == "公司名称" and job.total_rows == 2
    assert client.get(progress_url, HTTP_HX_REQUEST="true")["HX-Redirect"] == job.get_absolute_url()
    assert "上海甲科技有限公司" in client.get(job.get_absolute_url()).content.decode()


def test_a_shared_strings_bomb_is_refused_on_the_upload_page_without_a_job(client, org, tmp_path):
    path = tmp_path / "bomb.xlsx"
    shared_strings_bomb(path)
    client.force_login(org.owner)
    started = time.monotonic()
    response = upload(client, path.read_bytes(), "bomb.xlsx")
    assert time.monotonic() - started < 10  # the upload itself; nothing is unpacked
    assert response.status_code == 200 and "refused as unsafe" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_ten_thousand_columns_fail_the_job_with_the_count_and_a_small_page(client, org):
    client.force_login(org.owner)
    wide = "\n".join(",".join(f"{prefix}{n}" for n in range(10_000)) for prefix in ("列", "x")).encode()
    upload(client, wide, "wide.csv")
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED and "10,000 columns; at most 200" in job.error
    response = client.get(job.get_absolute_url())
    body = response.content.decode()
    assert "10,000 columns" in body and len(body) < 50_000 and "column_0" not in body


def test_a_utf32_csv_is_mapped_with_its_chinese_headers(client, org):
    client.force_login(org.owner)
    text = "公司名称,联系人,手机\n杭州甲科技有限公司,王伟,13912345678\n"
    upload(client, text.encode("utf-32"), "utf32.csv")
    job = ImportJob.objects.get()
    assert (job.encoding, job.headers, job.mapping) == ("utf-32", ["公司名称", "联系人", "手机"],
                                                        ["company_name", "contact_name", "mobile"])
    assert "杭州甲科技有限公司" in client.get(job.get_absolute_url()).content.decode()
