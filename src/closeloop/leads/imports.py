"""Excel/CSV import: which field each column holds, and the refused-rows report, for every import kind.

Checking and reading the file is core's spreadsheet reader (core/spreadsheets.py), the same for every
import; this module maps its headers to a kind's fields (by the names people actually use) and its cells
to the values the kind's service takes. Leads are one kind (`LEADS`, below); a higher app adds its own
through the `import_kinds()` hook (quotes: products) and gets the same pages, job, preview and report.
"""

import re
from collections.abc import Iterator

from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from closeloop.core.customfields import registry
from closeloop.core.hooks import ImportKind, collect

# The file checks and reader, under the names the import job uses.
from closeloop.core.spreadsheets import (  # noqa: F401
    FileInfo,
    cell_text,
    check_upload,
    inspect_file,
    iter_file_rows,
    workbook_export,
)
from closeloop.core.spreadsheets import SpreadsheetError as ImportFileError  # noqa: F401

from . import normalize
from .models import CONFIGURABLE_FIELDS, Lead
from .services.intake import LEAD_TARGET

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


LEADS = "leads"
CUSTOM_PREFIX = registry.ERROR_PREFIX


def import_kinds() -> dict[str, ImportKind]:
    """Every app's import kinds by key, leads' first."""
    return {kind.key: kind for kind in collect("import_kinds")}


def import_kind(key: str) -> ImportKind:
    return import_kinds()[key]


def _alias_index(kind: ImportKind) -> dict[str, str]:
    index = {header_key(alias): name for name, aliases in kind.aliases.items() for alias in aliases}
    # Custom fields are recognised by their labels and key (auto-mapped as their label reads in the sheet).
    for name in kind.fields():
        if name.startswith(CUSTOM_PREFIX) and (field := registry.definition(LEAD_TARGET, name[len(CUSTOM_PREFIX):])):
            for alias in (field.key, field.label_en, field.label_zh):
                if alias:
                    index.setdefault(header_key(alias), name)
    return index


def lead_fields() -> dict:
    """The leads kind's importable fields and labels: the built-in ones, then the custom fields."""
    return {**FIELD_LABELS, **{registry.error_key(field): field.label for field in registry.definitions(LEAD_TARGET)}}


def template_workbook(kind: ImportKind) -> bytes:
    """An empty sheet to fill in: one column per importable field, headed by the name people use for it (which
    `auto_mapping` recognises), a required field's marked with "*" (which it ignores)."""
    with workbook_export() as export:
        sheet = export.book.add_worksheet(str(kind.label)[:31])
        for column, (name, label) in enumerate(kind.fields().items()):
            header = kind.aliases[name][0] if kind.aliases.get(name) else str(label)
            sheet.write(0, column, f"{header}*" if name in kind.required else header, export.bold)
            sheet.set_column(column, column, max(12, 2 * len(header) + 4))
        sheet.freeze_panes(1, 0)
    return export.content


def auto_mapping(headers: list[str], kind: ImportKind | None = None) -> list[str]:
    """The field each column holds, by its header; "" (ignore) when unknown or already taken."""
    index = _alias_index(kind or import_kind(LEADS))
    taken: set[str] = set()
    mapping = []
    for header in headers:
        name = index.get(header_key(header), "")
        if name in taken:
            name = ""
        if name:
            taken.add(name)
        mapping.append(name)
    return mapping


def row_data(cells: list[str], mapping: list[str]) -> dict:
    """A row's cells by field; custom fields' under `custom`, by key, as the services take them."""
    data = {name: cells[i] for i, name in enumerate(mapping) if name and i < len(cells) and cells[i] != ""}
    if custom := {name[len(CUSTOM_PREFIX):]: data.pop(name) for name in list(data) if name.startswith(CUSTOM_PREFIX)}:
        data["custom"] = custom
    return data


def report_rows(headers: list[str], refusals, labels: dict | None = None) -> Iterator[list[str]]:
    """The refused-rows report: row number, the original columns, the reason."""
    yield [_("Row"), *headers, _("Reason")]
    for refusal in refusals:
        yield [str(refusal.row_number), *refusal.cells, reason_text(refusal.errors, labels)]


def reason_text(errors: dict, labels: dict | None = None) -> str:
    """Field errors as one line: "Contact: This field is required." (labels default to the lead fields')."""
    labels = FIELD_LABELS if labels is None else labels
    parts = []
    for name, messages in errors.items():
        label = labels.get(name)
        text = " ".join(messages)
        parts.append(_("%(field)s: %(errors)s") % {"field": label, "errors": text} if label else text)
    return pgettext("between a row's errors", "; ").join(parts)

