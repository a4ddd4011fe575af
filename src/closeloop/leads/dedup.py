"""Duplicate detection: on intake (`check_intake`, against the database) and offline (`cluster_rows`).

Both use the rules in `matching.py`. `lead_submit` calls `check_intake` before its write transaction
and `confirm_in_transaction` inside it, before the lead is saved.
"""

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.translation import gettext_lazy as _
from rapidfuzz.distance import Levenshtein

from closeloop.core import configcache, fastsql

from . import normalize
from .matching import Entry, Match, cluster_entries, company_fields, compare, make_entry

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


_ROW_FIELDS = ("company_name", "contact_name", "mobile", "landline", "email", "city", "credit_code")


def entry_for_row(ref, row: dict, columns: dict | None = None) -> Entry:
    columns = columns or {name: name for name in HEADER_ALIASES}
    get = row.get
    return make_entry(ref, *[str(get(columns[name]) or "") if name in columns else "" for name in _ROW_FIELDS])


# Below this many rows a second process costs more than it saves.
PARALLEL_FROM = 20_000
_shared_rows: tuple = ()


def _entry_chunk(bounds: tuple[int, int]) -> list[Entry]:
    rows, columns = _shared_rows
    return [entry_for_row(i, rows[i], columns) for i in range(*bounds)]


def _entries(rows: list, columns: dict | None) -> list[Entry]:
    """Normalize every row; on a large file in two processes (normalizing is most of the work, and pure).

    The rows reach the worker by fork, not by pickling; only the entries come back.
    """
    import multiprocessing
    import os

    global _shared_rows
    if len(rows) < PARALLEL_FROM or (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [entry_for_row(i, row, columns) for i, row in enumerate(rows)]
    middle = len(rows) // 2
    _shared_rows = (rows, columns)
    try:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            second = pool.apply_async(_entry_chunk, ((middle, len(rows)),))
            first = _entry_chunk((0, middle))
            return first + second.get()
    finally:
        _shared_rows = ()


def cluster_rows(rows: list[dict], columns: dict[str, str] | None = None) -> list[tuple[int, int]]:
    """(lead_cluster, company_cluster) for each row, numbered from 1 in order of first appearance.

    Rows use the field names of `HEADER_ALIASES` unless `columns` maps fields to other keys. Rows
    naming the same person at the same company share a lead cluster; rows naming the same legal
    company share a company cluster. The import step calls this to merge duplicates inside a file.
    """
    entries = _entries(rows, columns)
    roots = cluster_entries(entries)
    people: dict[int, int] = {}
    companies: dict[int, int] = {}
    return [
        (people.setdefault(person, len(people) + 1), companies.setdefault(company, len(companies) + 1))
        for person, company in roots
    ]


# Reasons as people read them next to a match.
REASON_LABELS = {
    "credit_code": _("same unified social credit code"),
    "mobile": _("same mobile"),
    "email": _("same email"),
    "landline": _("same landline"),
    "company_name": _("same company name"),
    "brand": _("same brand, compatible name"),
    "similar_name": _("company name differs by one character"),
    "short_name": _("company name written short"),
    "email_domain": _("same company email domain"),
    "contact_name": _("same contact name"),
    "contact_surname": _("title matches the contact's surname"),
}


@dataclass
class LeadMatch:
    """An existing lead that looks like a submission, with the reasons."""

    lead: object
    match: Match

    @property
    def same_person(self) -> bool:
        return self.match.same_person

    @property
    def reasons(self) -> list[str]:
        return self.match.reasons

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASON_LABELS.get(r, r)) for r in self.match.reasons]

    @property
    def similarity(self) -> int:
        return round(self.match.similarity)

    def as_dict(self) -> dict:
        return {"lead_id": self.lead.pk, "same_person": self.same_person, "reasons": self.reasons,
                "similarity": self.similarity, "owner": self.lead.owner.username if self.lead.owner_id else None}


@dataclass
class DuplicateDecision:
    """What intake should do with a submission that matches existing records."""

    matches: list = field(default_factory=list)  # LeadMatch, best first, each with its reasons
    action: str = "create"  # "create", "create_flagged", "attach" (touch on existing) or "refuse"
    existing: object = None  # the record a touch attaches to (or a flagged lead points at)
    matched_ids: frozenset = frozenset()  # every lead found, loaded or not


# Candidates fetched per exact contact key; a key shared by more leads than this tells nothing apart.
PER_KEY = 50
# Per company name or brand: enough to show who follows the company; a person among them is found by
# their mobile or email lookups, which have their own quota.
PER_NAME = 20
# Per typo block (brand head or tail): a sample, since a block is every brand starting alike.
PER_BLOCK = 10


# `Lead.match_key` holds what the engine compares of a stored lead beyond its indexed keys (company name
# parts, the person's name, the extension, whether the credit code checks out), written by intake with the
# keys, so a lead found as a candidate needs no normalizing: building those fields was most of an import's
# comparison time (~90 µs per candidate, and an import row meets ~9 candidates it has not met before).
# The version comes first: change it whenever the normalizing of any stored field changes, and values of
# an older version are computed afresh (as before) until `refresh_match_keys` rewrites them.
MATCH_KEY_VERSION = "1"
_SEP = "\x1f"  # the unit separator: never in a normalized name (control characters are cleaned away)
_MATCH_KEY_PREFIX = MATCH_KEY_VERSION + _SEP
_MATCH_KEY_PARTS = 14


def match_key(company_name, contact_name, mobile_key, landline_key, email_key, city, credit_code, landline="") -> str:
    """`Lead.match_key` for a lead with these stored values: the fields `_entry` reads back without work."""
    e = _computed_entry(None, company_name, contact_name, mobile_key, landline_key, email_key, city, credit_code,
                        landline)
    parts = (MATCH_KEY_VERSION, e.code, e.ckey, e.bkey, e.industry, e.mark, e.region, e.city, e.mobile,
             e.landline, e.extension, e.domain, e.name, "1" if e.is_title else "")
    # A separator inside a value would shift the parts: such a lead is compared the slow way instead.
    return "" if any(_SEP in part for part in parts) else _SEP.join(parts)


def _entry(pk, company_name, contact_name, mobile_key, landline_key, email_key, city, credit_code, landline="",
           stored="") -> Entry:
    """An engine entry from a lead's stored keys (what intake wrote): read from `stored` (its `match_key`)
    when that is of this version, otherwise normalized here."""
    if stored.startswith(_MATCH_KEY_PREFIX):
        parts = stored.split(_SEP)
        if len(parts) == _MATCH_KEY_PARTS:
            _version, code, ckey, bkey, industry, mark, region, city, mobile, landline, extension, domain, name, \
                is_title = parts
            return Entry(ref=pk, code=code, ckey=ckey, bkey=bkey, industry=industry, mark=mark, region=region,
                         city=city, mobile=mobile, landline=landline, extension=extension, email=email_key or "",
                         domain=domain, name=name, is_title=is_title == "1")
    return _computed_entry(pk, company_name, contact_name, mobile_key, landline_key, email_key, city, credit_code,
                           landline)


@lru_cache(maxsize=50_000)
def _computed_entry(pk, company_name, contact_name, mobile_key, landline_key, email_key, city, credit_code,
                    landline="") -> Entry:
    """`_entry` the long way: normalizing the stored values, without re-normalizing phones.

    Cached on the row's values: leads written before `match_key` existed (or under another version) come
    back row after row from the same popular name blocks.
    """
    region, ckey, bkey, industry, mark = company_fields(company_name)
    name, is_title = normalize.person_name(contact_name) if contact_name else ("", False)
    code = credit_code or ""
    # A landline typed into the mobile field is a landline to the engine.
    if mobile_key and not landline_key and not normalize.is_mobile(mobile_key):
        mobile_key, landline_key, landline = "", mobile_key, ""
    return Entry(
        ref=pk, code=code if code and normalize.credit_code_valid(code) else "", ckey=ckey, bkey=bkey,
        industry=industry, mark=mark, region=region,
        city=normalize.city_name(city) if city else "", mobile=mobile_key or "", landline=landline_key or "",
        extension=normalize.phone_parts(landline)[1] if landline and landline_key else "",
        email=email_key or "", domain=normalize.email_domain(email_key) if email_key else "", name=name,
        is_title=is_title,
    )


def entry_for_lead(lead) -> Entry:
    return _entry(lead.pk, lead.company_name, lead.contact_name, lead.mobile_key, lead.landline_key, lead.email_key,
                  lead.city, lead.credit_code, lead.landline, lead.match_key)


def match_key_for(values: dict) -> str:
    """`match_key` of a lead's cleaned values (what `clean_submission` returns)."""
    return match_key(values.get("company_name", ""), values.get("contact_name", ""), values.get("mobile_key", ""),
                     values.get("landline_key", ""), values.get("email_key", ""), values.get("city", ""),
                     values.get("credit_code", ""), values.get("landline", ""))


_MATCH_KEY_SOURCES = ("company_name", "contact_name", "mobile_key", "landline_key", "email_key", "city", "credit_code",
                      "landline")


def refresh_match_keys(*, batch: int = 2000, limit: int | None = None) -> int:
    """Write `match_key` on leads that have none or one of an older version; returns how many were written.

    Leads written before the column existed, or before `MATCH_KEY_VERSION` changed, are matched correctly
    without it (computed when read), only slower. Like the keys beside it this is derived data, not a change
    anyone made, so it is written without an audit entry, and only where the values it was computed from
    are still the ones stored (an edit in between wins; the next run picks the lead up again).
    """
    from django.db import connection, transaction

    from .models import Lead

    table = connection.ops.quote_name(Lead._meta.db_table)
    guards = " AND ".join(f"{connection.ops.quote_name(name)} = %s" for name in _MATCH_KEY_SOURCES)
    update = f"UPDATE {table} SET match_key = %s WHERE id = %s AND {guards}"  # noqa: S608 - names from the model
    written, last = 0, 0
    while limit is None or written < limit:
        size = batch if limit is None else min(batch, limit - written)
        rows = list(Lead.objects.filter(pk__gt=last).exclude(match_key__startswith=_MATCH_KEY_PREFIX)
                    .order_by("pk").values_list("pk", *_MATCH_KEY_SOURCES)[:size])
        if not rows:
            break
        last = rows[-1][0]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(update, [(match_key(*row[1:]), *row) for row in rows])
        written += len(rows)
    return written


_CANDIDATE_COLUMNS = ("id", "company_name", "contact_name", "mobile_key", "landline_key", "email_key", "city",
                      "credit_code", "merged_into_id", "company_key", "brand_key", "landline", "match_key")


def _lookups(entry: Entry) -> list[tuple[str, str, int]]:
    """(column, value, cap) for every key and block the entry has."""
    lookups = [(column, value, PER_KEY) for column, value in (
        ("credit_code", entry.code), ("mobile_key", entry.mobile), ("email_key", entry.email),
        ("landline_key", entry.landline),
    ) if value]
    if entry.ckey:
        lookups.append(("company_key", entry.ckey, PER_NAME))
    if entry.bkey and entry.bkey != entry.ckey:
        lookups.append(("brand_key", entry.bkey, PER_NAME))
    if len(entry.bkey) >= 3:
        lookups += [("brand_head", entry.bkey[:2], PER_BLOCK), ("brand_tail", entry.bkey[-2:], PER_BLOCK)]
    return lookups


def _candidates(lookups: list[tuple[str, str, int]]) -> list[tuple]:
    """Leads sharing an exact key or a name block, in one round trip: a UNION of small indexed lookups,
    each capped, so a key shared by thousands of leads costs no more than one shared by two."""
    from django.db import connection

    from .models import Lead

    table = connection.ops.quote_name(Lead._meta.db_table)
    columns = ", ".join(_CANDIDATE_COLUMNS)
    # Column names come from fixed lists, never from input; values are parameters. The
    # `NOT (column = '')` repeats the partial indexes' condition: SQLite uses a partial index only
    # when the query states its condition, and would otherwise scan the whole table.
    parts = [f"SELECT * FROM (SELECT {columns} FROM {table} WHERE {column} = %s AND NOT ({column} = '') "  # noqa: S608
             f"LIMIT {cap}) AS k{n}" for n, (column, _value, cap) in enumerate(lookups)]
    if not parts:
        return []
    return fastsql.fetch_all(" UNION ".join(parts), [value for _column, value, _cap in lookups])


def _worth_comparing(entry: Entry, row: tuple) -> bool:
    """A cheap first look from the stored keys: most of a name block is other brands entirely."""
    _pk, _name, _contact, mobile, landline, email, _city, code, _merged, company_key, brand_key, _raw_landline, \
        _match_key = row
    if (entry.mobile and entry.mobile == mobile) or (entry.email and entry.email == email) or (
        entry.code and entry.code == code) or (entry.landline and entry.landline == landline):
        return True
    if not entry.ckey or not company_key:
        return False
    if company_key == entry.ckey or brand_key == entry.bkey:
        return True
    return len(entry.bkey) >= 3 and Levenshtein.distance(entry.bkey, brand_key, score_cutoff=1) <= 1


def _verdicts(entry: Entry, *, exclude_pk=None) -> dict[int, Match]:
    """{lead id: best match} for the stored leads that name the same person or company as `entry`."""
    return _decide(entry, _candidates(_lookups(entry)), exclude_pk=exclude_pk)


def _decide(entry: Entry, candidates: list[tuple], *, exclude_pk=None, entries: dict | None = None
            ) -> dict[int, Match]:
    """`_verdicts` on candidate rows (`_CANDIDATE_COLUMNS`) already read. `entries` keeps the candidates'
    engine entries by id for the next call (an import chunk meets each popular lead dozens of times)."""
    rows = [row for row in candidates if row[0] != exclude_pk and _worth_comparing(entry, row)]
    best: dict[int, Match] = {}
    for row in rows:
        if entries is None:
            stored = _entry(*row[:8], row[11], row[12])
        elif (stored := entries.get(row[0])) is None:
            stored = entries[row[0]] = _entry(*row[:8], row[11], row[12])
        verdict = compare(entry, stored) or _same_contact_elsewhere(entry, stored)
        if verdict is None:
            continue
        # A merged lead answers with its survivor (lead_merge keeps every chain one hop long).
        target = row[8] or row[0]
        if target == exclude_pk:
            continue
        current = best.get(target)
        if current is None or _rank(verdict) > _rank(current):
            best[target] = verdict
    return best


def _same_contact_elsewhere(new: Entry, old: Entry) -> Match | None:
    """The same mobile or email on a lead at a company the engine does not call the same.

    Not the same person by the engine's rules (a number passed on, a rep who changed jobs), so the
    offline clustering keeps them apart; but at intake it is exactly how two reps end up chasing
    one person, so the submission is flagged and both sides see it.
    """
    same_mobile = bool(new.mobile) and new.mobile == old.mobile
    same_email = bool(new.email) and new.email == old.email
    if not (same_mobile or same_email) or (new.code and old.code and new.code != old.code):
        return None
    keys = ["mobile"] * same_mobile + ["email"] * same_email
    return Match(ref=old.ref, same_person=False, same_company=False, reasons=keys)


def find_matches(entry: Entry, *, exclude_pk=None, limit: int = 10) -> list[LeadMatch]:
    """Existing leads that name the same person or the same company as `entry`, best first.

    Merged leads answer with the lead they were merged into. No visibility filter: a duplicate is a
    duplicate whoever owns it; callers decide what the user may see of it.
    """
    from .models import Lead

    best = _verdicts(entry, exclude_pk=exclude_pk)
    if not best:
        return []
    top = sorted(best.items(), key=lambda item: (_rank(item[1]), -item[0]), reverse=True)[:limit]
    leads = Lead.objects.select_related("owner").in_bulk([pk for pk, _match in top])
    return [LeadMatch(lead=leads[pk], match=match) for pk, match in top if pk in leads]


def best_verdict(verdicts: dict[int, Match]) -> tuple[int, Match]:
    """(lead id, match) that decides: a person ranks above a company, then more reasons, then the older lead."""
    return max(verdicts.items(), key=lambda item: (_rank(item[1]), -item[0]))


def verdicts_for(lead) -> dict[int, Match]:
    """The matches `check_intake` decides on, without loading any lead: for an import, where most
    rows repeat nothing and a flagged row needs only the id and owner of the lead it points at."""
    return _verdicts(entry_for_lead(lead), exclude_pk=lead.pk)


class ChunkSearch:
    """`verdicts_for` over the rows of an import chunk, with each key and name block read once.

    Row by row, each check is one query of ~6 capped lookups, and a chunk's rows share most name blocks
    (a two-character brand head recurs hundreds of times in 2,000 rows). Here `prefetch` reads every
    lookup the rows need that is not read yet, a few hundred per statement, each the same capped
    subquery the row's own check runs (so it returns the very rows that check would), and `verdicts`
    compares a row with them in memory.

    Each read is in two steps: the lookups' ids from their indexes alone, then the rows of the ids not read
    yet, once each (a chunk's lookups return every popular lead dozens of times, and reading a lead's row
    costs three times finding its id).

    Rows of the chunk not yet written are invisible to those reads. `wait(lead)` notes such a row;
    `needs_writing(entry)` says when one of them shares a key or block with `entry` and would be a
    match for it, so the caller writes them first, as submitting the rows one by one would have; then
    `written()` forgets the reads that writing them made stale.
    """

    # Subqueries per statement: SQLite allows 500 terms in a compound SELECT.
    PER_STATEMENT = 400

    # Ids per statement of the second step, well under every backend's limit on parameters.
    ROWS_PER_STATEMENT = 500

    # Candidate rows kept from one chunk to the next at most: past it the next chunk reads afresh (memory).
    KEEP_ROWS = 100_000

    def __init__(self):
        self._found: dict[tuple[str, str], list[int]] = {}  # (column, value) → candidate ids
        self._rows: dict[int, tuple] = {}  # id → candidate row (`_CANDIDATE_COLUMNS`)
        self._owners: dict[int, int | None] = {}  # id → owner id, read with the row
        self._entries: dict[int, Entry] = {}  # id → the engine's entry of the row, once compared
        self._waiting: dict[tuple[str, str], list[tuple]] = {}  # (column, value) → unwritten rows as candidates
        self._waiting_count = 0
        self._waiting_leads: list = []
        self._version: int | None = None  # the database's data version when the last chunk ended
        self._dropped = False  # reads were forgotten since `dropped_reads()` was last asked

    def chunk_started(self) -> None:
        """A chunk's transaction has begun: keep what the chunks before read only if nobody else wrote since.

        A chunk's reads hold for the next one as long as only this import wrote in between (its own rows are
        accounted for by `written` and `forget`). On SQLite, `PRAGMA data_version` says whether any other
        connection committed since the last chunk ended (any table: a cheap, over-cautious test); PostgreSQL
        has no such mark, so there every chunk reads afresh."""
        version = _data_version()
        if version is None or version != self._version or len(self._rows) > self.KEEP_ROWS:
            self.forget()

    def chunk_ended(self) -> None:
        """Inside the chunk's transaction, after its last write: the mark `chunk_started` compares with."""
        self._version = _data_version()

    def prefetch(self, entries) -> None:
        missing = list(dict.fromkeys(lookup for entry in entries for lookup in _lookups(entry)
                                     if lookup[:2] not in self._found))
        unread: dict[int, None] = {}
        for start in range(0, len(missing), self.PER_STATEMENT):
            part = missing[start:start + self.PER_STATEMENT]
            for column, value, _cap in part:
                self._found[column, value] = []
            for position, pk in _candidate_ids_tagged(part):
                column, value, _cap = part[position]
                self._found[column, value].append(pk)
                if pk not in self._rows:
                    unread[pk] = None
        unread_ids = list(unread)
        for start in range(0, len(unread_ids), self.ROWS_PER_STATEMENT):
            for row in _candidate_rows(unread_ids[start:start + self.ROWS_PER_STATEMENT]):
                self._rows[row[0]] = row[:-1]
                self._owners[row[0]] = row[-1]

    def owner_of(self, pk: int) -> tuple[bool, int | None]:
        """(found, owner id) of a lead read as a candidate in this chunk; (False, None) for any other lead.
        Within a chunk's transaction only new leads are written, so what was read still holds."""
        if pk in self._owners:
            return True, self._owners[pk]
        return False, None

    def verdicts(self, entry: Entry, *, exclude_pk=None) -> dict[int, Match]:
        lookups = _lookups(entry)
        missing = [lookup for lookup in lookups if lookup[:2] not in self._found]
        if missing:
            self.prefetch([entry])
        # The UNION of the row's own query: each lead once, in id order.
        found = self._rows
        pks = sorted({pk for column, value, _cap in lookups for pk in self._found[column, value]})
        return _decide(entry, [found[pk] for pk in pks], exclude_pk=exclude_pk, entries=self._entries)

    def wait(self, lead) -> None:
        """Note a row of the chunk that is not written yet (its lead, unsaved, with its keys)."""
        self._waiting_count += 1
        self._waiting_leads.append(lead)
        row = (-self._waiting_count, lead.company_name, lead.contact_name, lead.mobile_key, lead.landline_key,
               lead.email_key, lead.city, lead.credit_code, None, lead.company_key, lead.brand_key, lead.landline,
               lead.match_key)
        for column in _LOOKUP_COLUMNS:
            if value := getattr(lead, column):
                self._waiting.setdefault((column, value), []).append(row)

    def needs_writing(self, entry: Entry) -> bool:
        """Whether a row noted by `wait` would be one of `entry`'s matches once written."""
        if not self._waiting:
            return False
        rows = {row[0]: row for column, value, _cap in _lookups(entry)
                for row in self._waiting.get((column, value), ())}
        return bool(rows) and bool(_decide(entry, list(rows.values())))

    def dropped_reads(self) -> bool:
        """Whether reads were forgotten (`written` elsewhere than SQLite, `forget`) since last asked: the caller
        then prefetches its remaining rows again in bulk; otherwise every lookup they need is still read (a
        lookup missed is read by `verdicts` itself)."""
        dropped, self._dropped = self._dropped, False
        return dropped

    def written(self) -> None:
        """The noted rows are in the table now: bring the reads they change up to date, and forget the rows.

        On SQLite a capped lookup returns the first leads of its index entry, and equal keys are in id order:
        a lead written now (a higher id than any before it) joins a lookup that was not full, and leaves a full
        one as it was. So each read is extended with the new leads (their rows known without a read) instead of
        read again. Elsewhere the order is not promised, and the reads the rows change are forgotten."""
        if _capped_in_id_order():
            for lead in self._waiting_leads:
                if lead.pk is None:  # not written by this batch (a row routed through `lead_submit`)
                    continue
                self._rows[lead.pk] = (lead.pk, lead.company_name, lead.contact_name, lead.mobile_key,
                                       lead.landline_key, lead.email_key, lead.city, lead.credit_code, None,
                                       lead.company_key, lead.brand_key, lead.landline, lead.match_key)
                self._owners[lead.pk] = lead.owner_id
                for column in _LOOKUP_COLUMNS:
                    value = getattr(lead, column)
                    found = self._found.get((column, value)) if value else None
                    if found is not None and len(found) < _CAPS[column]:
                        found.append(lead.pk)
        else:
            for lookup in self._waiting:
                if self._found.pop(lookup, None) is not None:
                    self._dropped = True
        self._waiting.clear()
        self._waiting_leads.clear()

    def forget(self) -> None:
        """Something else wrote leads (a row through `lead_submit`): read everything again."""
        self._dropped = self._dropped or bool(self._found)
        self._found.clear()
        self._rows.clear()
        self._owners.clear()
        self._entries.clear()


def _capped_in_id_order() -> bool:
    from django.db import connection

    return connection.vendor == "sqlite"


def _data_version() -> int | None:
    """SQLite's `data_version` of this connection (it changes when another connection commits), or None."""
    from django.db import connection

    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA data_version")
        return cursor.fetchone()[0]


_LOOKUP_COLUMNS = ("credit_code", "mobile_key", "email_key", "landline_key", "company_key", "brand_key",
                   "brand_head", "brand_tail")
_CAPS = {"credit_code": PER_KEY, "mobile_key": PER_KEY, "email_key": PER_KEY, "landline_key": PER_KEY,
         "company_key": PER_NAME, "brand_key": PER_NAME, "brand_head": PER_BLOCK, "brand_tail": PER_BLOCK}


def _candidate_ids_tagged(lookups: list[tuple[str, str, int]]) -> list[tuple]:
    """(lookup's index, id) for the leads each lookup finds, in one statement: the same capped subquery
    `_candidates` runs per lookup (so the same leads), reading only its index (UNION ALL: a lead found by two
    lookups comes back for each)."""
    from django.db import connection

    from .models import Lead

    table = connection.ops.quote_name(Lead._meta.db_table)
    # As in `_candidates`: column names from fixed lists, values as parameters, the partial indexes'
    # condition repeated; the tag is the lookup's position, a number this code makes.
    parts = [f"SELECT * FROM (SELECT {n} AS lookup, id FROM {table} WHERE {column} = %s "  # noqa: S608
             f"AND NOT ({column} = '') LIMIT {cap}) AS k{n}" for n, (column, _value, cap) in enumerate(lookups)]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), [value for _column, value, _cap in lookups])
        return cursor.fetchall()


def _candidate_rows(pks: list[int]) -> list[tuple]:
    """The candidate rows (`_CANDIDATE_COLUMNS`, then the owner id) of these leads."""
    from django.db import connection

    from .models import Lead

    table = connection.ops.quote_name(Lead._meta.db_table)
    columns = ", ".join((*_CANDIDATE_COLUMNS, "owner_id"))
    placeholders = ", ".join(["%s"] * len(pks))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id IN ({placeholders})", pks)  # noqa: S608
        return cursor.fetchall()


def _rank(match: Match) -> tuple:
    return (match.same_person, match.same_company, len(match.reasons), match.similarity)


def check_intake(*, lead, channel: str, actor) -> DuplicateDecision:
    """Whether a submission repeats a lead on record, and what the channel's policy says to do.

    Same person at the same company: the channel's `duplicate_action` (attach as a touch by default).
    Same company, another person: create the lead, flagged, so the company's owner hears of it.
    """
    from .models import ChannelPolicy, DuplicateAction
    from .services import intake_fast

    best = _verdicts(entry_for_lead(lead), exclude_pk=lead.pk)
    if not best:
        return DuplicateDecision()
    # The best match decides (a person ranks above a company), and only that lead is loaded: with a
    # million leads, loading every match with its owner cost more than finding them.
    pk, match = best_verdict(best)
    # Unordered and sliced: ordering a one-row primary-key lookup cost the ORM a fifth of the check.
    existing = intake_fast.lead_with_owner(pk)
    if existing is None:  # deleted since it was found
        return DuplicateDecision()
    matches = [LeadMatch(lead=existing, match=match)]
    if match.same_person:
        policy = configcache.cached(
            f"leads.duplicate_action.{channel}",
            lambda: ChannelPolicy.objects.filter(channel=channel).values_list("duplicate_action", flat=True).first(),
            models=(ChannelPolicy,),
        )
        action = policy or DuplicateAction.ATTACH
        return DuplicateDecision(matches=matches, action=str(action), existing=existing, matched_ids=frozenset(best))
    return DuplicateDecision(matches=matches, action="create_flagged", existing=existing, matched_ids=frozenset(best))


_EXACT_COLUMNS = ("credit_code", "mobile_key", "email_key", "landline_key")


def confirm_in_transaction(*, lead, decision: DuplicateDecision, channel: str, actor) -> DuplicateDecision:
    """`decision` again, inside the write transaction that will save `lead`.

    `check_intake` runs before that transaction, because on SQLite a write transaction holds the
    database's only write lock and everything inside it runs one request at a time. A lead with the
    same phone, email or credit code may have been committed in between (the same form sent twice at
    once); this looks again for those keys only, one indexed query, and decides afresh if it finds a
    lead the first check did not see. On PostgreSQL, where writers do not queue for one lock, a
    transaction-scoped advisory lock per key makes two submissions of the same contact take turns.
    """
    from django.db import connection

    entry = entry_for_lead(lead)
    keys = sorted((column, value) for column, value, _cap in _lookups(entry) if column in _EXACT_COLUMNS)
    if not keys:
        return decision
    if connection.vendor == "postgresql":
        # Every key's lock in one round trip, taken in the keys' order (sorted above) so that two
        # submissions sharing two keys cannot each hold one and wait for the other.
        locks = [int.from_bytes(hashlib.blake2b(f"lead:{column}:{value}".encode(), digest_size=8).digest(), "big",
                                signed=True) for column, value in keys]
        fastsql.fetch_all("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) WITH ORDINALITY AS l(k, n) "
                          "ORDER BY n", [locks])
    known = decision.matched_ids
    rows = _candidates([(column, value, PER_KEY) for column, value in keys])
    if all((row[8] or row[0]) in known or row[0] == lead.pk for row in rows):
        return decision
    return check_intake(lead=lead, channel=channel, actor=actor)


__all__ = [
    "ChunkSearch", "DuplicateDecision", "LeadMatch", "Match", "check_intake", "cluster_rows", "confirm_in_transaction",
    "entry_for_lead", "best_verdict", "find_matches", "map_headers", "verdicts_for",
]
