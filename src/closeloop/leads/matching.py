"""The duplicate matching rules, free of the database: used by intake checks and by offline clustering.

Two questions are kept apart:
- same company (the legal entity): credit codes first (two different valid codes are two companies,
  whatever else the rows share), then names reduced by `normalize.company_key`, compared exactly, by
  brand and with a one-character tolerance; a region written in both names must agree, so "青岛润宇实业"
  and "昆明润宇实业" stay apart, and a brand with two industries ("达云食品", "达云贸易") is two sister
  companies. A branch or a number in the name ("一分公司", "二厂", "1号") is never bridged by a tolerance.
  Contact evidence (the same mobile, email or landline) joins names that are merely compatible: a
  short name, a brand alone, a typo in the brand.
- same person at that company: mobile or email (any domain), a landline whose names agree, the same
  full name, or a title ("王总") whose surname fits exactly one person there.
A public mail domain never says anything about the company; a shared company domain supports a name match.
"""

from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from . import normalize


@dataclass(slots=True)
class Entry:
    """One lead or spreadsheet row with its comparable keys."""

    ref: object  # a row index or a lead id
    code: str = ""  # valid unified social credit code
    ckey: str = ""  # company key: no region, no legal form (a branch kept at its end)
    bkey: str = ""  # brand: company key without industry words and branch
    industry: str = ""
    mark: str = ""  # branch and numbers in the name: never bridged by a tolerance
    region: str = ""  # region written in the company name
    city: str = ""  # city column, a weaker hint used only when the name has no region
    mobile: str = ""
    landline: str = ""
    extension: str = ""  # of the landline
    email: str = ""
    domain: str = ""  # company mail domain; "" for public providers
    name: str = ""  # contact's name, or a surname when only a title was given
    is_title: bool = False

    @property
    def has_person(self) -> bool:
        return bool(self.mobile or self.email or self.name)


@lru_cache(maxsize=131072)
def company_fields(company_name: str) -> tuple[str, str, str, str, str]:
    """(region, key, brand, industry, mark) of a company name."""
    if not company_name:
        return "", "", "", "", ""
    region, ckey = normalize.company_parts(company_name)
    bkey = normalize.brand_key(ckey, is_key=True)
    return region, ckey, bkey, normalize.industry_part(ckey), normalize.name_mark(ckey)


def make_entry(ref, company_name="", contact_name="", mobile="", landline="", email="", city="", credit_code="") -> Entry:
    code = normalize.credit_code_key(credit_code) if credit_code else ""
    region, ckey, bkey, industry, mark = company_fields(company_name)
    email_k = normalize.email_key(email) if email else ""
    name, is_title = normalize.person_name(contact_name) if contact_name else ("", False)
    mobile_k = landline_k = extension = ""
    # Whatever column a number was typed into, a mobile identifies the person and a landline the line;
    # a cell may hold both ("139 1234 5678 / 021-62345678转123"), a local number takes the city's area code.
    for raw in (mobile, landline):
        for key, ext in normalize.phone_keys(raw, city=city) if raw else ():
            if normalize.is_mobile(key):
                mobile_k = mobile_k or key
            elif not landline_k:
                landline_k, extension = key, ext
    return Entry(
        ref=ref,
        code=code if code and normalize.credit_code_valid(code) else "",
        ckey=ckey,
        bkey=bkey,
        industry=industry,
        mark=mark,
        region=region,
        city=normalize.city_name(city) if city else "",
        mobile=mobile_k,
        landline=landline_k,
        extension=extension,
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
    Numbers and branches are not typos: "测试1号科技" and "测试2号科技" are two companies.
    """
    if a.bkey == b.bkey or not a.industry or a.industry != b.industry or a.mark != b.mark:
        return False
    if min(len(a.bkey), len(b.bkey)) < 3:
        return False
    return Levenshtein.distance(a.bkey, b.bkey, score_cutoff=1) <= 1


def names_same_company(a: Entry, b: Entry) -> tuple[bool, str]:
    """Whether two company names alone say "same company" (regions aside), with the reason."""
    if not a.ckey or not b.ckey or a.mark != b.mark:
        return False, ""
    if a.ckey == b.ckey:
        return True, "company_name"
    if a.bkey == b.bkey and industries_agree(a.industry, b.industry):
        return True, "brand"
    if typo_match(a, b):
        return True, "similar_name"
    return False, ""


def compatible_names(a: Entry, b: Entry) -> str:
    """Looser than `names_same_company`: enough when a phone or email already links the two rows.

    Returns why ("short_name", "similar_name", ...) or "" when the names contradict the link: another
    brand, a sister company (same brand, other industry), another branch or number.
    """
    if not a.ckey or not b.ckey:
        return "no_name"
    if a.mark != b.mark:
        return ""
    same, why = names_same_company(a, b)
    if same:
        return why
    if a.bkey == b.bkey:
        return ""  # same brand, two industries: sister companies
    short, long = sorted((a.bkey, b.bkey), key=len)
    if len(short) >= 2 and _subsequence(short, long):
        return "short_name"
    # A typo in the brand, with or without the industry written: one edit, on three characters or more;
    # on a two-character brand when the same industry follows ("峰源建材" / "峰园建材").
    if len(short) >= 3 and Levenshtein.distance(a.bkey, b.bkey, score_cutoff=1) <= 1:
        return "similar_name"
    if a.industry and a.industry == b.industry and Levenshtein.distance(a.bkey, b.bkey, score_cutoff=1) <= 1:
        return "similar_name"
    # A typo in a short form: the shorter brand is one edit from the start of the longer one.
    if len(short) >= 3 and Levenshtein.distance(short, long[: len(short)], score_cutoff=1) <= 1:
        return "short_name"
    if a.domain and a.domain == b.domain:
        return "email_domain"
    return "similar_name" if fuzz.ratio(a.ckey, b.ckey) >= 80 else ""


def names_compatible(a: Entry, b: Entry) -> bool:
    return bool(compatible_names(a, b))


@dataclass
class Match:
    """Why an existing record looks like the submitted one."""

    ref: object
    same_person: bool
    same_company: bool
    reasons: list[str] = field(default_factory=list)  # keys that matched: credit_code, mobile, email, ...
    similarity: float = 0.0  # company-name similarity, 0–100


def _names_agree(a: Entry, b: Entry) -> bool:
    """Nothing in the two contact names says "two people": both empty, equal, or a title fitting the name."""
    if not a.name or not b.name:
        return True
    if a.is_title or b.is_title:
        return normalize.surname(a.name) == normalize.surname(b.name)
    return a.name == b.name


def compare(new: Entry, old: Entry) -> Match | None:
    """The verdict for one pair, or None when they are neither the same company nor the same person."""
    if new.code and old.code and new.code != old.code:
        return None  # two valid credit codes: two legal entities, whatever else they share
    reasons: list[str] = []
    same_company = False
    if new.code and new.code == old.code:
        reasons.append("credit_code")
        same_company = True
    # Spelled out, not a loop over getattr: an import compares each row with ~40 stored leads.
    person_keys = ["mobile"] * (bool(new.mobile) and new.mobile == old.mobile) + ["email"] * (
        bool(new.email) and new.email == old.email)
    same_line = bool(new.landline and new.landline == old.landline)
    if not same_company and regions_agree(new, old):
        same_names, why = names_same_company(new, old)
        if same_names:
            reasons.append(why)
            same_company = True
        elif (person_keys or same_line) and (why := compatible_names(new, old)):
            # The contact is the evidence; the name only must not contradict it (and says how it differs).
            if why not in ("no_name", "email_domain"):
                reasons.append(why)
            same_company = True
    if same_line:
        reasons.append("landline")
    if new.domain and new.domain == old.domain:
        reasons.append("email_domain")
    if not same_company:
        return None
    reasons.extend(person_keys)
    same_person = bool(person_keys)
    conflicting = (new.mobile and old.mobile and new.mobile != old.mobile) or (
        new.email and old.email and new.email != old.email
    )
    if not same_person and not conflicting:
        if (same_line and new.extension == old.extension and _names_agree(new, old)
                and (new.name or old.name or new.extension)):
            # One line (one desk, with an extension) and names that agree: 王总 at 021-62345678 and 王伟 there.
            same_person = True
        elif new.name and old.name:
            if not new.is_title and not old.is_title and new.name == old.name:
                same_person = True
                reasons.append("contact_name")
            elif (new.is_title or old.is_title) and normalize.surname(new.name) == normalize.surname(old.name):
                same_person = True
                reasons.append("contact_surname")
    # Only for a verdict (most pairs of an import's candidates are none): the same figure as before.
    similarity = name_similarity(new, old) if new.ckey and old.ckey else 0.0
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
    """Union-find whose clusters remember what would make a union wrong (codes, regions, marks, sister brands).

    A cluster's facts are kept only once it has grown past one row; a single row's facts are read
    from its entry, so 100k rows cost no 100k sets.
    """

    def __init__(self, entries: list[Entry]):
        super().__init__(len(entries))
        self.entries = entries
        self.facts: dict[int, tuple[set, set, set, dict, set]] = {}

    def _facts(self, root: int) -> tuple[set, set, set, dict, set]:
        found = self.facts.get(root)
        if found is not None:
            return found
        e = self.entries[root]
        return (
            {e.code} if e.code else set(),
            {e.region} if e.region else set(),
            {e.city} if e.city and not e.region else set(),
            {e.bkey: {e.industry}} if e.bkey and e.industry else {},
            {e.mark} if e.ckey else set(),
        )

    @staticmethod
    def _conflict(a: tuple, b: tuple) -> bool:
        codes_a, regions_a, cities_a, industries_a, marks_a = a
        codes_b, regions_b, cities_b, industries_b, marks_b = b
        if codes_a and codes_b and codes_a != codes_b:
            return True
        if codes_a and codes_a == codes_b:
            return False  # one credit code: one company, whatever its names say
        if marks_a and marks_b and marks_a != marks_b:
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
        codes, regions, cities, industries, marks = facts_a
        codes |= facts_b[0]
        regions |= facts_b[1]
        cities |= facts_b[2]
        for brand, kinds in facts_b[3].items():
            industries.setdefault(brand, set()).update(kinds)
        marks |= facts_b[4]
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


def _union_by_contact(entries: list[Entry], companies: _CompanyClusters) -> None:
    """A shared mobile, email or landline links rows whose names do not contradict it.

    Each row is tried against the rows before it in its group, so a short name, a typo and a full
    name carrying one mobile all meet even when the short name and the typo are not compatible.
    """
    union = companies.union
    for keys in ([e.mobile for e in entries], [e.email for e in entries], [e.landline for e in entries]):
        for group in _groups(keys):
            # A key shared by many rows (a switchboard, a shared mailbox) is compared pairwise only so far.
            for x, i in enumerate(group[1:64], start=1):
                for j in group[:x]:
                    a, b = entries[j], entries[i]
                    if (not (a.code and b.code and a.code != b.code) and regions_agree(a, b)
                            and names_compatible(a, b) and union(j, i)):
                        break


def cluster_entries(entries: list[Entry]) -> list[tuple[int, int]]:
    """(person cluster, company cluster) per entry: union-find over blocked comparisons, strongest rules first."""
    companies = _CompanyClusters(entries)
    union = companies.union

    for group in _groups([e.code for e in entries]):
        for i in group[1:]:
            union(group[0], i)
    # Contact details first: they place a brand-only row ("力卓明") with its own company before names
    # alone could put it with a sister company of the same brand.
    _union_by_contact(entries, companies)
    # The same name in the same region (written in the name, or the city column when the name has none).
    for group in _groups([(e.ckey, e.region or e.city) if e.ckey and (e.region or e.city) else None for e in entries]):
        for i in group[1:]:
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
    by_brand: dict[tuple[str, str], list[int]] = {}
    for i in representatives.values():
        by_brand.setdefault((entries[i].bkey, entries[i].mark), []).append(i)
    # A brand alone ("普腾康汇") joins the one company of that brand and region; when sister companies
    # share the brand ("普腾康汇食品", "普腾康汇贸易") it is ambiguous and stays apart.
    for group in by_brand.values():
        if len(group) < 2:
            continue
        bare = [i for i in group if not entries[i].industry]
        full = [i for i in group if entries[i].industry]
        for i in bare:
            if companies.facts.get(companies.find(i), (None, None, None, {}))[3]:
                continue  # already placed with a full name by its contact details
            candidates = {companies.find(j) for j in full if regions_agree(entries[i], entries[j])}
            if len(candidates) == 1:
                union(candidates.pop(), i)
            elif not candidates:
                for j in bare:
                    if j != i and regions_agree(entries[i], entries[j]):
                        union(i, j)
    # One-character typos in brands of three or more characters, found through deletion keys.
    # In sorted order, so the same file gives the same clusters whatever the process's string hashing.
    brands = sorted({brand for brand, _mark in by_brand})
    by_deletion: dict[str, list[str]] = {}
    for brand in brands:
        if len(brand) >= 3:
            for key in sorted(deletion_keys(brand)):
                by_deletion.setdefault(key, []).append(brand)
    # A typo needs the same industry and mark on both sides, so only such representatives are paired.
    by_brand_industry: dict[str, dict[tuple, list[int]]] = {}
    for (brand, mark), group in by_brand.items():
        if len(brand) >= 3:
            for i in group:
                if entries[i].industry:
                    by_brand_industry.setdefault(brand, {}).setdefault((entries[i].industry, mark), []).append(i)
    checked: set[tuple[str, str]] = set()
    for similar in by_deletion.values():
        for x, brand_a in enumerate(similar):
            for brand_b in similar[x + 1:]:
                pair = (brand_a, brand_b) if brand_a < brand_b else (brand_b, brand_a)
                if pair in checked:
                    continue
                checked.add(pair)
                kinds_a, kinds_b = by_brand_industry.get(brand_a, {}), by_brand_industry.get(brand_b, {})
                for kind in sorted(kinds_a.keys() & kinds_b.keys()):
                    for i in kinds_a[kind]:
                        for j in kinds_b[kind]:
                            if typo_match(entries[i], entries[j]) and regions_agree(entries[i], entries[j]):
                                union(i, j)

    company_root = [companies.find(i) for i in range(len(entries))]
    return list(zip(_cluster_people(entries, company_root), company_root, strict=True))


class _People(_UnionFind):
    """Union-find of people inside companies; a cluster remembers its mobiles, emails and full names."""

    def __init__(self, entries: list[Entry]):
        super().__init__(len(entries))
        self.entries = entries
        self.merged: dict[int, tuple[set, set, set]] = {}

    def keys_of(self, root: int) -> tuple[set, set, set]:
        found = self.merged.get(root)
        if found is not None:
            return found
        e = self.entries[root]
        return (({e.mobile} if e.mobile else set()), ({e.email} if e.email else set()),
                ({e.name} if e.name and not e.is_title else set()))

    def union(self, a: int, b: int, *, check: bool) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        (mobiles_a, emails_a, names_a), (mobiles_b, emails_b, names_b) = self.keys_of(ra), self.keys_of(rb)
        # Two different mobiles (or emails, or full names) on both sides: two people who share something else.
        if check and ((mobiles_a and mobiles_b and not mobiles_a & mobiles_b)
                      or (emails_a and emails_b and not emails_a & emails_b)
                      or (names_a and names_b and not names_a & names_b)):
            return False
        self.parent[rb] = ra
        self.merged[ra] = (mobiles_a | mobiles_b, emails_a | emails_b, names_a | names_b)
        self.merged.pop(rb, None)
        return True


def _cluster_people(entries: list[Entry], company_root: list[int]) -> list[int]:
    people = _People(entries)
    union = people.union

    # A person belongs to one company: every rule below stays inside a company cluster.
    for attr in ("mobile", "email"):
        for group in _groups([(getattr(e, attr), company_root[i]) if getattr(e, attr) else None for i, e in enumerate(entries)]):
            for i in group[1:]:
                union(group[0], i, check=False)
    full_names = [(e.name, company_root[i]) if e.name and not e.is_title and len(e.name) >= 2 else None for i, e in enumerate(entries)]
    for group in _groups(full_names):
        for i in group[1:]:
            union(group[0], i, check=True)
    # A landline with its extension is one person's desk; without one, a line several people answer.
    # Rows on one line join when their names agree (a title fitting the name counts).
    lines = [(e.landline, e.extension, company_root[i]) if e.landline else None for i, e in enumerate(entries)]
    for group in _groups(lines):
        named = [i for i in group if entries[i].name]
        extension = entries[group[0]].extension
        for x, i in enumerate(named[1:], start=1):
            for j in named[:x]:
                if _names_agree(entries[i], entries[j]) and union(j, i, check=True):
                    break
        # A row with no name on a line: the one person who answers it, if only one does (or the desk's).
        nameless = [i for i in group if not entries[i].name]
        answering = {people.find(i) for i in named}
        if nameless and (len(answering) == 1 or (extension and len(answering) <= 1)):
            target = answering.pop() if answering else nameless[0]
            for i in nameless:
                union(target, i, check=True)
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
