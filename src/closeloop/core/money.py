"""Money: `Decimal` yuan (CNY), rounded in one place.

Every amount a person sees or a total is built from passes through `quantize` (two places, half up, as
Chinese invoices and quotes round: 四舍五入). Parsing what people type and formatting for pages live
here too, so the lead budget, a deal amount and a quote line read and round alike.
"""

import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CURRENCY = "CNY"
CENT = Decimal("0.01")
# The largest amount accepted anywhere (the columns are DECIMAL(14, 2)).
MAX_MONEY = Decimal("1e12")


def quantize(amount) -> Decimal:
    """`amount` as a 2-place Decimal, rounded half up. The only place money is rounded."""
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(value) -> Decimal | None:
    """An amount in yuan as people type it (“¥50,000”, “５００００元”), quantized; None for empty.

    Raises ValueError for text that is not an amount, a negative amount, or one beyond MAX_MONEY.
    """
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float):
        amount = Decimal(str(value))
    else:
        text = unicodedata.normalize("NFKC", str(value))
        text = "".join(text.split()).replace(",", "").replace("¥", "").replace("￥", "").removesuffix("元")
        if not text:
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(value) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_MONEY:
        raise ValueError(value)
    return quantize(amount)


def format_yuan(amount) -> str:
    """¥1,200,000.00, grouped by thousands; an empty amount is a dash."""
    if amount is None or amount == "":
        return "—"
    try:
        return f"¥{quantize(amount):,.2f}"
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)


def amount_in_words(amount) -> str:
    """The amount in capital Chinese numerals as contracts and quotes write it (人民币大写):
    123400 → 壹拾贰万叁仟肆佰元整, 100.05 → 壹佰元零伍分. Rounded like every other amount first."""
    import cn2an

    value = quantize(amount)
    words = cn2an.an2cn(f"{abs(value):.2f}", "rmb")
    return f"负{words}" if value < 0 else words
