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


def make_entry(ref, company_name="", contact_name="", mobile="", landline="", email="", city="", credit_code="") -> Entry:
    code = normalize.credit_code_key(credit_code) if credit_code else ""
    region, ckey = normalize.company_parts(company_name) if company_name else ("", "")
    bkey = normalize.brand_key(ckey, is_key=True) if ckey else ""
    email_k = normalize.email_key(email) if email else ""
    name, is_title = normalize.person_name(contact_name) if contact_name else ("", False)
    mobile_k = normalize.phone_key(mobile or "") if mobile else ""
    landline_k = normalize.phone_key(landline or "") if landline else ""
    # A mobile typed into the landline column (or the reverse) still identifies the person.
    if landline_k and not mobile_k and normalize.is_mobile(landline_k):
        mobile_k, landline_k = landline_k, ""
    return Entry(
        ref=ref,
        code=code if code and normalize.credit_code_valid(code) else "",
        ckey=ckey,
        bkey=bkey,
        industry=ckey[len(bkey):] if ckey.startswith(bkey) else "",
        region=region,
        city=normalize.city_name(city) if city else "",
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
    """One wrong character in a brand of three or more characters, same industry written in both.

    A typo and a missing industry at once is two differences: "辰德越银" alone could be "辰德越博信息技术".
    """
    if a.bkey == b.bkey or not a.industry or a.industry != b.industry:
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
    """Union-find whose clusters remember what would make a union wrong (codes, regions, sister brands).

    A cluster's facts are kept only once it has grown past one row; a single row's facts are read
    from its entry, so 100k rows cost no 100k sets.
    """

    def __init__(self, entries: list[Entry]):
        super().__init__(len(entries))
        self.entries = entries
        self.facts: dict[int, tuple[set, set, set, dict]] = {}

    def _facts(self, root: int) -> tuple[set, set, set, dict]:
        found = self.facts.get(root)
        if found is not None:
            return found
        e = self.entries[root]
        return (
            {e.code} if e.code else set(),
            {e.region} if e.region else set(),
            {e.city} if e.city and not e.region else set(),
            {e.bkey: {e.industry}} if e.bkey and e.industry else {},
        )

    @staticmethod
    def _conflict(a: tuple, b: tuple) -> bool:
        codes_a, regions_a, cities_a, industries_a = a
        codes_b, regions_b, cities_b, industries_b = b
        if codes_a and codes_b and codes_a != codes_b:
            return True
        if regions_a and regions_b and regions_a != regions_b:
            return True
        if regions_a and not regions_b and cities_b and not (regions_a & cities_b):
            return True
        if regions_b and not regions_a and cities_a and not (regions_b & cities_a):
            return True
        small, big = sorted((industries_a, industries_b), key=len)
        return any(brand in big and big[brand] != kinds for brand, kinds in small.items())

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        facts_a, facts_b = self._facts(ra), self._facts(rb)
        if self._conflict(facts_a, facts_b):
            return False
        self.parent[rb] = ra
        codes, regions, cities, industries = facts_a
        codes |= facts_b[0]
        regions |= facts_b[1]
        cities |= facts_b[2]
        for brand, kinds in facts_b[3].items():
            industries.setdefault(brand, set()).update(kinds)
        self.facts[ra] = facts_a
        self.facts.pop(rb, None)
        return True


def _groups(keys: list) -> list[list[int]]:
    """Positions sharing a non-empty key, for every key held by two or more."""
    found: dict = {}
    for i, k in enumerate(keys):
        if k:
            if k in found:
                found[k].append(i)
            else:
                found[k] = [i]
    return [group for group in found.values() if len(group) > 1]


def deletion_keys(brand: str) -> set[str]:
    """The brand and every form of it with one character deleted.

    Two brands one edit apart (a wrong, missing or extra character) always share one of these, so
    grouping by them finds every typo candidate without comparing all pairs.
    """
    return {brand, *(brand[:i] + brand[i + 1:] for i in range(len(brand)))}


def cluster_entries(entries: list[Entry]) -> list[tuple[int, int]]:
    """(person cluster, company cluster) per entry: union-find over blocked comparisons, strongest rules first."""
    companies = _CompanyClusters(entries)
    union = companies.union

    for group in _groups([e.code for e in entries]):
        for i in group[1:]:
            union(group[0], i)
    # The same name in the same region (written in the name, or the city column when the name has none).
    for group in _groups([(e.ckey, e.region or e.city) if e.ckey and (e.region or e.city) else None for e in entries]):
        for i in group[1:]:
            union(group[0], i)
    # A shared mobile, email or landline links two rows when their names do not contradict it.
    for keys in ([e.mobile for e in entries], [e.email for e in entries], [e.landline for e in entries]):
        for group in _groups(keys):
            first = entries[group[0]]
            for i in group[1:]:
                if names_compatible(first, entries[i]) and regions_agree(first, entries[i]):
                    union(group[0], i)
    # The same name where some rows say no region at all: they join the name's cluster only when
    # there is one; with the name registered in two cities, a row that names none stays apart.
    for group in _groups([e.ckey for e in entries]):
        loose = [i for i in group if not entries[i].region and not entries[i].city]
        placed = {companies.find(i) for i in group if entries[i].region or entries[i].city}
        target = next(iter(placed)) if len(placed) == 1 else (loose[0] if loose and not placed else None)
        for i in loose:
            union(target if target is not None else loose[0], i)

    # From here on one row stands for all rows with the same name, region and city.
    representatives: dict[tuple, int] = {}
    for i, e in enumerate(entries):
        if e.bkey:
            representatives.setdefault((e.ckey, e.region, e.city), i)
    by_brand: dict[str, list[int]] = {}
    for i in representatives.values():
        by_brand.setdefault(entries[i].bkey, []).append(i)
    # A brand alone ("普腾康汇") joins the one company of that brand and region; when sister companies
    # share the brand ("普腾康汇食品", "普腾康汇贸易") it is ambiguous and stays apart.
    for group in by_brand.values():
        if len(group) < 2:
            continue
        bare = [i for i in group if not entries[i].industry]
        full = [i for i in group if entries[i].industry]
        for i in bare:
            candidates = {companies.find(j) for j in full if regions_agree(entries[i], entries[j])}
            if len(candidates) == 1:
                union(candidates.pop(), i)
            elif not candidates:
                for j in bare:
                    if j != i and regions_agree(entries[i], entries[j]):
                        union(i, j)
    # One-character typos in brands of three or more characters, found through deletion keys.
    by_deletion: dict[str, list[str]] = {}
    for brand in by_brand:
        if len(brand) >= 3:
            for key in deletion_keys(brand):
                by_deletion.setdefault(key, []).append(brand)
    # A typo needs the same industry on both sides, so only representatives of one industry are paired.
    by_brand_industry: dict[str, dict[str, list[int]]] = {}
    for brand, group in by_brand.items():
        if len(brand) >= 3:
            for i in group:
                if entries[i].industry:
                    by_brand_industry.setdefault(brand, {}).setdefault(entries[i].industry, []).append(i)
    checked: set[tuple[str, str]] = set()
    for brands in by_deletion.values():
        for x, brand_a in enumerate(brands):
            for brand_b in brands[x + 1:]:
                pair = (brand_a, brand_b) if brand_a < brand_b else (brand_b, brand_a)
                if pair in checked:
                    continue
                checked.add(pair)
                kinds_a, kinds_b = by_brand_industry.get(brand_a, {}), by_brand_industry.get(brand_b, {})
                for industry in kinds_a.keys() & kinds_b.keys():
                    for i in kinds_a[industry]:
                        for j in kinds_b[industry]:
                            if typo_match(entries[i], entries[j]) and regions_agree(entries[i], entries[j]):
                                union(i, j)

    company_root = [companies.find(i) for i in range(len(entries))]
    return list(zip(_cluster_people(entries, company_root), company_root, strict=True))


def _cluster_people(entries: list[Entry], company_root: list[int]) -> list[int]:
    people = _UnionFind(len(entries))
    merged: dict[int, tuple[set, set]] = {}  # contact keys of clusters grown past one row

    def keys_of(root: int) -> tuple[set, set]:
        found = merged.get(root)
        if found is not None:
            return found
        e = entries[root]
        return ({e.mobile} if e.mobile else set()), ({e.email} if e.email else set())

    def union(a: int, b: int, *, check: bool) -> None:
        ra, rb = people.find(a), people.find(b)
        if ra == rb:
            return
        (mobiles_a, emails_a), (mobiles_b, emails_b) = keys_of(ra), keys_of(rb)
        # Two different mobiles (or emails) on both sides: two people who share a name or a surname.
        if check and ((mobiles_a and mobiles_b and not mobiles_a & mobiles_b) or (emails_a and emails_b and not emails_a & emails_b)):
            return
        people.parent[rb] = ra
        merged[ra] = (mobiles_a | mobiles_b, emails_a | emails_b)
        merged.pop(rb, None)

    # A person belongs to one company: every rule below stays inside a company cluster.
    for attr in ("mobile", "email"):
        for group in _groups([(getattr(e, attr), company_root[i]) if getattr(e, attr) else None for i, e in enumerate(entries)]):
            for i in group[1:]:
                union(group[0], i, check=False)
    full_names = [(e.name, company_root[i]) if e.name and not e.is_title and len(e.name) >= 2 else None for i, e in enumerate(entries)]
    for group in _groups(full_names):
        for i in group[1:]:
            union(group[0], i, check=True)
    # A title ("王总") joins the one person of that surname at the company; with two candidates it stays alone.
    by_surname: dict[tuple, set] = {}
    titled: dict[tuple, list[int]] = {}
    for i, e in enumerate(entries):
        if not e.name:
            continue
        if e.is_title:
            titled.setdefault((company_root[i], e.name), []).append(i)
        else:
            by_surname.setdefault((company_root[i], normalize.surname(e.name)), set()).add(i)
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
