"""One normalizer for phones, emails, company names and credit codes, used by every channel and by search."""

import re
import unicodedata

import phonenumbers

_SPACES = re.compile(r"\s+")


def fold_width(text: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms (NFKC), whitespace collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "")).strip()


def phone_key(raw: str, *, region: str = "CN") -> str:
    """E.164 form of a phone number (China by default), or "" when it is not a valid number."""
    text = fold_width(raw)
    if not text:
        return ""
    text = re.sub(r"(?<=\d)[\s\-–—.()（）]+(?=\d)", "", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if re.fullmatch(r"86\d{11}", text):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    if not e164:
        return False
    number = phonenumbers.parse(e164)
    return phonenumbers.number_type(number) in {
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
    }


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_key(raw: str) -> str:
    text = fold_width(raw).replace(" ", "").lower()
    return text if _EMAIL.match(text) else ""


def company_key(raw: str) -> str:
    """A comparable form of a company name. Extended by the duplicate engine."""
    return fold_width(raw).replace(" ", "").lower()


# GB 32100-2015: 18 characters from this alphabet (no I, O, Z, S, V); the 18th checks the first 17.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714: positions 9–17 are the organization code, whose 9th character checks its first 8.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code_key(raw: str) -> str:
    return fold_width(raw).replace(" ", "").upper()


def credit_code_error(code: str) -> str | None:
    """Why a unified social credit code is invalid, in words a person can act on; None when valid."""
    from django.utils.translation import gettext as _

    if len(code) != 18:
        return _("A unified social credit code has 18 characters; this one has %(n)d.") % {"n": len(code)}
    bad = [c for c in code if c not in _USCC_CHARS]
    if bad:
        return _("A unified social credit code cannot contain “%(chars)s”.") % {"chars": "".join(dict.fromkeys(bad))}
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    expected = _USCC_CHARS[(31 - total % 31) % 31]
    if code[17] != expected:
        return _("The check character of this unified social credit code does not match; please check for a typo.")
    org = code[8:17]
    org_total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(org[:8], _ORG_WEIGHTS, strict=True))
    org_check = 11 - org_total % 11
    org_expected = {10: "X", 11: "0"}.get(org_check, str(org_check))
    if org[8] != org_expected:
        return _("The organization code inside this unified social credit code (characters 9–17) does not check out.")
    return None
