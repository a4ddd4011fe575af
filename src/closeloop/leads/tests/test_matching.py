"""The matching rules on hand-made examples of every variation real lists show, and on generated lists."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.leads.dedup import cluster_rows, map_headers
from closeloop.leads.matching import compare, make_entry

CODE_A = "91350100M000100Y43"
CODE_B = "91320102UPDQP3PA2D"


def entry(ref=0, **fields):
    return make_entry(ref, **fields)


def clusters(*rows):
    return cluster_rows([dict(r) for r in rows])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("杭州普腾康汇食品有限公司", "普腾康汇食品股份有限公司"),  # legal form swapped
        ("杭州普腾康汇食品有限公司", "普腾康汇食品（杭州）有限公司"),  # region in brackets
        ("杭州市普腾康汇食品有限公司", "普腾康汇食品(杭州)公司"),  # with 市, ASCII brackets
        ("浙江省杭州市普腾康汇食品有限公司", "杭州普腾康汇食品"),  # province and city, no legal form
        ("普騰康匯食品有限公司", "普腾康汇食品有限公司"),  # traditional characters
        ("普腾康汇食品（杭州）有限公司", " 普腾康汇 食品\t有限公司 "),  # spaces and tabs
        ("普腾康汇食品有限公司", "普腾康汇"),  # brand only
        ("普腾康汇食品有限公司", "普滕康汇食品有限公司"),  # one-character typo in a long brand
    ],
)
def test_it_finds_the_same_company_written_differently(a, b):
    verdict = compare(entry(company_name=a), entry(1, company_name=b))
    assert verdict is not None and verdict.same_company
    (_, company_a), (_, company_b) = clusters({"company_name": a}, {"company_name": b})
    assert company_a == company_b


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("杭州达云食品有限公司", "杭州达云贸易有限公司"),  # sister companies: same brand, other business
        ("青岛润宇实业有限公司", "昆明润宇实业有限公司"),  # same name registered in two cities
        ("润宇实业（青岛）有限公司", "昆明市润宇实业股份有限公司"),
        ("优兴教育科技有限公司", "优兴科技有限公司"),  # containment is not sameness
        ("达云食品有限公司", "达运食品有限公司"),  # a two-character brand tolerates no typo
    ],
)
def test_it_keeps_different_companies_apart(a, b):
    assert compare(entry(company_name=a), entry(1, company_name=b)) is None
    (_, company_a), (_, company_b) = clusters({"company_name": a}, {"company_name": b})
    assert company_a != company_b


def test_two_valid_credit_codes_override_identical_names():
    a = entry(company_name="华为技术有限公司", credit_code=CODE_A, mobile="13912345678")
    b = entry(1, company_name="华为技术有限公司", credit_code=CODE_B, mobile="13912345678")
    assert compare(a, b) is None
    rows = clusters({"company_name": "华为技术有限公司", "credit_code": CODE_A},
                    {"company_name": "华为技术有限公司", "credit_code": CODE_B})
    assert rows[0][1] != rows[1][1]


def test_one_credit_code_joins_different_spellings_and_says_so():
    verdict = compare(entry(company_name="华为", credit_code=CODE_A), entry(1, company_name="深圳华为技术", credit_code=CODE_A))
    assert verdict.same_company and "credit_code" in verdict.reasons


def test_an_invalid_credit_code_is_no_signal():
    bad = "91350100M000100Y44"
    assert compare(entry(company_name="甲公司", credit_code=bad), entry(1, company_name="乙集团", credit_code=bad)) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"mobile": "+86 139-1234-5678"}, {"mobile": "13912345678"}),
        ({"mobile": "86-13912345678"}, {"mobile": "１３９１２３４５６７８"}),
        ({"email": "Wang.Wei@QQ.COM"}, {"email": " wang.wei@qq.com "}),
        ({"contact_name": "王伟", "mobile": "13912345678"}, {"contact_name": "王总"}),
        ({"contact_name": "王伟"}, {"contact_name": "王伟", "email": "ww@pt.cn"}),
    ],
)
def test_it_finds_the_same_person(a, b):
    base = {"company_name": "杭州普腾康汇食品有限公司"}
    verdict = compare(entry(**base, **a), entry(1, **{**base, "company_name": "普腾康汇食品公司"}, **b))
    assert verdict.same_person
    rows = clusters({**base, **a}, {**base, **b})
    assert rows[0] == rows[1]


def test_a_title_with_two_candidates_stays_apart():
    base = {"company_name": "普腾康汇食品有限公司"}
    rows = clusters({**base, "contact_name": "王伟", "mobile": "13912345678"},
                    {**base, "contact_name": "王强", "mobile": "13812345678"},
                    {**base, "contact_name": "王总"})
    assert len({r[0] for r in rows}) == 3
    assert len({r[1] for r in rows}) == 1


def test_a_public_mail_domain_says_nothing_about_the_company():
    a = entry(company_name="甲乙丙科技有限公司", email="a@qq.com")
    b = entry(1, company_name="丁戊己贸易有限公司", email="b@qq.com")
    assert compare(a, b) is None
    assert "email_domain" not in (compare(entry(company_name="甲乙丙科技", email="a@qq.com"),
                                          entry(1, company_name="甲乙丙科技", email="b@qq.com")).reasons)


def test_a_shared_mobile_links_a_short_name_to_the_full_one():
    rows = clusters({"company_name": "普腾", "mobile": "13912345678", "contact_name": "王伟"},
                    {"company_name": "杭州普腾康汇食品有限公司", "mobile": "139 1234 5678", "contact_name": "王伟"})
    assert rows[0] == rows[1]


def test_a_person_at_two_unrelated_companies_is_two_leads():
    rows = clusters({"company_name": "普腾康汇食品有限公司", "mobile": "13912345678"},
                    {"company_name": "达云贸易有限公司", "mobile": "13912345678"})
    assert rows[0][1] != rows[1][1] and rows[0][0] != rows[1][0]


def test_it_maps_chinese_and_english_headers():
    assert map_headers(["公司名称", "联系人", "手机", "邮箱", "城市", "统一社会信用代码", "来源"]) == {
        "company_name": "公司名称", "contact_name": "联系人", "mobile": "手机", "email": "邮箱", "city": "城市",
        "credit_code": "统一社会信用代码",
    }
    assert map_headers(["Company", "Contact", "Mobile", "E-mail"])["email"] == "E-mail"


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_on_generated_lists_it_stays_precise_and_finds_most_duplicates(seed):
    from bench.dedup_data import generate
    from bench.dedup_quality import pairwise_scores

    rows, labels = generate(300, seed=seed)
    found = cluster_rows(rows)
    person = pairwise_scores([p for p, _ in labels], [p for p, _ in found])
    company = pairwise_scores([c for _, c in labels], [c for _, c in found])
    assert person["precision"] >= 0.97 and person["recall"] >= 0.9
    assert company["precision"] >= 0.95 and company["recall"] >= 0.9


SURNAMES = "王李张刘陈杨黄赵吴周"
TITLES = ["总", "经理", "老师", "工", "总监"]


@settings(max_examples=60, deadline=None)
@given(brand=st.text(alphabet="华盛达通恒鑫源泰瑞宏鼎昌隆兴丰博创联汇启明辰宇航凯越卓润诚", min_size=3, max_size=5),
       position=st.integers(min_value=0, max_value=4), typo=st.sampled_from("甲乙丙丁戊己庚辛"),
       industry=st.sampled_from(["科技", "食品", "物流", "咨询"]))
def test_a_one_character_typo_in_a_brand_of_three_or_more_is_the_same_company(brand, position, typo, industry):
    position %= len(brand)
    misspelt = brand[:position] + typo + brand[position + 1:]
    verdict = compare(entry(company_name=f"{brand}{industry}有限公司"), entry(1, company_name=f"{misspelt}{industry}公司"))
    assert verdict is not None and verdict.same_company


@settings(max_examples=60, deadline=None)
@given(brand=st.text(alphabet="华盛达通恒鑫源泰瑞宏鼎昌隆兴丰博创联汇启明辰宇航凯越卓润诚", min_size=2, max_size=4),
       industries=st.lists(st.sampled_from(["科技", "食品", "物流", "咨询", "贸易", "医药"]), min_size=2, max_size=2,
                           unique=True))
def test_sister_companies_sharing_a_brand_stay_apart(brand, industries):
    a, b = (entry(i, company_name=f"{brand}{industry}有限公司", mobile=f"1391234567{i}") for i, industry in enumerate(industries))
    assert compare(a, b) is None


@settings(max_examples=60, deadline=None)
@given(surname=st.sampled_from(SURNAMES), given_name=st.text(alphabet="伟芳娜敏静丽强磊军洋", min_size=1, max_size=2),
       title=st.sampled_from(TITLES), mobile=st.from_regex(r"13[0-9]{9}", fullmatch=True))
def test_a_title_instead_of_a_name_is_the_same_person(surname, given_name, title, mobile):
    rows = clusters(
        {"company_name": "普腾康汇食品有限公司", "contact_name": surname + given_name, "mobile": mobile},
        {"company_name": "杭州普腾康汇食品股份公司", "contact_name": surname + title, "email": "boss@ptkh.cn"},
    )
    assert rows[0] == rows[1]
