"""Spreadsheets for the import tests: real .xlsx bytes written by xlsxwriter."""

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
