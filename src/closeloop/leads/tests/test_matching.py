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


@pytest.mark.parametrize("other", ["达云贸易有限公司", "普腾康汇贸易有限公司"])  # unrelated, or a sister company
def test_a_person_at_two_companies_is_two_leads_whatever_they_share(other):
    rows = clusters({"company_name": "普腾康汇食品有限公司", "mobile": "13912345678"},
                    {"company_name": other, "mobile": "13912345678"})
    assert rows[0][1] != rows[1][1] and rows[0][0] != rows[1][0]


def test_it_maps_chinese_and_english_headers():
    assert map_headers(["公司名称", "联系人", "手机", "邮箱", "城市", "统一社会信用代码", "来源"]) == {
        "company_name": "公司名称", "contact_name": "联系人", "mobile": "手机", "email": "邮箱", "city": "城市",
        "credit_code": "统一社会信用代码",
    }
    assert map_headers(["Company", "Contact", "Mobile", "E-mail"])["email"] == "E-mail"


# Derandomized: the same lists every run, none of them the seeds the engine was developed on.
@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=st.integers(min_value=10_000, max_value=1_000_000))
def test_on_generated_lists_it_stays_precise_and_finds_most_duplicates(seed):
    from bench.dedup_gen import generate
    from bench.dedup_quality import score

    result = score(*generate(1000, seed=seed))
    assert result["person"]["precision"] >= 0.98 and result["person"]["recall"] >= 0.95
    assert result["company"]["precision"] >= 0.97 and result["company"]["recall"] >= 0.94


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("上海轮询测试1号科技有限公司", "上海轮询测试2号科技有限公司"),  # only a digit apart
        ("轮询测试1号科技", "轮询测试２号科技"),  # full-width digit, still another number
        ("普腾康汇食品有限公司第一分公司", "普腾康汇食品有限公司第二分公司"),  # branches
        ("普腾康汇食品有限公司一分公司", "普腾康汇食品有限公司"),  # a branch is not its parent
        ("普腾康汇食品有限公司北京分公司", "普腾康汇食品有限公司上海分公司"),
        ("杭州普腾服装一厂", "杭州普腾服装二厂"),  # factories
        ("杭州普腾服装一厂", "杭州普腾服装厂"),
    ],
)
def test_digits_numerals_and_branch_words_keep_companies_apart(a, b):
    shared = {"mobile": "13912345678"}  # even a shared mobile does not make them one company
    assert compare(entry(company_name=a), entry(1, company_name=b)) is None
    assert compare(entry(company_name=a, **shared), entry(1, company_name=b, **shared)) is None
    (_, company_a), (_, company_b) = clusters({"company_name": a, **shared}, {"company_name": b, **shared})
    assert company_a != company_b


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("普腾康汇食品有限公司第一分公司", "普腾康汇食品（杭州）有限公司一分公司"),
        ("普腾康汇食品有限公司第1分公司", "普腾康汇食品有限公司一分公司"),
        ("杭州普腾服装一厂", "杭州市普腾服装第一厂"),
        ("上海轮询测试1号科技有限公司", "轮询测试一号科技（上海）公司"),
        ("普腾康汇食品有限公司北京分公司", "普腾康汇食品股份有限公司北京市分公司"),
    ],
)
def test_the_same_branch_or_number_written_two_ways_is_one_company(a, b):
    verdict = compare(entry(company_name=a), entry(1, company_name=b))
    assert verdict is not None and verdict.same_company
    (_, company_a), (_, company_b) = clusters({"company_name": a}, {"company_name": b})
    assert company_a == company_b


def test_a_credit_code_joins_numbered_names_the_rules_keep_apart():
    a = entry(company_name="轮询测试1号科技", credit_code=CODE_A)
    b = entry(1, company_name="轮询测试2号科技", credit_code=CODE_A)
    assert compare(a, b).same_company
    rows = clusters({"company_name": "轮询测试1号科技", "credit_code": CODE_A},
                    {"company_name": "轮询测试2号科技", "credit_code": CODE_A})
    assert rows[0][1] == rows[1][1]


@pytest.mark.parametrize(
    ("short", "reason"),
    [
        ("普腾", "short_name"),  # a short name
        ("普腾康汇", "brand"),  # the brand alone
        ("普滕康汇", "similar_name"),  # the brand alone, with a typo
        ("普滕康汇食品", "similar_name"),  # a typo in the brand
        ("杭州市普藤康汇", "similar_name"),
    ],
)
def test_contact_evidence_joins_short_and_misspelt_names_and_says_why(short, reason):
    full = {"company_name": "杭州普腾康汇食品有限公司", "contact_name": "王伟", "mobile": "13912345678"}
    written = {"company_name": short, "contact_name": "王伟", "mobile": "139 1234 5678"}
    verdict = compare(entry(**written), entry(1, **full))
    assert verdict.same_person and verdict.same_company
    assert reason in verdict.reasons and "mobile" in verdict.reasons
    rows = clusters(full, written)
    assert rows[0] == rows[1]


def test_the_same_email_joins_a_short_name_even_on_a_public_domain():
    rows = clusters({"company_name": "普腾康汇食品有限公司", "contact_name": "王伟", "email": "wangwei88@qq.com"},
                    {"company_name": "普腾", "contact_name": "王总", "email": "WANGWEI88@QQ.COM"})
    assert rows[0] == rows[1]


def test_a_two_character_brand_typo_needs_contact_evidence_and_the_same_industry():
    assert compare(entry(company_name="峰源建材有限公司"), entry(1, company_name="峰园建材有限公司")) is None
    verdict = compare(entry(company_name="峰源建材有限公司", mobile="13912345678"),
                      entry(1, company_name="峰园建材有限公司", mobile="13912345678"))
    assert verdict.same_person and "similar_name" in verdict.reasons


def test_a_person_given_by_landline_in_one_row_and_by_mobile_in_another_is_one_person():
    rows = clusters(
        {"company_name": "杭州普腾康汇食品有限公司", "contact_name": "王伟", "mobile": "13912345678"},
        {"company_name": "普腾康汇食品", "contact_name": "王伟", "mobile": "0571-88886666"},  # a landline in 手机
        {"company_name": "普腾康汇食品(杭州)公司", "contact_name": "王总", "mobile": "(0571)88886666"},
        {"company_name": "普腾康汇食品公司", "contact_name": "王伟", "mobile": "139 1234 5678 / 0571-88886666"},
    )
    assert len({r[0] for r in rows}) == 1


def test_a_switchboard_shared_by_two_people_keeps_them_apart():
    base = {"company_name": "杭州普腾康汇食品有限公司", "landline": "0571-88886666"}
    rows = clusters({**base, "contact_name": "王伟"}, {**base, "contact_name": "李强"}, {**base, "contact_name": ""})
    assert len({r[0] for r in rows}) == 3
    assert len({r[1] for r in rows}) == 1


def test_extensions_tell_desks_on_one_switchboard_apart():
    base = {"company_name": "杭州普腾康汇食品有限公司"}
    rows = clusters({**base, "landline": "0571-88886666转801", "contact_name": "王伟"},
                    {**base, "landline": "0571-88886666-801"},
                    {**base, "landline": "0571-88886666 分机 802"})
    assert rows[0] == rows[1] and rows[2][0] != rows[0][0]
    verdict = compare(entry(**base, landline="0571-88886666转801", contact_name="王总"),
                      entry(1, **base, landline="0571 8888 6666 ext. 801", contact_name="王伟"))
    assert verdict.same_person and "landline" in verdict.reasons


def test_a_local_number_takes_the_city_area_code():
    rows = clusters({"company_name": "普腾康汇食品有限公司", "contact_name": "王伟", "landline": "88886666", "city": "杭州"},
                    {"company_name": "普腾康汇食品有限公司", "contact_name": "王总", "landline": "0571-88886666"})
    assert rows[0] == rows[1]


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
