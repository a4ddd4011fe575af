from decimal import Decimal

import pytest
from django.urls import reverse

from closeloop.core.money import amount_in_words, format_yuan, parse_money, quantize


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
        # Chinese magnitudes and numerals, as budgets are written in China (issue 15).
        ("5万", Decimal("50000.00")),
        ("50万元", Decimal("500000.00")),
        ("五万", Decimal("50000.00")),
        ("1.2亿", Decimal("120000000.00")),
        ("3.5 万", Decimal("35000.00")),
        ("5千万", Decimal("50000000.00")),
        ("人民币50万元", Decimal("500000.00")),
        ("1.23456789亿", Decimal("123456789.00")),  # Decimal all the way: no float rounding
        ("十万零五百", Decimal("100500.00")),
        ("一万五", Decimal("15000.00")),
        ("两千", Decimal("2000.00")),
        ("壹拾贰万叁仟肆佰元整", Decimal("123400.00")),
        ("8000块", Decimal("8000.00")),
    ],
)
def test_it_parses_amounts_as_people_type_them(raw, expected):
    assert parse_money(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "-5", "1e12", "NaN", "Infinity", "很多", "负五万", "万", "1万亿", "5.5.5万"])
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


# Checked by hand against the People's Bank rules for writing amounts (支付结算办法, 正确填写票据和结算凭证的基本规定):
# one 零 for a run of zeros, 整 after 元 when there are no fen, none after 角 or 分.
@pytest.mark.parametrize(
    "amount, words",
    [
        ("123400", "壹拾贰万叁仟肆佰元整"),
        ("0.5", "伍角"),
        ("0.05", "伍分"),
        ("0", "零元整"),
        ("100.05", "壹佰元零伍分"),
        ("1.10", "壹元壹角"),
        ("1010", "壹仟零壹拾元整"),
        ("10005", "壹万零伍元整"),
        ("1050000", "壹佰零伍万元整"),
        ("30000.07", "叁万元零柒分"),
        ("100100100", "壹亿零壹拾万零壹佰元整"),
        ("1000000000.01", "壹拾亿元零壹分"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        (Decimal("2.675"), "贰元陆角捌分"),  # rounded half up like every amount
        ("-56.00", "负伍拾陆元整"),
    ],
)
def test_it_writes_amounts_in_capital_numerals(amount, words):
    assert amount_in_words(amount) == words


def test_an_amount_field_echoes_what_it_will_save_while_typing(client, org):
    client.force_login(org.owner)
    url = reverse("money_echo")
    for typed, shown in (("5万", "→ ¥50,000.00"), ("五万", "→ ¥50,000.00"), ("1.2亿", "→ ¥120,000,000.00"),
                         ("¥50,000", "→ ¥50,000.00")):
        body = client.get(url, {"field": "budget", "echo": "id_budget_echo", "budget": typed}).content.decode()
        assert 'id="id_budget_echo"' in body and shown in body
    body = client.get(url, {"field": "budget", "budget": "十万左右"}, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'class="date-echo error"' in body and "无法识别的金额：请写成 50000、5万、1.2亿 或 五万。" in body
    assert "→" not in client.get(url, {"field": "budget", "budget": ""}).content.decode()
    assert client.get(url, {"field": "budget", "echo": "<x>"}).status_code == 404
    client.logout()
    assert client.get(url, {"field": "budget", "budget": "5万"}).status_code == 302
