"""The one spreadsheet reader every import uses: checks, encodings, the header row, streamed large sheets."""

import csv
import io
import random
import time
import zipfile

import pytest

from closeloop.core.spreadsheets import (
    MAX_COLUMNS,
    SpreadsheetError,
    check_upload,
    inspect_file,
    iter_file_rows,
    read_table,
)
from closeloop.core.tests.sheets import HEADERS, xlsx_bytes


def csv_bytes(rows, encoding: str) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


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


def shared_strings_bomb(path, *, repeats: int = 14) -> None:
    """A real workbook whose shared strings expand ~20× to ~40 MB: under the zip-wide ratio limit, and
    what openpyxl or calamine would load whole into memory."""
    path.write_bytes(xlsx_bytes([["甲公司", "张三", "13912345678", "", "", "展会"]]))
    rng = random.Random(7)
    chunk = b"".join(b"<si><t>%s</t></si>" % ("上海测试科技有限公司".encode() * 4 + b"%08d" % rng.randrange(10**8))
                     for _ in range(20_000))
    with zipfile.ZipFile(path) as original:
        parts = {info.filename: original.read(info) for info in original.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in parts.items():
            if name == "xl/sharedStrings.xml":
                with archive.open(name, "w") as stream:
                    stream.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
                    for _ in range(repeats):
                        stream.write(chunk)
                    stream.write(b"</sst>")
            else:
                archive.writestr(name, data)


def test_a_shared_strings_bomb_is_refused_from_the_zip_directory(tmp_path, monkeypatch):
    path = tmp_path / "bomb.xlsx"
    shared_strings_bomb(path)
    member = zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml")
    assert member.file_size > 30 * 1024 * 1024 and 12 < member.file_size / member.compress_size < 100
    # Nothing is inflated: opening any member would fail the test.
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *args, **kwargs: pytest.fail("a member was opened"))
    started = time.monotonic()
    with pytest.raises(SpreadsheetError, match="unsafe"):
        check_upload(path, name="bomb.xlsx")
    assert time.monotonic() - started < 1


def test_too_many_entries_are_refused_from_the_zip_directory(tmp_path):
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for number in range(2001):
            archive.writestr(f"xl/media/{number}.bin", b"")
    with pytest.raises(SpreadsheetError, match="unsafe"):
        check_upload(path, name="many.xlsx")


def test_a_csv_with_ten_thousand_columns_is_refused_naming_the_count(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(csv_bytes([[f"列{n}" for n in range(10_000)], ["x"] * 10_000], "utf-8"))
    assert check_upload(path, name="wide.csv") == "csv"  # cheap checks pass; reading the header refuses it
    with pytest.raises(SpreadsheetError, match=f"10,000 columns; at most {MAX_COLUMNS}"):
        inspect_file(path, name="wide.csv")


def test_a_wide_xlsx_is_refused_naming_the_count(tmp_path):
    path = tmp_path / "wide.xlsx"
    path.write_bytes(xlsx_bytes([["x"] * 300], headers=[f"列{n}" for n in range(300)]))
    with pytest.raises(SpreadsheetError, match="300 columns"):
        inspect_file(path, name="wide.xlsx")


@pytest.mark.parametrize(("encoding", "expected"), [
    ("utf-32", "utf-32"), ("utf-32-le", "utf-32-le"), ("utf-32-be", "utf-32-be"),
    ("utf-16", "utf-16"), ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be"),
])
def test_wide_unicode_csvs_are_told_apart_with_or_without_bom(tmp_path, encoding, expected):
    path = tmp_path / "wide-encoding.csv"
    path.write_bytes(csv_bytes([HEADERS, ["杭州甲科技有限公司", "Wang Wei", "13912345678", "", "", "展会"]], encoding))
    info = inspect_file(path, name="wide-encoding.csv")
    assert (info.encoding, info.headers) == (expected, HEADERS)
    assert info.sample_rows[0][1][:2] == ["杭州甲科技有限公司", "Wang Wei"]
