"""The duplicate matching rules, free of the database: used by intake checks and by offline clustering.

Two questions are kept apart:
- same company (the legal entity): credit codes first (two different valid codes are two companies,
  whatever the names say), then names reduced by `normalize.company_key`, compared exactly, by brand
  and with a one-character tolerance; a region written in both names must agree, so "青岛润宇实业" and
  "昆明润宇实业" stay apart, and a brand with two industries ("达云食品", "达云贸易") is two sister companies.
- same person at that company: mobile or email (any domain), or the same full name, or a title
  ("王总") whose surname fits exactly one person there.
A public mail domain never says anything about the company; a shared company domain supports a name match.
"""

from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from . import normalize


@dataclass(slots=True)
class Entry:
    """One lead or spreadsheet row with its comparable keys."""

    ref: object  # a row index or a lead id
    code: str = ""  # valid unified social credit code
    ckey: str = ""  # company key: no region, no legal form
    bkey: str = ""  # brand: company key without industry words
    industry: str = ""
    region: str = ""  # region written in the company name
    city: str = ""  # city column, a weaker hint used only when the name has no region
    mobile: str = ""
    landline: str = ""
    email: str = ""
    domain: str = ""  # company mail domain; "" for public providers
    name: str = ""  # contact's name, or a surname when only a title was given
    is_title: bool = False

    @property
    def has_person(self) -> bool:
        return bool(self.mobile or self.email or self.name)


def make_entry(ref, *, company_name="", contact_name="", mobile="", landline="", email="", city="", credit_code="") -> Entry:
    code = normalize.credit_code_key(credit_code or "")
    region, ckey = normalize.company_parts(company_name or "")
    bkey = normalize.brand_key(ckey, is_key=True) if ckey else ""
    email_k = normalize.email_key(email or "")
    name, is_title = normalize.person_name(contact_name or "")
    mobile_k = normalize.phone_key(mobile or "") if mobile else ""
    landline_k = normalize.phone_key(landline or "") if landline else ""
    # A mobile typed into the landline column (or the reverse) still identifies the person.
    if landline_k and not mobile_k and normalize.is_mobile(landline_k):
        mobile_k, landline_k = landline_k, ""
    city_name = normalize.to_simplified(normalize.fold_width(city or "")).replace(" ", "")
    return Entry(
        ref=ref,
        code=code if normalize.credit_code_valid(code) else "",
        ckey=ckey,
        bkey=bkey,
        industry=ckey[len(bkey):] if ckey.startswith(bkey) else "",
        region=region,
        city=normalize._region_name(city_name) or city_name,
        mobile=mobile_k,
        landline=landline_k,
        email=email_k,
        domain=normalize.email_domain(email_k) if email_k else "",
        name=name,
        is_title=is_title,
    )


def regions_agree(a: Entry, b: Entry) -> bool:
    """Regions written in both names must be equal; a name's region against the other's city too."""
    if a.region and b.region:
        return a.region == b.region
    if a.region and b.city:
        return a.region == b.city
    if b.region and a.city:
        return b.region == a.city
    return True


def industries_agree(a: str, b: str) -> bool:
    # "优兴教育科技" and "优兴科技" are different companies, so containment is not agreement.
    return not a or not b or a == b


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def name_similarity(a: Entry, b: Entry) -> float:
    return fuzz.ratio(a.ckey, b.ckey)


def typo_match(a: Entry, b: Entry) -> bool:
    """One wrong character in a brand of three or more characters, same industry."""
    if a.bkey == b.bkey or not industries_agree(a.industry, b.industry):
        return False
    if min(len(a.bkey), len(b.bkey)) < 3:
        return False
    return Levenshtein.distance(a.bkey, b.bkey, score_cutoff=1) <= 1


def names_same_company(a: Entry, b: Entry) -> tuple[bool, str]:
    """Whether two company names alone say "same company" (regions aside), with the reason."""
    if not a.ckey or not b.ckey:
        return False, ""
    if a.ckey == b.ckey:
        return True, "company_name"
    if a.bkey == b.bkey and industries_agree(a.industry, b.industry):
        return True, "brand"
    if typo_match(a, b):
        return True, "similar_name"
    return False, ""


def names_compatible(a: Entry, b: Entry) -> bool:
    """Looser than `names_same_company`: enough when a phone or email already links the two rows.

    Short names ("普腾" for "普腾康汇食品") and missing names are compatible; another brand is not.
    """
    if not a.ckey or not b.ckey:
        return True
    if names_same_company(a, b)[0]:
        return True
    if not industries_agree(a.industry, b.industry) and a.bkey == b.bkey:
        return False
    short, long = sorted((a.bkey, b.bkey), key=len)
    if len(short) >= 2 and _subsequence(short, long):
        return True
    if a.domain and a.domain == b.domain:
        return True
    return fuzz.ratio(a.ckey, b.ckey) >= 80


@dataclass
class Match:
    """Why an existing record looks like the submitted one."""

    ref: object
    same_person: bool
    same_company: bool
    reasons: list[str] = field(default_factory=list)  # keys that matched: credit_code, mobile, email, ...
    similarity: float = 0.0  # company-name similarity, 0–100


def compare(new: Entry, old: Entry) -> Match | None:
    """The verdict for one pair, or None when they are neither the same company nor the same person."""
    if new.code and old.code and new.code != old.code:
        return None  # two valid credit codes: two legal entities, whatever else they share
    reasons: list[str] = []
    similarity = name_similarity(new, old) if new.ckey and old.ckey else 0.0
    same_company = False
    if new.code and new.code == old.code:
        reasons.append("credit_code")
        same_company = True
    person_keys = [k for k in ("mobile", "email") if getattr(new, k) and getattr(new, k) == getattr(old, k)]
    if not same_company and regions_agree(new, old):
        same_names, why = names_same_company(new, old)
        if same_names:
            reasons.append(why)
            same_company = True
        elif (person_keys or (new.landline and new.landline == old.landline)) and names_compatible(new, old):
            same_company = True
    if new.landline and new.landline == old.landline:
        reasons.append("landline")
    if new.domain and new.domain == old.domain:
        reasons.append("email_domain")
    if not same_company:
        return None
    reasons.extend(person_keys)
    same_person = bool(person_keys)
    if not same_person and new.name and old.name:
        conflicting = (new.mobile and old.mobile and new.mobile != old.mobile) or (
            new.email and old.email and new.email != old.email
        )
        if not conflicting:
            if not new.is_title and not old.is_title and new.name == old.name:
                same_person = True
                reasons.append("contact_name")
            elif (new.is_title or old.is_title) and normalize.surname(new.name) == normalize.surname(old.name):
                same_person = True
                reasons.append("contact_surname")
    return Match(ref=old.ref, same_person=same_person, same_company=True, reasons=reasons, similarity=similarity)


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i


class _CompanyClusters(_UnionFind):
    """Union-find whose clusters remember what would make a union wrong (codes, regions, sister brands)."""

    def __init__(self, entries: list[Entry]):
        super().__init__(len(entries))
        self.codes = [{e.code} if e.code else set() for e in entries]
        self.regions = [{e.region} if e.region else set() for e in entries]
        self.cities = [{e.city} if e.city and not e.region else set() for e in entries]
        self.industries = [{e.bkey: {e.industry}} if e.bkey and e.industry else {} for e in entries]

    def conflict(self, ra: int, rb: int) -> bool:
        if self.codes[ra] and self.codes[rb] and self.codes[ra] != self.codes[rb]:
            return True
        regions_a, regions_b = self.regions[ra], self.regions[rb]
        if regions_a and regions_b and regions_a != regions_b:
            return True
        if regions_a and not regions_b and self.cities[rb] and not (regions_a & self.cities[rb]):
            return True
        if regions_b and not regions_a and self.cities[ra] and not (regions_b & self.cities[ra]):
            return True
        small, big = sorted((self.industries[ra], self.industries[rb]), key=len)
        return any(brand in big and big[brand] != kinds for brand, kinds in small.items())

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.conflict(ra, rb):
            return False
        if len(self.industries[ra]) + len(self.regions[ra]) < len(self.industries[rb]) + len(self.regions[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.codes[ra] |= self.codes[rb]
        self.regions[ra] |= self.regions[rb]
        self.cities[ra] |= self.cities[rb]
        for brand, kinds in self.industries[rb].items():
            self.industries[ra].setdefault(brand, set()).update(kinds)
        self.codes[rb] = self.regions[rb] = self.cities[rb] = set()
        self.industries[rb] = {}
        return True


def _groups(entries: list[Entry], key) -> list[list[int]]:
    found: dict = {}
    for i, entry in enumerate(entries):
        k = key(i, entry)
        if k:
            found.setdefault(k, []).append(i)
    return [group for group in found.values() if len(group) > 1]


# Fuzzy comparison only inside blocks; a block larger than this is a common prefix, not a signal.
MAX_BLOCK = 400


def cluster_entries(entries: list[Entry]) -> list[tuple[int, int]]:
    """(person cluster, company cluster) per entry: union-find over blocked comparisons, strongest rules first."""
    companies = _CompanyClusters(entries)
    union = companies.union

    for group in _groups(entries, lambda i, e: e.code):
        for i in group[1:]:
            union(group[0], i)
    # The same name in the same region (written in the name, or the city column when the name has none).
    for group in _groups(entries, lambda i, e: (e.ckey, e.region or e.city) if e.ckey and (e.region or e.city) else None):
        for i in group[1:]:
            union(group[0], i)
    # A shared mobile, email or landline links two rows when their names do not contradict it.
    for attr in ("mobile", "email", "landline"):
        for group in _groups(entries, lambda i, e, attr=attr: getattr(e, attr)):
            first = entries[group[0]]
            for i in group[1:]:
                if names_compatible(first, entries[i]) and regions_agree(first, entries[i]):
                    union(group[0], i)
    # The same name without region information: join the name's clusters when they do not conflict.
    for group in _groups(entries, lambda i, e: e.ckey):
        for i in group[1:]:
            union(group[0], i)
    # Same brand, compatible industries ("普腾康汇" and "普腾康汇食品"), then one-character typos.
    for group in _groups(entries, lambda i, e: e.bkey):
        _pairwise(entries, group, union, same_brand=True)
    seen_pairs: set = set()
    for block_key in (lambda i, e: e.ckey[:2], lambda i, e: e.bkey[-2:]):
        for group in _groups(entries, block_key):
            keys: dict[str, int] = {}
            for i in group:
                keys.setdefault(entries[i].ckey, i)
            if 1 < len(keys) <= MAX_BLOCK:
                _pairwise(entries, list(keys.values()), union, same_brand=False, seen=seen_pairs)

    company_root = [companies.find(i) for i in range(len(entries))]
    return list(zip(_cluster_people(entries, company_root), company_root, strict=True))


def _pairwise(entries, group, union, *, same_brand: bool, seen: set | None = None):
    for x, i in enumerate(group):
        a = entries[i]
        for j in group[x + 1:]:
            b = entries[j]
            if seen is not None:
                pair = (a.ckey, b.ckey) if a.ckey < b.ckey else (b.ckey, a.ckey)
                if pair in seen:
                    continue
                seen.add(pair)
            if not regions_agree(a, b):
                continue
            if same_brand:
                if industries_agree(a.industry, b.industry):
                    union(i, j)
            elif typo_match(a, b):
                union(i, j)


def _cluster_people(entries: list[Entry], company_root: list[int]) -> list[int]:
    people = _UnionFind(len(entries))
    mobiles: dict[int, set] = {i: {e.mobile} if e.mobile else set() for i, e in enumerate(entries)}
    emails: dict[int, set] = {i: {e.email} if e.email else set() for i, e in enumerate(entries)}

    def union(a: int, b: int, *, check: bool) -> None:
        ra, rb = people.find(a), people.find(b)
        if ra == rb:
            return
        if check and (
            (mobiles[ra] and mobiles[rb] and not mobiles[ra] & mobiles[rb])
            or (emails[ra] and emails[rb] and not emails[ra] & emails[rb])
        ):
            return
        people.parent[rb] = ra
        mobiles[ra] |= mobiles.pop(rb)
        emails[ra] |= emails.pop(rb)

    # A person belongs to one company: every rule below stays inside a company cluster.
    for attr in ("mobile", "email"):
        for group in _groups(entries, lambda i, e, attr=attr: getattr(e, attr)):
            for i in group[1:]:
                if company_root[i] == company_root[group[0]]:
                    union(group[0], i, check=False)
    for group in _groups(
        entries, lambda i, e: (e.name, company_root[i]) if e.name and not e.is_title and len(e.name) >= 2 else None
    ):
        for i in group[1:]:
            union(group[0], i, check=True)
    # A title ("王总") joins the one person of that surname at the company; with two candidates it stays alone.
    by_surname: dict[tuple, set] = {}
    for i, e in enumerate(entries):
        if e.name and not e.is_title:
            by_surname.setdefault((company_root[i], normalize.surname(e.name)), set()).add(people.find(i))
    titled: dict[tuple, list[int]] = {}
    for i, e in enumerate(entries):
        if e.name and e.is_title:
            titled.setdefault((company_root[i], e.name), []).append(i)
    for key, rows in titled.items():
        candidates = {people.find(r) for r in by_surname.get(key, ())}
        if len(candidates) == 1:
            target = candidates.pop()
            for i in rows:
                union(target, i, check=True)
        elif not candidates:
            for i in rows[1:]:
                union(rows[0], i, check=True)
    return [people.find(i) for i in range(len(entries))]
