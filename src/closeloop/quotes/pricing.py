"""Line amounts, tax, totals, discount and gross margin of a quote: worked out here and nowhere else.

Prices are typed including tax (含税) or excluding it (不含税), as the quote settings say; each version
keeps the basis it was made in. Money is rounded by `core.money.quantize` (half up) at the line, and totals
are sums of rounded line amounts, so the PDF's columns add up to its total the way a reader checks them.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from closeloop.core.money import quantize

HUNDRED = Decimal(100)
# A price far above list gives a "negative discount"; kept inside the column's range.
DISCOUNT_FLOOR = Decimal("-9999.99")


def percent(value: Decimal) -> Decimal:
    """A percentage to two places, half up."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def convert_price(price: Decimal, *, tax_rate: Decimal, from_incl: bool, to_incl: bool) -> Decimal:
    """A unit price from one basis to the other (含税 ↔ 不含税)."""
    if from_incl == to_incl:
        return quantize(price)
    factor = 1 + tax_rate / HUNDRED
    return quantize(price * factor if to_incl else price / factor)


@dataclass(frozen=True)
class LineAmounts:
    net_unit_price: Decimal  # after the discount, in the version's basis
    amount_excl_tax: Decimal
    tax_amount: Decimal
    amount_incl_tax: Decimal
    cost_amount: Decimal | None
    list_amount: Decimal  # quantity × list price (or the typed price for a line without one), in the basis
    prices_include_tax: bool

    @property
    def net_amount(self) -> Decimal:
        """The line's amount in the basis it was typed in."""
        return self.amount_incl_tax if self.prices_include_tax else self.amount_excl_tax


def line_amounts(*, quantity: Decimal, unit_price: Decimal, discount_pct: Decimal, tax_rate: Decimal,
                 unit_cost: Decimal | None, list_price: Decimal | None, prices_include_tax: bool) -> LineAmounts:
    factor = 1 - discount_pct / HUNDRED
    gross = quantity * unit_price * factor
    if prices_include_tax:
        incl = quantize(gross)
        excl = quantize(incl / (1 + tax_rate / HUNDRED))
        tax = incl - excl
    else:
        excl = quantize(gross)
        tax = quantize(excl * tax_rate / HUNDRED)
        incl = excl + tax
    reference = list_price if list_price is not None else unit_price
    return LineAmounts(
        net_unit_price=quantize(unit_price * factor), amount_excl_tax=excl, tax_amount=tax, amount_incl_tax=incl,
        cost_amount=quantize(quantity * unit_cost) if unit_cost is not None else None,
        list_amount=quantize(quantity * reference), prices_include_tax=prices_include_tax,
    )


def discount_off(list_amount: Decimal, net_amount: Decimal) -> Decimal:
    """How far below list a net amount is, in percent (negative when above list)."""
    if list_amount <= 0:
        return Decimal(0)
    return max(percent((1 - net_amount / list_amount) * HUNDRED), DISCOUNT_FLOOR)


@dataclass(frozen=True)
class Totals:
    list_total: Decimal
    total_excl_tax: Decimal
    tax_total: Decimal
    total_incl_tax: Decimal
    cost_total: Decimal
    margin_amount: Decimal
    margin_pct: Decimal | None
    discount_pct: Decimal
    max_line_discount_pct: Decimal
    lines_without_cost: int

    def stored(self) -> dict:
        """The fields a version keeps (everything but the count of lines without a cost)."""
        return {name: getattr(self, name) for name in STORED_TOTALS}


STORED_TOTALS = ["list_total", "total_excl_tax", "tax_total", "total_incl_tax", "cost_total", "margin_amount",
                 "margin_pct", "discount_pct", "max_line_discount_pct"]


def totals(lines: Iterable[LineAmounts]) -> Totals:
    """A version's totals from its lines' amounts. A line without a cost counts as costing nothing and is
    counted in `lines_without_cost`, so a page can say the margin is overstated."""
    lines = list(lines)
    zero = Decimal("0.00")
    list_total = sum((line.list_amount for line in lines), zero)
    net_total = sum((line.net_amount for line in lines), zero)
    excl = sum((line.amount_excl_tax for line in lines), zero)
    tax = sum((line.tax_amount for line in lines), zero)
    incl = sum((line.amount_incl_tax for line in lines), zero)
    cost = sum((line.cost_amount for line in lines if line.cost_amount is not None), zero)
    margin = excl - cost
    return Totals(
        list_total=list_total, total_excl_tax=excl, tax_total=tax, total_incl_tax=incl, cost_total=cost,
        margin_amount=margin, margin_pct=percent(margin / excl * HUNDRED) if excl > 0 else None,
        discount_pct=discount_off(list_total, net_total),
        max_line_discount_pct=max((discount_off(line.list_amount, line.net_amount) for line in lines),
                                  default=Decimal(0)),
        lines_without_cost=sum(1 for line in lines if line.cost_amount is None),
    )


def amounts_of(line, *, prices_include_tax: bool) -> LineAmounts:
    """The amounts of a stored quote line (or anything with its input fields)."""
    return line_amounts(quantity=line.quantity, unit_price=line.unit_price, discount_pct=line.discount_pct,
                        tax_rate=line.tax_rate, unit_cost=line.unit_cost, list_price=line.list_price,
                        prices_include_tax=prices_include_tax)
