"""Excel/CSV import: check an uploaded file, read its rows, and map its headers to lead fields.

A file is checked before anything parses it for real: magic bytes (not the extension), the zip
directory of an .xlsx (declared sizes, compression ratio) and its row count, the encoding of a CSV.
Reading never holds the raw file in memory; rows come out one at a time as text.
"""

import codecs
import csv
import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from django.conf import settings
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import normalize
from .models import CONFIGURABLE_FIELDS, Lead

# Zip bombs: an .xlsx is refused before it is opened when its directory promises more than this.
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
# Real sheets compress 5–20×; a member that claims far more is a bomb (small members are exempt).
MAX_COMPRESSION_RATIO = 100
RATIO_EXEMPT_BYTES = 1024 * 1024
MAX_ZIP_MEMBERS = 2000
SMALL_PART_LIMIT = 10 * 1024 * 1024  # workbook.xml and its relations are tiny in any real file
SAMPLE_ROWS = 10
STREAM_ABOVE_BYTES = 256 * 1024 * 1024  # uncompressed sheet XML; about 300k rows
CHUNK = 1024 * 1024

IMPORT_FIELDS = CONFIGURABLE_FIELDS + ["credit_code", "source"]
# Labels from the model, so a field added to CONFIGURABLE_FIELDS is importable without touching this list.
FIELD_LABELS = {name: capfirst(Lead._meta.get_field(name).verbose_name) for name in IMPORT_FIELDS}

# Header names people actually use, compared after `header_key` folds case, width and punctuation.
FIELD_ALIASES = {
    "company_name": ["公司名称", "公司", "单位", "单位名称", "企业", "企业名称", "客户名称", "客户", "公司全称", "客户单位",
                     "company", "company name", "organization", "organisation", "account", "account name"],
    "contact_name": ["联系人", "姓名", "联系人姓名", "客户姓名", "名字", "name", "contact", "contact name",
                     "full name"],
    "title": ["职务", "职位", "岗位", "title", "job title", "position"],
    "mobile": ["手机", "手机号", "手机号码", "电话", "联系电话", "电话号码", "移动电话", "联系方式", "mobile",
               "phone", "mobile phone", "cell phone", "cellphone", "phone number", "tel"],
    "landline": ["座机", "座机号码", "固话", "固定电话", "办公电话", "landline", "office phone", "telephone"],
    "email": ["邮箱", "电子邮件", "电子邮箱", "邮件", "email", "e-mail", "mail", "email address"],
    "wechat": ["微信", "微信号", "wechat", "weixin", "wechat id"],
    "city": ["城市", "所在城市", "市", "city"],
    "region": ["省份", "省", "所在省份", "地区", "区域", "省份/地区", "region", "province", "state"],
    "industry": ["行业", "所属行业", "industry"],
    "company_size": ["公司规模", "企业规模", "规模", "人数", "员工人数", "company size", "size", "employees"],
    "need": ["需求", "需求描述", "客户需求", "需求说明", "备注", "need", "needs", "requirement", "requirements",
             "description"],
    "budget": ["预算", "预算金额", "预算(元)", "budget"],
    "product_interest": ["意向产品", "产品", "感兴趣的产品", "product", "product interest", "products"],
    "timeline": ["预计时间", "时间计划", "采购时间", "预计采购时间", "timeline", "expected timeline"],
    "credit_code": ["统一社会信用代码", "社会信用代码", "信用代码", "税号", "credit code", "uscc",
                    "unified social credit code"],
    "source": ["来源", "线索来源", "来源渠道", "渠道", "source", "lead source", "channel"],
}
_HEADER_NOISE = re.compile(r"[\s*:：_\-()（）\[\]【】]+|必填|required")


def header_key(text: str) -> str:
    return _HEADER_NOISE.sub("", normalize.fold_width(str(text)).lower())


_ALIAS_INDEX = {header_key(alias): name for name, aliases in FIELD_ALIASES.items() for alias in aliases}


class ImportFileError(Exception):
    """The file cannot be imported; the message says why in words a person can act on."""

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
    total_rows: int = 0


def auto_mapping(headers: list[str]) -> list[str]:
    """The lead field each column holds, by its header; "" (ignore) when unknown or already taken."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        name = _ALIAS_INDEX.get(header_key(header), "")
        if name in taken:
            name = ""
        if name:
            taken.add(name)
        mapping.append(name)
    return mapping


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


def row_data(cells: list[str], mapping: list[str]) -> dict:
    return {name: cells[i] for i, name in enumerate(mapping) if name and i < len(cells) and cells[i] != ""}


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


def inspect_file(path: Path, *, name: str) -> FileInfo:
    """Check an uploaded file and read its header and first rows; raise ImportFileError if it cannot be imported."""
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError(_("The file is empty."))
    if size > settings.CLOSELOOP_IMPORT_MAX_BYTES:
        raise ImportFileError(_("The file is larger than %(limit)s MB. Split it into smaller files.")
                              % {"limit": settings.CLOSELOOP_IMPORT_MAX_BYTES // (1024 * 1024)})
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        info = _inspect_xlsx(path)
    else:
        for magic, message in _OTHER_FORMATS:
            if head.startswith(magic):
                raise ImportFileError(message)
        if name.lower().endswith((".xlsx", ".xlsm", ".xls")):
            raise ImportFileError(_("This file is named like an Excel workbook but is not one (it may be damaged "
                                    "or renamed). Save it again as .xlsx or CSV."))
        info = _inspect_csv(path)
    if not any(info.headers):
        raise ImportFileError(_("The file has no header row. The first row must name the columns."))
    if info.total_rows == 0:
        raise ImportFileError(_("The file has a header row but no data rows."))
    if info.total_rows > settings.CLOSELOOP_IMPORT_MAX_ROWS:
        raise ImportFileError(_("The file has %(rows)s rows; at most %(limit)s can be imported at once. "
                                "Split it into smaller files.")
                              % {"rows": f"{info.total_rows:,}", "limit": f"{settings.CLOSELOOP_IMPORT_MAX_ROWS:,}"})
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
        raise ImportFileError(_BOMB)
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_EXEMPT_BYTES and member.file_size > MAX_COMPRESSION_RATIO * max(1, member.compress_size):
            raise ImportFileError(_BOMB)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ImportFileError(_BOMB)


def _small_part(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    info = archive.getinfo(name)
    if info.file_size > SMALL_PART_LIMIT:
        raise ImportFileError(_BOMB)
    return ElementTree.fromstring(archive.read(name))


def first_sheet_part(archive: zipfile.ZipFile) -> str:
    """The zip member of the workbook's first sheet (the one the import reads)."""
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        raise ImportFileError(_NOT_A_WORKBOOK)
    workbook = _small_part(archive, "xl/workbook.xml")
    sheet = next((e for e in workbook.iter() if e.tag.endswith("}sheet")), None)
    if sheet is None:
        raise ImportFileError(_("The workbook has no sheets."))
    target = "xl/worksheets/sheet1.xml"
    if "xl/_rels/workbook.xml.rels" in names:
        rels = _small_part(archive, "xl/_rels/workbook.xml.rels")
        for rel in rels:
            if rel.get("Id") == sheet.get(_REL_NS):
                target = rel.get("Target", target).lstrip("/")
                target = target if target.startswith("xl/") else "xl/" + target
    if target not in names:
        raise ImportFileError(_("The first sheet of the workbook is missing or is a chart; put the data on the "
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


def _inspect_xlsx(path: Path) -> FileInfo:
    try:
        with zipfile.ZipFile(path) as archive:
            _check_zip_directory(archive)
            part = first_sheet_part(archive)
            row_elements = _count_sheet_rows(archive, part)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ElementTree.ParseError, KeyError, OSError):
        raise ImportFileError(_BROKEN_XLSX) from None
    info = FileInfo(kind="xlsx")
    if row_elements - 1 > settings.CLOSELOOP_IMPORT_MAX_ROWS:
        # Refuse before any parser builds rows in memory.
        info.headers, info.total_rows = ["?"], row_elements - 1
        return info
    try:
        _read_sample(info, _openpyxl_rows(path))
    except ImportFileError:
        raise
    except Exception:  # openpyxl raises many kinds of errors on damaged parts
        raise ImportFileError(_BROKEN_XLSX) from None
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
            continue
        if any(cells):
            info.sample_rows.append([number, _trim(cells)])
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
    """utf-8-sig, utf-8 or gb18030 (a superset of GBK and GB2312); anything else is refused."""
    with path.open("rb") as handle:
        start = handle.read(4)
    if start.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        if _decodes(path, encoding):
            if encoding == "gb18030" and not _looks_chinese(path):
                break
            return encoding
    raise ImportFileError(_UNKNOWN_ENCODING)


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                if b"\x00" in block and not encoding.startswith("utf-16"):
                    raise ImportFileError(_("This is a binary file, not a CSV or Excel spreadsheet."))
                decoder.decode(block)
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
            raise ImportFileError(_("The CSV file is malformed near line %(line)d: %(problem)s")
                                  % {"line": reader.line_num, "problem": exc}) from None


def _inspect_csv(path: Path) -> FileInfo:
    encoding = detect_encoding(path)
    info = FileInfo(kind="csv", encoding=encoding)
    rows = _csv_rows(path, encoding)
    _read_sample(info, rows)
    # Count the remaining records with the real parser (quoted line breaks do not start new rows).
    seen = info.header_row + (info.sample_rows[-1][0] - info.header_row if info.sample_rows else 0)
    for _row in rows:
        seen += 1
        if seen - info.header_row > settings.CLOSELOOP_IMPORT_MAX_ROWS:
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
        raise ImportFileError(_BROKEN_XLSX) from None
    # calamine is ~10× faster but holds the whole sheet in memory (about 1.2 GB for a million rows);
    # very large sheets are streamed instead so the worker stays within its memory budget.
    yield from (_streamed_rows(path) if sheet_bytes > STREAM_ABOVE_BYTES else _calamine_rows(path))


def _calamine_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from python_calamine import CalamineWorkbook

    try:
        with zipfile.ZipFile(path) as archive:
            _check_zip_directory(archive)
        book = CalamineWorkbook.from_path(str(path))
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError(_BROKEN_XLSX) from None
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
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError(_BROKEN_XLSX) from None
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
    except ImportFileError:
        raise
    except (zipfile.BadZipFile, ElementTree.ParseError, EOFError, KeyError, IndexError, ValueError, OSError):
        raise ImportFileError(_BROKEN_XLSX) from None


def report_rows(headers: list[str], refusals) -> Iterator[list[str]]:
    """The refused-rows report: row number, the original columns, the reason."""
    yield [_("Row"), *headers, _("Reason")]
    for refusal in refusals:
        yield [str(refusal.row_number), *refusal.cells, reason_text(refusal.errors)]


def reason_text(errors: dict) -> str:
    parts = []
    for name, messages in errors.items():
        label = FIELD_LABELS.get(name)
        text = " ".join(messages)
        parts.append(f"{label}: {text}" if label else text)
    return "; ".join(parts)

