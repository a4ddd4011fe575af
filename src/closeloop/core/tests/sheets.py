"""Spreadsheets for the import tests (real .xlsx bytes written by xlsxwriter) and the export tests (read back)."""

import io

import xlsxwriter

HEADERS = ["公司名称", "联系人", "手机", "邮箱", "预算", "来源"]


def xlsx_bytes(rows, *, headers=HEADERS, sheet_offset=(0, 0)) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False})
    sheet = book.add_worksheet()
    r0, c0 = sheet_offset
    sheet.write_row(r0, c0, headers)
    for i, row in enumerate(rows, start=1):
        sheet.write_row(r0 + i, c0, row)
    book.close()
    return buffer.getvalue()


def continued_rows(content: bytes) -> tuple[list[str], list[tuple]]:
    """An export's sheet names and its data rows over all its sheets, in order; every sheet must repeat the first
    sheet's header row (a list continued past Excel's row limit)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    header, rows = None, []
    for sheet in book.worksheets:
        first, *data = sheet.iter_rows(values_only=True)
        header = header or first
        assert first == header, f"sheet {sheet.title} has another header"
        rows.extend(data)
    return book.sheetnames, rows


def exported_rows(client, user, url: str, name: str, query: dict) -> list[dict]:
    """A list's export downloaded by `user` with the list's `query`: an .xlsx attachment named `name-…`, its first
    sheet's rows as {header: cell}."""
    from openpyxl import load_workbook

    client.force_login(user)
    response = client.get(url, query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith(f'attachment; filename="{name}-')
    header, *rows = load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]
