"""Products from Excel/CSV through the lead import's pipeline: mapping by header, preview, run, update by
code, the refused-rows report, and who may import (administrators and pre-sales; the job is its uploader's)."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from closeloop.core.errors import Forbidden
from closeloop.core.models import AuditEntry
from closeloop.core.tests.sheets import xlsx_bytes
from closeloop.leads.models import ImportJob, ImportStatus
from closeloop.leads.services.importing import import_job_create
from closeloop.quotes import catalog
from closeloop.quotes.models import Product

HEADERS = ["产品编码", "产品名称", "类别", "单位", "单价", "成本", "税率", "备注列"]
ROWS = [
    ["CRM-STD", "CRM标准版", "软件", "用户·年", "1200", "150", "13%", "x"],
    ["IMPL-01", "实施服务", "服务", "人天", "2,500.00", "1200", "0.06", ""],
    ["BAD-01", "坏价格", "", "套", "面议", "", "13", ""],
    ["", "没有编码", "", "套", "100", "", "13", ""],
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def upload(client, rows=ROWS, headers=HEADERS):
    file = SimpleUploadedFile("价目表.xlsx", xlsx_bytes(rows, headers=headers))
    # The worker reads the file's header once the upload commits.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("quotes:product_import"), {"file": file})


def start(client, job, captured, **extra):
    data = {f"column_{i}": name for i, name in enumerate(job.mapping)} | {"start": "1", **extra}
    with captured(execute=True):
        return client.post(job.get_absolute_url(), data)


def test_it_imports_a_price_list_with_the_lead_import_pages(client, org, presales, django_capture_on_commit_callbacks):
    client.force_login(presales)
    assert reverse("quotes:product_import") in client.get(reverse("quotes:product_list")).content.decode()
    response = upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.kind == "products"
    # Headers people use in price lists are recognised; an unknown one is ignored.
    assert job.mapping == ["code", "name", "category", "unit", "list_price", "cost", "tax_rate", ""]

    page = client.get(job.get_absolute_url()).content.decode()
    assert "Import products from Excel or CSV" not in page  # the mapping page, not the upload page
    assert "CRM标准版" in page and "List price (CNY): Enter an amount in yuan" in page
    assert "Code: This field is required." in page
    assert "default_source" not in page and "merge_duplicates" not in page  # the lead options are the leads'
    assert not Product.objects.exists()

    response = start(client, job, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and (job.imported_rows, job.routed_rows, job.refused_rows) == (2, 0, 2)
    crm = Product.objects.get(code="CRM-STD")
    assert (crm.name, crm.unit, str(crm.list_price), str(crm.cost), crm.tax_rate) == ("CRM标准版", "用户·年", "1200.00",
                                                                                    "150.00", 13)
    assert Product.objects.get(code="IMPL-01").tax_rate == 6  # a percentage cell (0.06) reads 6 %
    assert AuditEntry.objects.filter(action="product.create", channel="import").count() == 2

    page = client.get(job.get_absolute_url()).content.decode()
    assert "2 rows imported as new products" in page and "坏价格" in page
    assert reverse("quotes:product_list") in page and reverse("quotes:product_import") in page

    report = client.get(reverse("leads:import_report", args=[job.pk]))
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Row", *HEADERS, "Reason"]
    assert rows[1][0] == "4" and rows[1][-1].startswith("List price (CNY): ")
    assert rows[2][0] == "5" and rows[2][-1] == "Code: This field is required."


def test_a_row_with_a_known_code_updates_that_product(client, org, django_capture_on_commit_callbacks):
    catalog.product_save(actor=org.admin, data={"code": "CRM-STD", "name": "CRM标准版", "unit": "用户·年",
                                                "list_price": "1000", "cost": "150", "tax_rate": "13",
                                                "description": "含一年升级"})
    client.force_login(org.admin)
    upload(client, rows=[["CRM-STD", "", "1100"]], headers=["编码", "名称", "价格"])
    job = ImportJob.objects.get()
    start(client, job, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.imported_rows, job.routed_rows, job.refused_rows) == (0, 1, 0)
    product = Product.objects.get()
    # The new price; the cells left empty keep the product's values.
    assert (str(product.list_price), product.name, product.description) == ("1100.00", "CRM标准版", "含一年升级")
    assert "1 rows updated the product with the same code" in client.get(job.get_absolute_url()).content.decode()


def test_a_mapping_without_the_required_fields_is_refused(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.admin)
    upload(client)
    job = ImportJob.objects.get()
    response = start(client, job, django_capture_on_commit_callbacks, column_4="")
    assert response.status_code == 200
    assert "is required for imports but no column is mapped to it" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING and not Product.objects.exists()


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider"])
def test_only_administrators_and_presales_import_products(client, org, who):
    user = getattr(org, who)
    client.force_login(user)
    assert client.get(reverse("quotes:product_import")).status_code == 403
    assert client.get(reverse("quotes:product_import_template")).status_code == 403
    assert upload(client).status_code == 403
    with pytest.raises(Forbidden):
        import_job_create(upload=SimpleUploadedFile("p.xlsx", xlsx_bytes(ROWS, headers=HEADERS)), actor=user,
                          kind="products")
    assert reverse("quotes:product_import") not in client.get(reverse("quotes:product_list")).content.decode()


@pytest.mark.parametrize(("who", "sees"), [("presales", True), ("owner", False), ("manager", False),
                                           ("outsider", False), ("admin", True)])
def test_the_job_is_its_uploaders(client, org, presales, who, sees):
    client.force_login(presales)
    upload(client)
    job = ImportJob.objects.get()
    client.force_login(presales if who == "presales" else getattr(org, who))
    assert client.get(job.get_absolute_url()).status_code == (200 if sees else 404)


def test_a_cancelled_product_import_stops_after_the_chunk_it_is_writing(org):
    rows = (((n, []), {"code": f"P-{n:03d}", "name": f"产品{n}", "unit": "套", "list_price": "100",
                       "tax_rate": "13"}) for n in range(10))
    asked = []

    def stop():  # cancelled while the first chunk was written
        asked.append(1)
        return True

    outcome = catalog.product_import(rows=rows, actor=org.admin, chunk_size=4, stop=stop)
    assert (outcome.created, len(asked)) == (4, 1)
    assert sorted(Product.objects.values_list("code", flat=True)) == ["P-000", "P-001", "P-002", "P-003"]
