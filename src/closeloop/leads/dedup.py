"""Duplicate detection: on intake (`check_intake`, against the database) and offline (`cluster_rows`).

Both use the rules in `matching.py`. `check_intake` is called by `lead_submit` inside its
transaction, before the lead is saved.
"""

from dataclasses import dataclass, field

from .matching import Entry, Match, cluster_entries, make_entry

# Column names people give these fields in spreadsheets, Chinese and English, compared lower-case.
HEADER_ALIASES = {
    "company_name": ["company_name", "company", "company name", "公司", "公司名称", "单位", "单位名称", "企业名称", "客户名称", "客户"],
    "contact_name": ["contact_name", "contact", "name", "contact name", "联系人", "姓名", "联系人姓名", "客户姓名"],
    "mobile": ["mobile", "phone", "mobile phone", "cell", "手机", "手机号", "手机号码", "电话", "联系电话", "联系方式"],
    "landline": ["landline", "tel", "telephone", "office phone", "座机", "固话", "固定电话", "办公电话"],
    "email": ["email", "e-mail", "mail", "邮箱", "电子邮箱", "电子邮件", "邮件"],
    "city": ["city", "城市", "所在城市", "地区", "所在地"],
    "credit_code": ["credit_code", "credit code", "uscc", "统一社会信用代码", "信用代码", "社会信用代码", "税号"],
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}


def map_headers(headers: list[str]) -> dict[str, str]:
    """{field: header} for the headers this engine understands; the first matching column wins."""
    found: dict[str, str] = {}
    for header in headers:
        name = _ALIAS_TO_FIELD.get(str(header).strip().lower())
        if name and name not in found:
            found[name] = header
    return found


def entry_for_row(ref, row: dict, columns: dict[str, str] | None = None) -> Entry:
    columns = columns or {name: name for name in HEADER_ALIASES}
    return make_entry(ref, **{name: str(row.get(header) or "") for name, header in columns.items()})


def cluster_rows(rows: list[dict], columns: dict[str, str] | None = None) -> list[tuple[int, int]]:
    """(lead_cluster, company_cluster) for each row, numbered from 1 in order of first appearance.

    Rows use the field names of `HEADER_ALIASES` unless `columns` maps fields to other keys. Rows
    naming the same person at the same company share a lead cluster; rows naming the same legal
    company share a company cluster. The import step calls this to merge duplicates inside a file.
    """
    entries = [entry_for_row(i, row, columns) for i, row in enumerate(rows)]
    roots = cluster_entries(entries)
    people: dict[int, int] = {}
    companies: dict[int, int] = {}
    return [
        (people.setdefault(person, len(people) + 1), companies.setdefault(company, len(companies) + 1))
        for person, company in roots
    ]


@dataclass
class DuplicateDecision:
    """What intake should do with a submission that matches existing records."""

    matches: list = field(default_factory=list)  # existing leads/customers, best first, each with its reasons
    action: str = "create"  # "create", "create_flagged", "attach" (touch on existing) or "refuse"
    existing: object = None  # the record a touch attaches to


def check_intake(*, lead, channel: str, actor) -> DuplicateDecision:
    return DuplicateDecision()


__all__ = ["DuplicateDecision", "Match", "check_intake", "cluster_rows", "map_headers"]
