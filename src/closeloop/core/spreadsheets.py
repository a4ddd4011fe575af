"""Reading spreadsheets that people upload: one reader for every import (leads, and the apps above).

A file is checked in two steps. `check_upload` is cheap enough for the web request: size, magic bytes
(not the extension) and, for an .xlsx, only its zip directory (entry count, declared sizes, compression
ratio of each member and of the shared strings) — a zip bomb is refused without inflating anything.
`inspect_file` then reads what a preview needs, in the worker: the row count, the encoding of a CSV
(UTF-8 with or without BOM, GB18030 for what Excel saves in China, UTF-16 and UTF-32 with or without
BOM), the header (the first non-blank row, at most MAX_COLUMNS columns) and the first rows. Reading
never holds the raw file in memory; rows come out one at a time as text, with their spreadsheet row
numbers. What the columns mean is the importing app's business.

Writing: every export opens its workbook with `export_workbook` (or `workbook_export` for a download built in
constant memory, with the shared cell formats), so text people typed (a company name
from the public form) is written as text and never runs as a formula or becomes a link.
A record list's rows go through `ContinuedSheet`, which continues on a next sheet at Excel's row limit
(`SHEET_MAX_ROWS`) rather than let XlsxWriter drop them.
"""

import codecs
import csv
import datetime as dt
import io
import math
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import xlsxwriter
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Zip bombs: an .xlsx is refused before it is opened when its directory promises more than this.
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
# Real sheets compress 5–20×; a member that claims far more is a bomb (small members are exempt).
MAX_COMPRESSION_RATIO = 100
RATIO_EXEMPT_BYTES = 1024 * 1024
MAX_ZIP_MEMBERS = 2000
SMALL_PART_LIMIT = 10 * 1024 * 1024  # workbook.xml and its relations are tiny in any real file
# Shared strings are unique texts, so they compress far less than sheet XML (3–8×); every reader loads
# them whole. Above the exempt size a higher ratio means padding or repetition: a bomb. The cap bounds
# the worker's memory whatever the ratio.
SHARED_STRINGS_PART = "xl/sharedStrings.xml"
SHARED_STRINGS_MAX_RATIO = 12
SHARED_STRINGS_RATIO_EXEMPT_BYTES = 16 * 1024 * 1024
SHARED_STRINGS_MAX_BYTES = 512 * 1024 * 1024
# A mapping page shows one choice per column; no import kind has more than a few dozen fields.
MAX_COLUMNS = 200
SAMPLE_ROWS = 10
STREAM_ABOVE_BYTES = 256 * 1024 * 1024  # uncompressed sheet XML; about 300k rows
CHUNK = 1024 * 1024

class SpreadsheetError(Exception):
    """The file cannot be read; the message says why in words a person can act on."""

    def __init__(self, message: str):
        self.message = str(message)
        super().__init__(self.message)


@dataclass
class FileInfo:
    kind: str  # "xlsx" or "csv"
    encoding: str = ""
    header_row: int = 1
    headers: list[str] = field(default_factory=list)
    sample_rows: list[list[str]] = field(default_factory=list)
    total_rows: int = 0  # a lower bound when the file was checked without a row limit


def cell_text(value) -> str:
    """A cell as the text a person sees: 13912345678.0 typed as a number is the phone 13912345678."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


# ---------------------------------------------------------------------------------------------------
# Inspecting an upload


_OTHER_FORMATS = [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", gettext_lazy(
        "This is an old Excel (.xls) file or a password-protected workbook. Open it in Excel or WPS, "
        "remove any password and save it as .xlsx or CSV.")),
    (b"%PDF", gettext_lazy("This is a PDF document, not a spreadsheet.")),
    (b"\x89PNG", gettext_lazy("This is an image, not a spreadsheet.")),
    (b"\xff\xd8\xff", gettext_lazy("This is an image, not a spreadsheet.")),
    (b"GIF8", gettext_lazy("This is an image, not a spreadsheet.")),
    (b"Rar!", gettext_lazy("This is a RAR archive, not a spreadsheet.")),
    (b"7z\xbc\xaf", gettext_lazy("This is a 7z archive, not a spreadsheet.")),
    (b"\x1f\x8b", gettext_lazy("This is a gzip archive, not a spreadsheet.")),
]


def check_upload(path: Path, *, name: str, max_bytes: float | None = None) -> str:
    """The cheap checks, fit for a web request: size, magic bytes and an .xlsx's zip directory (nothing is
    inflated). Returns the kind ("xlsx" or "csv"); raises SpreadsheetError if the file cannot be imported.

    The size limit defaults to the setting CLOSELOOP_IMPORT_MAX_BYTES.
    """
    max_bytes = settings.CLOSELOOP_IMPORT_MAX_BYTES if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size == 0:
        raise SpreadsheetError(_("The file is empty."))
    if size > max_bytes:
        raise SpreadsheetError(_("The file is larger than %(limit)s MB. Split it into smaller files.")
                               % {"limit": int(max_bytes // (1024 * 1024))})
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as archive:
                _check_zip_directory(archive)
                first_sheet_part(archive)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ElementTree.ParseError, KeyError, OSError):
            raise SpreadsheetError(_BROKEN_XLSX) from None
        return "xlsx"
    for magic, message in _OTHER_FORMATS:
        if head.startswith(magic):
            raise SpreadsheetError(message)
    if name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raise SpreadsheetError(_("This file is named like an Excel workbook but is not one (it may be damaged "
                                "or renamed). Save it again as .xlsx or CSV."))
    return "csv"


def inspect_file(path: Path, *, name: str, max_bytes: float | None = None, max_rows: float | None = None) -> FileInfo:
    """Check a file (`check_upload`) and read its header and first rows; raise SpreadsheetError if it cannot
    be imported. Reads the whole file once (row count, encoding): run it in the worker, not a web request.

    The limits default to the settings CLOSELOOP_IMPORT_MAX_BYTES and CLOSELOOP_IMPORT_MAX_ROWS.
    """
    max_rows = settings.CLOSELOOP_IMPORT_MAX_ROWS if max_rows is None else max_rows
    kind = check_upload(path, name=name, max_bytes=max_bytes)
    info = _inspect_xlsx(path, max_rows) if kind == "xlsx" else _inspect_csv(path, max_rows)
    if not any(info.headers):
        raise SpreadsheetError(_("The file has no header row. The first row must name the columns."))
    if info.total_rows == 0:
        raise SpreadsheetError(_("The file has a header row but no data rows."))
    if info.total_rows > max_rows:
        raise SpreadsheetError(_("The file has %(rows)s rows; at most %(limit)s can be imported at once. "
                                 "Split it into smaller files.")
                               % {"rows": f"{info.total_rows:,}", "limit": f"{max_rows:,}"})
    return info


_BROKEN_XLSX = gettext_lazy("The Excel file is damaged (its zip structure is broken). Open it in Excel or WPS "
                            "and save it again.")
_NOT_A_WORKBOOK = gettext_lazy("This is a zip archive but not an Excel workbook. Save the sheet as .xlsx or CSV.")
_BOMB = gettext_lazy("The Excel file unpacks to far more data than a spreadsheet of this size can hold, so it "
                     "was refused as unsafe.")

_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _check_zip_directory(archive: zipfile.ZipFile) -> None:
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise SpreadsheetError(_BOMB)
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_EXEMPT_BYTES and member.file_size > MAX_COMPRESSION_RATIO * max(1, member.compress_size):
            raise SpreadsheetError(_BOMB)
        if member.filename == SHARED_STRINGS_PART and (
            member.file_size > SHARED_STRINGS_MAX_BYTES
            or (member.file_size > SHARED_STRINGS_RATIO_EXEMPT_BYTES
                and member.file_size > SHARED_STRINGS_MAX_RATIO * max(1, member.compress_size))
        ):
            raise SpreadsheetError(_BOMB)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise SpreadsheetError(_BOMB)


def _small_part(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    info = archive.getinfo(name)
    if info.file_size > SMALL_PART_LIMIT:
        raise SpreadsheetError(_BOMB)
    return ElementTree.fromstring(archive.read(name))


def first_sheet_part(archive: zipfile.ZipFile) -> str:
    """The zip member of the workbook's first sheet (the one the import reads)."""
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        raise SpreadsheetError(_NOT_A_WORKBOOK)
    workbook = _small_part(archive, "xl/workbook.xml")
    sheet = next((e for e in workbook.iter() if e.tag.endswith("}sheet")), None)
    if sheet is None:
        raise SpreadsheetError(_("The workbook has no sheets."))
    target = "xl/worksheets/sheet1.xml"
    if "xl/_rels/workbook.xml.rels" in names:
        rels = _small_part(archive, "xl/_rels/workbook.xml.rels")
        for rel in rels:
            if rel.get("Id") == sheet.get(_REL_NS):
                target = rel.get("Target", target).lstrip("/")
                target = target if target.startswith("xl/") else "xl/" + target
    if target not in names:
        raise SpreadsheetError(_("The first sheet of the workbook is missing or is a chart; put the data on the "
                                "first sheet."))
    return target


def _count_sheet_rows(archive: zipfile.ZipFile, part: str) -> int:
    """Row elements in the sheet, counted while streaming it (bounded by the declared size, CRC checked)."""
    count = 0
    carry = b""
    with archive.open(part) as stream:
        while block := stream.read(CHUNK):
            buffer = carry + block
            # Cut before the last "<" so that no tag straddles two blocks.
            cut = buffer.rfind(b"<", max(0, len(buffer) - 64))
            cut = len(buffer) if cut == -1 else cut
            count += len(_ROW_TAG.findall(buffer, 0, cut))
            carry = buffer[cut:]
    return count + len(_ROW_TAG.findall(carry))


def _inspect_xlsx(path: Path, max_rows: float) -> FileInfo:
    try:
        with zipfile.ZipFile(path) as archive:
            row_elements = _count_sheet_rows(archive, first_sheet_part(archive))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ElementTree.ParseError, KeyError, OSError):
        raise SpreadsheetError(_BROKEN_XLSX) from None
    info = FileInfo(kind="xlsx")
    if row_elements - 1 > max_rows:
        # Refuse before any parser builds rows in memory.
        info.headers, info.total_rows = ["?"], row_elements - 1
        return info
    try:
        _read_sample(info, _openpyxl_rows(path))
    except SpreadsheetError:
        raise
    except Exception:  # openpyxl raises many kinds of errors on damaged parts
        raise SpreadsheetError(_BROKEN_XLSX) from None
    # Blank rows Excel keeps for formatting are counted too: an upper bound that drives the progress bar.
    info.total_rows = max(0, row_elements - 1)
    return info


def _openpyxl_rows(path: Path) -> Iterator[list[str]]:
    # openpyxl streams the first rows (read-only) for the preview; the import itself uses calamine.
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        # Some writers record a wrong sheet size; read the rows as they are rather than trust it.
        sheet.reset_dimensions()
        for row in sheet.iter_rows(values_only=True):
            yield [cell_text(value) for value in row]
    finally:
        book.close()


def _read_sample(info: FileInfo, rows: Iterator[list[str]]) -> None:
    """Header = the first non-blank row; then up to SAMPLE_ROWS data rows for the preview."""
    for number, cells in enumerate(rows, start=1):
        if not info.headers:
            if any(cells):
                info.header_row = number
                info.headers = _trim(cells)
                if len(info.headers) > MAX_COLUMNS:
                    raise SpreadsheetError(
                        _("The header row has %(count)s columns; at most %(limit)s can be imported. Delete the "
                          "columns you do not need and upload the file again.")
                        % {"count": f"{len(info.headers):,}", "limit": MAX_COLUMNS})
            continue
        if any(cells):
            # Cells beyond the header have no field to go to; the preview never shows them.
            info.sample_rows.append([number, _trim(cells)[:MAX_COLUMNS]])
        if len(info.sample_rows) >= SAMPLE_ROWS:
            break


def _trim(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and cells[end - 1] == "":
        end -= 1
    return list(cells[:end])


# CSV ------------------------------------------------------------------------------------------------

_UNKNOWN_ENCODING = gettext_lazy("The text encoding of this CSV file could not be recognised. Save it as "
                                 "“CSV UTF-8” (in Excel: Save As → CSV UTF-8) and upload it again.")


def detect_encoding(path: Path) -> str:
    """utf-8-sig, utf-8, gb18030 (a superset of GBK and GB2312), UTF-16 or UTF-32 (with a BOM, or told
    apart by where the zero bytes fall); anything else is refused."""
    with path.open("rb") as handle:
        start = handle.read(4096)
    # UTF-32 LE's BOM begins with UTF-16 LE's, so it is looked for first.
    if start.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        candidates = ["utf-32"]
    elif start.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif b"\x00" in start:
        candidates = [_wide_encoding(start)]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        if _decodes(path, encoding):
            if encoding == "gb18030" and not _looks_chinese(path):
                break
            return encoding
    raise SpreadsheetError(_UNKNOWN_ENCODING)


def _wide_encoding(start: bytes) -> str:
    """UTF-32 or UTF-16 without a BOM, from where the zero bytes fall: every character of a CSV's text is in
    the Basic Multilingual Plane, so UTF-32 has two zero bytes in each unit, UTF-16 one in each ASCII unit."""
    units = start[: len(start) // 4 * 4]
    if units and all(units[i + 2] == 0 and units[i + 3] == 0 for i in range(0, len(units), 4)):
        return "utf-32-le"
    if units and all(units[i] == 0 and units[i + 1] == 0 for i in range(0, len(units), 4)):
        return "utf-32-be"
    odd_zeros = sum(1 for i in range(1, len(start), 2) if start[i] == 0)
    even_zeros = sum(1 for i in range(0, len(start), 2) if start[i] == 0)
    return "utf-16-le" if odd_zeros >= even_zeros else "utf-16-be"


_BINARY = gettext_lazy("This is a binary file, not a CSV or Excel spreadsheet.")
# Control characters no text file has (tab, line feed and carriage return aside).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    wide = encoding.startswith(("utf-16", "utf-32"))
    try:
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                if b"\x00" in block and not wide:
                    raise SpreadsheetError(_BINARY)
                text = decoder.decode(block)
                # UTF-16 decodes almost any bytes: binary shows itself by the control characters it makes.
                if wide and _CONTROL.search(text):
                    raise SpreadsheetError(_BINARY)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _looks_chinese(path: Path) -> bool:
    """GB18030 decodes many non-Chinese byte streams too; make sure the text reads as GBK Chinese."""
    from charset_normalizer import from_bytes

    with path.open("rb") as handle:
        sample = handle.read(64 * 1024)
    # Keep whole lines only, so a multi-byte character cut at the end does not skew the guess.
    sample = sample[: sample.rfind(b"\n") + 1] or sample
    best = from_bytes(sample).best()
    if best is None:
        return False
    return best.encoding in {"gb18030", "gbk", "gb2312", "hz"} or any(
        enc in {"gb18030", "gbk", "gb2312"} for enc in best.could_be_from_charset
    )


def _csv_rows(path: Path, encoding: str) -> Iterator[list[str]]:
    with path.open("r", encoding=encoding, newline="") as handle:
        try:
            dialect = csv.Sniffer().sniff(handle.read(64 * 1024), delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        handle.seek(0)
        reader = csv.reader(handle, dialect)
        try:
            for row in reader:
                yield [cell.strip() for cell in row]
        except csv.Error as exc:
            raise SpreadsheetError(_("The CSV file is malformed near line %(line)d: %(problem)s")
                                  % {"line": reader.line_num, "problem": exc}) from None


def _inspect_csv(path: Path, max_rows: float) -> FileInfo:
    encoding = detect_encoding(path)
    info = FileInfo(kind="csv", encoding=encoding)
    rows = _csv_rows(path, encoding)
    _read_sample(info, rows)
    seen = info.header_row + (info.sample_rows[-1][0] - info.header_row if info.sample_rows else 0)
    if math.isinf(max_rows):
        # Nothing to refuse by length (an offline tool): no pass of its own to count the rows, which
        # then says only that there are data rows.
        info.total_rows = max(0, seen - info.header_row) if info.headers else 0
        return info
    # Count the remaining records with the real parser (quoted line breaks do not start new rows).
    for _row in rows:
        seen += 1
        if seen - info.header_row > max_rows:
            break
    info.total_rows = max(0, seen - info.header_row) if info.headers else 0
    return info


# ---------------------------------------------------------------------------------------------------
# Reading a checked file


def iter_file_rows(path: Path, *, kind: str, encoding: str = "") -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells as text) for every row, header included; row 1 is the first line."""
    if kind == "csv":
        yield from enumerate(_csv_rows(path, encoding), start=1)
        return
    try:
        with zipfile.ZipFile(path) as archive:
            sheet_bytes = archive.getinfo(first_sheet_part(archive)).file_size
    except (zipfile.BadZipFile, KeyError, OSError):
        raise SpreadsheetError(_BROKEN_XLSX) from None
    # calamine is ~10× faster but holds the whole sheet in memory (about 1.2 GB for a million rows);
    # very large sheets are streamed instead so the worker stays within its memory budget.
    yield from (_streamed_rows(path) if sheet_bytes > STREAM_ABOVE_BYTES else _calamine_rows(path))


def _calamine_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from python_calamine import CalamineWorkbook

    try:
        with zipfile.ZipFile(path) as archive:
            _check_zip_directory(archive)
        book = CalamineWorkbook.from_path(str(path))
    except SpreadsheetError:
        raise
    except Exception:
        raise SpreadsheetError(_BROKEN_XLSX) from None
    try:
        sheet = book.get_sheet_by_index(0)
        start = sheet.start
        if start is None:
            return
        # calamine's rows start at the sheet's first row but at the first used column: pad the columns
        # back so column numbers match the header's (the offset test pins this behaviour).
        padding = [""] * start[1]
        for offset, row in enumerate(sheet.iter_rows()):
            cells = [cell_text(value) for value in row]
            yield offset + 1, padding + cells if padding else cells
    except SpreadsheetError:
        raise
    except Exception:
        raise SpreadsheetError(_BROKEN_XLSX) from None
    finally:
        book.close()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _column_index(reference: str) -> int:
    index = 0
    for char in reference:
        if not char.isalpha():
            break
        index = index * 26 + ord(char.upper()) - 64
    return index - 1


def _text_of(element) -> str:
    """The text of a shared or inline string: its runs, without phonetic guides (<rPh>)."""
    parts = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings = []
    with archive.open("xl/sharedStrings.xml") as stream:
        for _event, element in ElementTree.iterparse(stream, events=("end",)):
            if _local(element.tag) == "si":
                strings.append(_text_of(element))
                element.clear()
    return strings


def _streamed_cell(cell, strings: list[str]) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        found = next((child for child in cell if _local(child.tag) == "is"), None)
        return (_text_of(found) if found is not None else "").strip()
    value = next((child.text for child in cell if _local(child.tag) == "v"), None)
    if value is None:
        return ""
    if kind == "s":
        return strings[int(value)].strip()
    if kind == "b":
        return "TRUE" if value == "1" else "FALSE"
    if kind == "n":
        try:
            return cell_text(float(value))
        except ValueError:
            return value
    return value.strip()


def _streamed_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Rows of the first sheet parsed as a stream: memory holds the shared strings and one row.

    Dates come out as Excel serial numbers here (their format lives in the styles); calamine, used for
    sheets up to STREAM_ABOVE_BYTES, converts them.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            _check_zip_directory(archive)
            strings = _shared_strings(archive)
            with archive.open(first_sheet_part(archive)) as stream:
                sheet_data = None
                number = 0
                for event, element in ElementTree.iterparse(stream, events=("start", "end")):
                    name = _local(element.tag)
                    if event == "start":
                        if name == "sheetData":
                            sheet_data = element
                        continue
                    if name != "row":
                        continue
                    number = int(element.get("r") or number + 1)
                    cells: list[str] = []
                    for cell in element:
                        if _local(cell.tag) != "c":
                            continue
                        reference = cell.get("r")
                        column = _column_index(reference) if reference else len(cells)
                        cells.extend([""] * (column - len(cells)))
                        cells.append(_streamed_cell(cell, strings))
                    yield number, cells
                    # Drop the parsed row so the tree never grows with the sheet.
                    if sheet_data is not None:
                        sheet_data.clear()
    except SpreadsheetError:
        raise
    except (zipfile.BadZipFile, ElementTree.ParseError, EOFError, KeyError, IndexError, ValueError, OSError):
        raise SpreadsheetError(_BROKEN_XLSX) from None


# ---------------------------------------------------------------------------------------------------
# A whole table, for offline tools


# Formats uploads do not take (people re-save them as .xlsx) but an offline tool reads whole with calamine.
WHOLE_SHEET_SUFFIXES = {".xls", ".xlsb", ".ods"}


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the non-blank data rows of a file's first sheet, each row as wide as the header.

    For tools that take a file from the command line (`closeloop dedupe`): the same checks and reader as
    an upload, without the upload's size and row limits.
    """
    if path.suffix.lower() in WHOLE_SHEET_SUFFIXES:
        rows = _whole_sheet_rows(path)
    else:
        info = inspect_file(path, name=path.name, max_bytes=math.inf, max_rows=math.inf)
        rows = iter_file_rows(path, kind=info.kind, encoding=info.encoding)
    header: list[str] = []
    table = []
    for _number, cells in rows:
        if not any(cells):
            continue
        if not header:
            header = _trim(cells)
            continue
        table.append(cells)
    width = len(header)
    return header, [row + [""] * (width - len(row)) if len(row) < width else row for row in table]


def _whole_sheet_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        table = sheet.to_python(skip_empty_area=False)
    except Exception:
        raise SpreadsheetError(_("The file could not be read as a spreadsheet. Save it as .xlsx or CSV.")) from None
    for number, row in enumerate(table, start=1):
        yield number, [cell_text(value) for value in row]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value) -> str:
    """A spreadsheet must show a cell as text, never run it: prefix formula starters with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_workbook(target, **options) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook in constant memory that writes strings as strings (no formulas, no links)."""
    return xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, **options})


@dataclass
class WorkbookExport:
    """A workbook being written for download, with the cell formats the exports share; `content` once closed."""

    book: xlsxwriter.Workbook
    bold: object
    money: object
    day: object
    moment: object
    content: bytes = b""


@contextmanager
def workbook_export() -> Iterator[WorkbookExport]:
    """Write a workbook in constant memory (its rows spill to a temporary folder); its bytes are in `.content` after
    the block."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        book = export_workbook(buffer, tmpdir=tmp, in_memory=False)
        export = WorkbookExport(book, bold=book.add_format({"bold": True}),
                                money=book.add_format({"num_format": "#,##0.00"}),
                                day=book.add_format({"num_format": "yyyy-mm-dd"}),
                                moment=book.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
        yield export
        book.close()
    export.content = buffer.getvalue()


# Excel (and WPS) open at most this many rows a sheet, the header row included; XlsxWriter silently ignores a row
# past it. An export's rows continue on a next sheet instead (`ContinuedSheet`). Tests lower it.
SHEET_MAX_ROWS = 1_048_576
SHEET_NAME_MAX = 31
# A background export's progress (core/exports.py): told the rows written so far, after each row.
export_progress: ContextVar[Callable[[int], None] | None] = ContextVar("export_progress", default=None)


class ContinuedSheet:
    """The rows of one list across as many sheets as Excel's row limit needs: "线索", then "线索 (2)", … each with the
    same header row and column widths, so an export never drops a row. `next_row()` gives the sheet and row index
    for the next record; `rows` counts the records written over all sheets."""

    def __init__(self, book: xlsxwriter.Workbook, name: str, headers: list[str], *, header_format=None,
                 widths: list[tuple[int, int, int]] = ()):
        self.book, self.name, self.headers = book, str(name), [str(header) for header in headers]
        self.header_format, self.widths = header_format, list(widths)
        self.sheets: list = []
        self.rows = 0
        self._report = export_progress.get()
        self._add_sheet()

    def _add_sheet(self) -> None:
        suffix = f" ({len(self.sheets) + 1})" if self.sheets else ""
        sheet = self.book.add_worksheet(self.name[:SHEET_NAME_MAX - len(suffix)] + suffix)
        for first, last, width in self.widths:
            sheet.set_column(first, last, width)
        if self.header_format is None:
            for col, header in enumerate(self.headers):
                sheet.write_string(0, col, header)
        else:
            sheet.write_row(0, 0, self.headers, self.header_format)
        self.sheets.append(sheet)
        self.sheet, self.row = sheet, 0

    def next_row(self):
        """(sheet, row index) for the next record, on a new sheet when this one is full."""
        if self.row + 1 >= SHEET_MAX_ROWS:
            self._add_sheet()
        self.row += 1
        self.rows += 1
        if self._report is not None:
            self._report(self.rows)
        return self.sheet, self.row


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@dataclass(frozen=True)
class ExportColumn:
    """A built-in column of a record list's export: its header, what a record puts in it, and what it holds —
    "text", "number", "money", "date" or "moment" (a figure stays a number and a date a date in the sheet, so
    sums, filters and sorting work on them) — and its width."""

    header: str
    value: Callable
    kind: str = "text"
    width: int = 16


def write_cell(sheet, row: int, col: int, kind: str, value, export: WorkbookExport) -> None:
    """One cell as its kind says; an empty value leaves the cell empty. Text is written as text, never run."""
    if value is None or value == "":
        return
    if kind == "money":
        sheet.write_number(row, col, value, export.money)
    elif kind == "number":
        sheet.write_number(row, col, value)
    elif kind == "date":
        sheet.write_datetime(row, col, value, export.day)
    elif kind == "moment":
        sheet.write_datetime(row, col, timezone.localtime(value).replace(tzinfo=None), export.moment)
    else:
        sheet.write_string(row, col, str(value))


def records_workbook(records, *, sheet_name: str, columns: list[ExportColumn], custom) -> bytes:
    """A record list as a sheet (continued on further sheets past Excel's row limit), written in constant memory:
    the built-in `columns`, then the custom-field columns `custom` (the `ExportColumns` of
    core.customfields.registry: the fields the viewer may see). `records` is the list's queryset, read in chunks:
    every row it selects, not one page."""
    with workbook_export() as export:
        sheets = ContinuedSheet(export.book, sheet_name, [column.header for column in columns] + custom.headers,
                                header_format=export.bold,
                                widths=[(col, col, column.width) for col, column in enumerate(columns)])
        first_custom = len(columns)
        for record in records.iterator(chunk_size=2000):
            sheet, n = sheets.next_row()
            for col, column in enumerate(columns):
                write_cell(sheet, n, col, column.kind, column.value(record), export)
            custom.write(sheet, n, first_custom, record.custom, export)
    return export.content
