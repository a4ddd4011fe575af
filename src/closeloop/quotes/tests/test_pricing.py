"""Line amounts, tax, totals, discount and margin: the one place they are worked out."""

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from closeloop.quotes.pricing import convert_price, line_amounts, totals


def line(quantity="1", price="100", discount="0", rate="13", cost=None, list_price=None, incl=True):
    return line_amounts(quantity=D(quantity), unit_price=D(price), discount_pct=D(discount), tax_rate=D(rate),
                        unit_cost=D(cost) if cost is not None else None,
                        list_price=D(list_price) if list_price is not None else None, prices_include_tax=incl)


def test_it_takes_tax_out_of_a_tax_inclusive_price():
    amounts = line(quantity="3", price="113", discount="10", rate="13", cost="50")
    assert amounts.amount_incl_tax == D("305.10")
    assert amounts.amount_excl_tax == D("270.00")
    assert amounts.tax_amount == D("35.10")
    assert amounts.net_unit_price == D("101.70")
    assert amounts.cost_amount == D("150.00")


def test_it_adds_tax_to_a_tax_exclusive_price():
    amounts = line(quantity="2", price="100", rate="6", incl=False)
    assert (amounts.amount_excl_tax, amounts.tax_amount, amounts.amount_incl_tax) == (D("200.00"), D("12.00"), D("212.00"))


def test_it_rounds_half_up_at_the_line():
    assert line(price="0.05", rate="13", incl=False).tax_amount == D("0.01")
    # 1/3 of a yuan, three times: the line rounds once, not each unit.
    assert line(quantity="3", price="0.333", rate="0", incl=False).amount_excl_tax == D("1.00")


def test_it_works_out_the_discount_off_list_and_the_margin():
    result = totals([
        line(quantity="3", price="113", discount="10", cost="50"),  # list 339, net 305.10 incl
        line(quantity="1", price="100", list_price="113", cost="60"),  # sold below list without a typed discount
        line(quantity="1", price="50"),  # free text, no cost
    ])
    assert result.list_total == D("502.00")
    assert result.total_incl_tax == D("455.10")
    assert result.total_excl_tax == D("270.00") + D("88.50") + D("44.25")
    assert result.tax_total == result.total_incl_tax - result.total_excl_tax
    assert result.cost_total == D("210.00")
    assert result.margin_amount == result.total_excl_tax - D("210.00")
    assert result.margin_pct == D("47.86")  # 192.75 / 402.75 = 0.47858…
    assert result.discount_pct == D("9.34")  # 1 - 455.10 / 502
    assert result.max_line_discount_pct == D("11.50")  # 100 against a list price of 113
    assert result.lines_without_cost == 1


def test_an_empty_quote_has_no_margin_percentage():
    result = totals([])
    assert result.total_incl_tax == D("0.00") and result.margin_pct is None and result.discount_pct == 0


def test_it_converts_list_prices_between_bases():
    assert convert_price(D("100"), tax_rate=D("13"), from_incl=False, to_incl=True) == D("113.00")
    assert convert_price(D("113"), tax_rate=D("13"), from_incl=True, to_incl=False) == D("100.00")
    assert convert_price(D("99.99"), tax_rate=D("6"), from_incl=True, to_incl=True) == D("99.99")


amount = st.decimals(min_value=D("0"), max_value=D("999999"), places=2)


@given(quantity=st.decimals(min_value=D("0.01"), max_value=D("9999"), places=2), price=amount,
       discount=st.decimals(min_value=D("0"), max_value=D("100"), places=2), rate=st.sampled_from(["13", "9", "6", "0"]),
       incl=st.booleans())
def test_tax_and_net_always_add_up_to_the_gross(quantity, price, discount, rate, incl):
    amounts = line(quantity=quantity, price=price, discount=discount, rate=rate, incl=incl)
    assert amounts.amount_excl_tax + amounts.tax_amount == amounts.amount_incl_tax
    assert D(0) <= amounts.amount_excl_tax <= amounts.amount_incl_tax
    assert amounts.amount_incl_tax.as_tuple().exponent == -2
    typed = amounts.amount_incl_tax if incl else amounts.amount_excl_tax
    assert abs(typed - quantity * price * (1 - discount / 100)) <= D("0.005")
