"""Money: `Decimal` yuan (CNY), rounded in one place.

Every amount a person sees or a total is built from passes through `quantize` (two places, half up, as
Chinese invoices and quotes round: 四舍五入). Parsing what people type and formatting for pages live
here too, so the lead budget, a deal amount and a quote line read and round alike.
"""

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db.models import DecimalField, FloatField, Func, Sum
from django.utils.translation import gettext as _

CURRENCY = "CNY"
CENT = Decimal("0.01")
# The largest amount accepted anywhere (the columns are DECIMAL(14, 2)).
MAX_MONEY = Decimal("1e12")


def quantize(amount) -> Decimal:
    """`amount` as a 2-place Decimal, rounded half up. The only place money is rounded."""
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def fen(expression) -> Func:
    """A money expression (in fen) rounded to whole fen, for summing in the database.

    Sums of these stay exact on both databases: PostgreSQL adds numerics, and SQLite (which keeps
    decimals as floating point) adds doubles holding whole numbers, exact up to 2**53 fen (~90 trillion
    yuan). One ROUND per row costs a third of the former CAST/ROUND/CAST chain over a whole table.
    """
    return Func(expression, function="ROUND", output_field=FloatField())


def sum_fen(expression, **options) -> Sum:
    """`Sum(fen(expression))`: give the expression in fen (amount × 100); read the result with `from_fen`."""
    return Sum(fen(expression), **options)


def from_fen(value) -> Decimal:
    """A database sum in fen (None for no rows) as yuan."""
    return quantize(Decimal(value or 0) / 100)


def parse_money(value) -> Decimal | None:
    """An amount in yuan as people type it, quantized; None for empty.

    Digits with separators and signs (“¥50,000”, “５００００元”), and Chinese magnitudes: “5万”, “50万元”,
    “1.2亿”, “5千万” (digits times the units, in Decimal, so nothing is lost to floats), and amounts in
    Chinese numerals (“五万”, “十万零五百”, “一万五”, “壹拾贰万”). Raises ValueError for text that is not
    an amount, a negative amount, or one beyond MAX_MONEY.
    """
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float):
        amount = Decimal(str(value))
    else:
        text = _strip_currency(str(value))
        if not text:
            return None
        amount = _amount_from_text(text, value)
    if not amount.is_finite() or amount < 0 or amount >= MAX_MONEY:
        raise ValueError(value)
    return quantize(amount)


# What people write around an amount: the currency before it, the unit after it (元, 块, 元整).
_CURRENCY_PREFIX = re.compile(r"^(?:人民币|rmb|cny|¥|￥)+", re.IGNORECASE)
_CURRENCY_SUFFIX = re.compile(r"(?:元整|元|块钱|块|rmb|cny)$", re.IGNORECASE)
_MAGNITUDES = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
# Digits followed by magnitudes only: 5万, 1.2亿, 5千万, 3百万.
_DIGITS_TIMES_MAGNITUDE = re.compile(r"(\d+(?:\.\d+)?)([十百千万亿]+)")
_CHINESE_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟点]")


def _strip_currency(raw: str) -> str:
    text = "".join(unicodedata.normalize("NFKC", raw).split()).replace(",", "")
    text = _CURRENCY_PREFIX.sub("", text)
    return _CURRENCY_SUFFIX.sub("", text)


def _amount_from_text(text: str, raw) -> Decimal:
    if match := _DIGITS_TIMES_MAGNITUDE.fullmatch(text):
        amount = Decimal(match.group(1))
        for unit in match.group(2):
            amount *= _MAGNITUDES[unit]
        return amount
    if _CHINESE_NUMERAL.search(text):
        import cn2an  # loaded only when an amount is written in Chinese numerals

        try:
            return Decimal(str(cn2an.cn2an(text, "smart")))
        except ValueError:
            raise ValueError(raw) from None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(raw) from None


def echo(text: str) -> tuple[str, str]:
    """What an amount field will save, shown under it while typing: ("¥50,000.00", "") for “5万”, ("", why) for
    text that is not an amount, ("", "") for an empty field."""
    try:
        amount = parse_money((text or "").strip()[:50])
    except ValueError:
        return "", _("Not an amount: write it as 50000, 5万, 1.2亿 or 五万.")
    return (format_yuan(amount), "") if amount is not None else ("", "")


def format_yuan(amount) -> str:
    """¥1,200,000.00, grouped by thousands; an empty amount is a dash."""
    if amount is None or amount == "":
        return "—"
    try:
        return f"¥{quantize(amount):,.2f}"
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)


def is_money_field(field) -> bool:
    """Whether a model field holds an amount: the app's money columns are all DECIMAL(14, 2) (`MONEY` in the
    models); quantities, rates and percentages are narrower."""
    return isinstance(field, DecimalField) and field.max_digits == 14 and field.decimal_places == 2


def amount_in_words(amount) -> str:
    """The amount in capital Chinese numerals as contracts and quotes write it (人民币大写):
    123400 → 壹拾贰万叁仟肆佰元整, 100.05 → 壹佰元零伍分. Rounded like every other amount first."""
    import cn2an

    value = quantize(amount)
    words = cn2an.an2cn(f"{abs(value):.2f}", "rmb")
    return f"负{words}" if value < 0 else words
