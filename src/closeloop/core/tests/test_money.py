from decimal import Decimal

import pytest

from closeloop.core.money import format_yuan, parse_money, quantize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("50000", Decimal("50000.00")),
        ("¥50,000", Decimal("50000.00")),
        ("５００００元", Decimal("50000.00")),
        (" 1 200.5 ", Decimal("1200.50")),
        (Decimal("0.005"), Decimal("0.01")),  # half up, as invoices round
        (12, Decimal("12.00")),
        ("", None),
        (None, None),
    ],
)
def test_it_parses_amounts_as_people_type_them(raw, expected):
    assert parse_money(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "-5", "1e12", "NaN", "Infinity"])
def test_it_refuses_what_is_not_an_amount(raw):
    with pytest.raises(ValueError):
        parse_money(raw)


def test_it_rounds_half_up_in_one_place():
    assert quantize(Decimal("2.675")) == Decimal("2.68")
    assert quantize("1.005") == Decimal("1.01")
    assert quantize(Decimal("-1.005")) == Decimal("-1.01")


def test_it_formats_yuan_grouped_by_thousands():
    assert format_yuan(Decimal("1200000")) == "¥1,200,000.00"
    assert format_yuan(None) == "—"
