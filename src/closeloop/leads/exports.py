"""Excel/CSV export of what the user can see, safe against formula injection."""

import csv
import io

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.customfields import registry
from closeloop.core.spreadsheets import ContinuedSheet, export_workbook, neutralize, xlsx_response

from .models import Lead
from .services.intake import LEAD_TARGET

COLUMNS = [
    ("id", "ID"), ("company_name", "公司名称"), ("contact_name", "联系人"), ("title", "职务"), ("mobile", "手机"),
    ("landline", "座机"), ("email", "邮箱"), ("wechat", "微信"), ("region", "省份"), ("city", "城市"),
    ("industry", "行业"), ("company_size", "公司规模"), ("need", "需求"), ("budget", "预算"), ("timeline", "预计时间"),
    ("credit_code", "统一社会信用代码"), ("source", "来源"), ("status", "状态"), ("owner", "负责人"), ("created_at", "创建时间"),
]


def _row(lead: Lead) -> list[str]:
    values = []
    for name, _label in COLUMNS:
        if name == "source":
            value = lead.source.name
        elif name == "owner":
            value = str(lead.owner) if lead.owner else ""
        elif name == "status":
            value = lead.get_status_display()
        elif name == "created_at":
            value = timezone.localtime(lead.created_at).strftime("%Y-%m-%d %H:%M")
        else:
            value = getattr(lead, name)
        values.append(neutralize(value))
    return values


def export_response(leads, *, fmt: str, viewer=None):
    leads = leads.select_related("source", "owner")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    custom = registry.export_columns(LEAD_TARGET, viewer)
    headers = [label for _name, label in COLUMNS] + custom.headers

    def row(lead: Lead) -> list[str]:
        if not custom.fields:
            return _row(lead)
        return _row(lead) + [neutralize(cell) for cell in custom.cells(lead.custom)]

    if fmt == "csv":
        def rows():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            buffer.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
            writer.writerow(headers)
            for lead in leads.iterator(chunk_size=2000):
                writer.writerow(row(lead))
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
        return response

    output = io.BytesIO()
    book = export_workbook(output)
    sheets = ContinuedSheet(book, _("Leads"), headers)
    for lead in leads.iterator(chunk_size=2000):
        sheet, row_number = sheets.next_row()
        for col, value in enumerate(row(lead)):
            sheet.write_string(row_number, col, value)
    book.close()
    return xlsx_response(output.getvalue(), f"leads-{stamp}.xlsx")


def refusal_report(job, handle) -> None:
    """The rows an import refused, with their original columns and the reason, as .xlsx into `handle`."""
    from .imports import report_rows

    book = export_workbook(handle)
    sheet = book.add_worksheet(str(_("Refused rows"))[:31])
    refusals = job.refusals.order_by("row_number").iterator(chunk_size=2000)
    for row_number, values in enumerate(report_rows(job.headers, refusals, job.import_kind.fields())):
        for col, value in enumerate(values):
            sheet.write_string(row_number, col, neutralize(value))
    book.close()
