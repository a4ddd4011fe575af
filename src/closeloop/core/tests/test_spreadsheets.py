"""The one spreadsheet reader every import uses: checks, encodings, the header row, streamed large sheets."""

import csv
import io
import zipfile

import pytest

from closeloop.core.spreadsheets import SpreadsheetError, inspect_file, iter_file_rows, read_table
from closeloop.core.tests.sheets import HEADERS, xlsx_bytes


def csv_bytes(rows, encoding: str) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


''' + open('/tmp/core9-draft/moved_tests.py').read().replace("imports._", "spreadsheets._").replace("imports.ImportFileError", "SpreadsheetError").rstrip() + '''


def test_the_header_is_the_first_row_that_is_not_blank(tmp_path):
    path = tmp_path / "offset.xlsx"
    path.write_bytes(xlsx_bytes([["甲公司", "张三", 13912345678, "", 50000, "官网"]], sheet_offset=(2, 1)))
    info = inspect_file(path, name="offset.xlsx")
    assert (info.kind, info.header_row, info.headers, info.total_rows) == ("xlsx", 3, ["", *HEADERS], 1)
    assert info.sample_rows == [[4, ["", "甲公司", "张三", "13912345678", "", "50000", "官网"]]]


@pytest.mark.parametrize(("encoding", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030")])
def test_csv_encodings_people_save_are_recognised(tmp_path, encoding, expected):
    path = tmp_path / "leads.csv"
    path.write_bytes(csv_bytes([HEADERS, ["杭州甲科技有限公司", "王伟", "13912345678", "", "", "展会"]], encoding))
    info = inspect_file(path, name="leads.csv")
    assert (info.kind, info.encoding, info.headers) == ("csv", expected, HEADERS)
    assert list(iter_file_rows(path, kind="csv", encoding=info.encoding))[1][1][0] == "杭州甲科技有限公司"


def test_the_upload_limits_come_from_the_settings(tmp_path, settings):
    settings.CLOSELOOP_IMPORT_MAX_ROWS = 1
    path = tmp_path / "two.csv"
    path.write_bytes(csv_bytes([HEADERS, ["甲", "张", "13912345678"], ["乙", "李", "13912345679"]], "utf-8"))
    with pytest.raises(SpreadsheetError, match="at most 1 can be imported"):
        inspect_file(path, name="two.csv")
    assert inspect_file(path, name="two.csv", max_rows=2).total_rows == 2


def test_read_table_gives_a_whole_table_without_the_upload_limits(tmp_path, settings):
    settings.CLOSELOOP_IMPORT_MAX_ROWS = 1
    path = tmp_path / "table.xlsx"
    path.write_bytes(xlsx_bytes([["甲公司", "张三"], [], ["乙公司", "李四", "13912345679"]], sheet_offset=(1, 0)))
    header, rows = read_table(path)
    assert header == HEADERS
    # Blank rows are dropped and short rows padded to the header's width.
    assert rows == [["甲公司", "张三", "", "", "", ""], ["乙公司", "李四", "13912345679", "", "", ""]]


def test_read_table_refuses_what_uploads_refuse(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_bytes(b"%PDF-1.7 not a sheet")
    with pytest.raises(SpreadsheetError, match="PDF"):
        read_table(path)
    legacy = tmp_path / "old.ods"
    legacy.write_bytes(b"not an OpenDocument file")
    with pytest.raises(SpreadsheetError, match="could not be read"):
        read_table(legacy)


def test_a_zip_bomb_is_refused_before_it_is_opened(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<a>" + "0" * (8 * 1024 * 1024) + "</a>")
    with pytest.raises(SpreadsheetError, match="unsafe"):
        inspect_file(path, name="bomb.xlsx")
