import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.leads import normalize

FULLWIDTH = str.maketrans("0123456789()+-", "０１２３４５６７８９（）＋－")


@pytest.mark.parametrize(
    "raw",
    ["13912345678", "+86 139 1234 5678", "+86-139-1234-5678", "86-13912345678", "8613912345678",
     "0086 13912345678", "139-1234-5678", "139 1234 5678", "１３９１２３４５６７８", "＋８６ １３９１２３４５６７８", "\t13912345678 "],
)
def test_it_writes_every_mobile_format_as_e164(raw):
    assert normalize.phone_key(raw) == "+8613912345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("021-62345678", "+862162345678"), ("(021) 6234 5678", "+862162345678"), ("+86 21 6234 5678", "+862162345678"),
     ("86-21-62345678", "+862162345678"), ("0755-88886666", "+8675588886666"), ("０７５５－８８８８６６６６", "+8675588886666"),
     ("010 8888 6666", "+861088886666")],
)
def test_it_writes_landlines_with_their_area_code(raw, expected):
    assert normalize.phone_key(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "12345678901", "hello", "", "1391234567"])
def test_it_gives_nothing_for_an_invalid_phone(raw):
    assert normalize.phone_key(raw) == ""


def test_it_folds_email_case_and_spaces():
    assert normalize.email_key(" Wang.Wei@Example.COM ") == "wang.wei@example.com"
    assert normalize.email_key("ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ") == "wang@example.com"
    assert normalize.email_key("not an email") == ""


@pytest.mark.parametrize("domain", ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com", "outlook.com",
                                    "hotmail.com", "yeah.net", "aliyun.com", "139.com", "sohu.com"])
def test_it_never_treats_a_public_mail_domain_as_a_company(domain):
    assert normalize.email_domain(f"someone@{domain}") == ""


def test_it_keeps_a_company_mail_domain():
    assert normalize.email_domain("wang@huawei.com") == "huawei.com"


@pytest.mark.parametrize(
    "name",
    ["华为技术有限公司", "华为技术股份有限公司", "华为技术有限责任公司", "华为技术公司", "华为技术", "深圳市华为技术有限公司",
     "深圳华为技术有限公司", "广东省深圳市华为技术有限公司", "华为技术(深圳)有限公司", "华为技术（深圳）有限公司",
     "華為技術有限公司", "  华为 技术\t有限公司 ", "华为技术集团有限公司", "华为技术（集团）股份有限公司", "中国深圳华为技术有限公司"],
)
def test_it_reduces_every_way_of_writing_a_company_to_one_key(name):
    assert normalize.company_key(name) == "华为技术"
    assert normalize.brand_key(name) == "华为"


def test_it_remembers_the_region_written_in_a_name():
    assert normalize.company_region("深圳市华为技术有限公司") == "深圳"
    assert normalize.company_region("华为技术（深圳）有限公司") == "深圳"
    assert normalize.company_region("广东省深圳市华为技术有限公司") == "深圳"
    assert normalize.company_region("华为技术有限公司") == ""


def test_it_keeps_a_name_that_is_only_a_region_and_an_industry():
    assert normalize.company_key("上海") == "上海"
    assert normalize.company_key("青岛啤酒股份有限公司") == "青岛啤酒"


def test_it_strips_english_legal_forms_only_as_words():
    assert normalize.company_key("Acme Trading Co., Ltd.") == "acmetrading"
    assert normalize.company_key("ACME Inc.") == "acme"
    assert normalize.company_key("Tesco") == "tesco"


@pytest.mark.parametrize(("raw", "expected"), [("王总", ("王", True)), ("李经理", ("李", True)), ("张老师", ("张", True)),
                                               ("陈工", ("陈", True)), ("欧阳总监", ("欧阳", True)), ("王小明", ("王小明", False)),
                                               (" 王 小明 ", ("王小明", False))])
def test_it_tells_a_title_from_a_name(raw, expected):
    assert normalize.person_name(raw) == expected


def test_it_checks_credit_codes():
    assert normalize.credit_code_error("91350100M000100Y43") is None
    assert normalize.credit_code_valid("91350100M000100Y43")
    assert "18 characters" in normalize.credit_code_error("9135010")
    assert normalize.credit_code_error("91350100M000100Y44") is not None
    assert not normalize.credit_code_valid("91350100M000100Y44")


regions = st.sampled_from(["", "北京", "上海市", "深圳市", "广东省广州市", "杭州"])
legal_forms = st.sampled_from(["", "公司", "有限公司", "有限责任公司", "股份有限公司", "股份公司", "集团有限公司"])
brands = st.text(alphabet="华盛达通恒鑫源泰瑞宏鼎昌隆兴丰博创智联汇启明辰宇航凯越卓润诚和", min_size=2, max_size=5)
industries = st.sampled_from(["科技", "网络科技", "贸易", "食品", "医药", "电子", "物流", "咨询", ""])


@given(brand=brands, industry=industries, region_a=regions, region_b=regions, form_a=legal_forms, form_b=legal_forms,
       bracket=st.booleans(), fullwidth=st.booleans(), spaces=st.sampled_from(["", " ", "\t", "  "]))
def test_region_legal_form_width_and_spacing_never_change_the_key(
    brand, industry, region_a, region_b, form_a, form_b, bracket, fullwidth, spaces
):
    plain = f"{brand}{industry}{form_a}"
    varied = f"{brand}{industry}（{region_b.rstrip('市')}）{form_b}" if bracket and region_b else f"{region_b}{brand}{industry}{form_b}"
    if fullwidth:
        varied = varied.replace("(", "（")
    varied = spaces + varied + spaces
    assert normalize.company_key(f"{region_a}{plain}") == normalize.company_key(varied)


mobiles = st.from_regex(r"1[3589][0-9]{9}", fullmatch=True)


@given(mobile=mobiles, style=st.integers(min_value=0, max_value=6), fullwidth=st.booleans())
def test_every_way_of_writing_a_mobile_gives_one_key(mobile, style, fullwidth):
    written = [mobile, f"+86 {mobile}", f"86-{mobile}", f"0086{mobile}", f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
               f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}", f"+86-{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"][style]
    if fullwidth:
        written = written.translate(FULLWIDTH)
    assert normalize.phone_key(written) == normalize.phone_key(mobile)


@given(local=st.from_regex(r"[a-z][a-z0-9._]{0,15}", fullmatch=True), domain=st.sampled_from(["qq.com", "ptkh.cn", "163.com"]),
       upper=st.booleans(), pad=st.sampled_from(["", " ", "\t"]))
def test_case_and_padding_never_change_an_email_key(local, domain, upper, pad):
    written = f"{local}@{domain}"
    if upper:
        written = written.upper()
    assert normalize.email_key(pad + written + pad) == f"{local}@{domain}"
