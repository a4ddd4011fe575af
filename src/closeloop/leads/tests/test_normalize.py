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


@pytest.mark.parametrize(
    ("raw", "extension"),
    [("021-62345678转123", "123"), ("021-62345678 转 123", "123"), ("021-62345678-123", "123"),
     ("021-62345678分机123", "123"), ("(021) 6234 5678 分机 8", "8"), ("021-62345678 ext. 123", "123"),
     ("021-62345678 ext 123", "123"), ("021-62345678x123", "123"), ("０２１－６２３４５６７８转１２３", "123"),
     ("+86 21 6234 5678 转 4567", "4567"), ("021-6234-5678", ""), ("021-62345678", "")],
)
def test_it_reads_landline_extensions_as_people_write_them(raw, extension):
    assert normalize.phone_parts(raw) == ("+862162345678", extension)
    assert normalize.phone_key(raw) == "+862162345678"


def test_a_mobile_takes_no_extension():
    assert normalize.phone_key("13912345678-123") == ""


def test_it_finds_every_number_in_one_cell():
    assert normalize.phone_keys("139 1234 5678 / 021-62345678转123") == (("+8613912345678", ""), ("+862162345678", "123"))
    assert normalize.phone_keys("13912345678;０２１６２３４５６７８") == (("+8613912345678", ""), ("+862162345678", ""))
    assert normalize.phone_keys("13912345678 021-62345678") == (("+8613912345678", ""), ("+862162345678", ""))
    assert normalize.phone_keys("+86 139 1234 5678") == (("+8613912345678", ""),)
    assert normalize.phone_keys("no phone") == ()


def test_a_local_number_takes_its_city_area_code():
    assert normalize.phone_key("62345678") == ""
    assert normalize.phone_key("62345678", city="上海") == "+862162345678"
    assert normalize.phone_key("88886666", city="杭州市") == "+8657188886666"
    assert normalize.area_code("深圳") == "755" and normalize.area_code("无此地") == ""


@pytest.mark.parametrize("raw", ["12345", "12345678901", "hello", "", "1391234567"])
def test_it_gives_nothing_for_an_invalid_phone(raw):
    assert normalize.phone_key(raw) == ""


@pytest.mark.parametrize(("raw", "once"), [
    ("+86 +86 176 6356 4377", "+86 176 6356 4377"), ("0086008615559131306", "+86 155 5913 1306"),
    ("86+86 156 7093 5794", "+86 156 7093 5794"), ("+86 861 8223 093238", "+86 182 2309 3238"),
    ("＋８６ ＋８６ １３９１２３４５６７８", "+86 139 1234 5678"), ("+86 86 21 6234 5678", "+86 21 6234 5678"),
])
def test_a_country_code_written_twice_is_refused_with_the_number_written_once(raw, once):
    # Refused, not repaired: the intake keeps to what was typed, but says exactly what to type instead.
    assert normalize.phone_key(raw) == ""
    assert normalize.phone_error("mobile", raw) == f"“{raw}” has the country code 86 twice; write it once: {once}."


@pytest.mark.parametrize("raw", ["+86 86 1391234567", "8686", "+852 +852 9123 4567", "1391234567"])
def test_other_invalid_phones_keep_the_general_hint(raw):
    assert "enter the 11 digits of a mainland mobile" in normalize.phone_error("mobile", raw)


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


def test_a_region_with_its_suffix_in_brackets_is_a_region():
    assert normalize.company_parts("华为技术(深圳市)有限公司") == ("深圳", "华为技术")
    assert normalize.company_parts("华为技术（广东省深圳市）有限公司") == ("深圳", "华为技术")


def test_a_second_city_name_belongs_to_the_brand():
    assert normalize.company_parts("昆明嘉兴美丰贸易有限公司") == ("昆明", "嘉兴美丰贸易")
    assert normalize.company_parts("上海浦东普腾科技有限公司") == ("浦东", "普腾科技")


@pytest.mark.parametrize(
    ("name", "key", "mark"),
    [("上海轮询测试1号科技有限公司", "轮询测试1号科技", "|1"), ("轮询测试一号科技", "轮询测试1号科技", "|1"),
     ("普腾康汇食品有限公司第二分公司", "普腾康汇食品2分公司", "2分公司|"), ("普腾康汇食品有限公司北京市分公司", "普腾康汇食品北京分公司", "北京分公司|"),
     ("普腾服装第十二厂", "普腾服装12厂", "12厂|"), ("普腾服装厂", "普腾服装厂", ""), ("昌西五金有限公司", "昌西五金", ""),
     ("三友科技有限公司", "三友科技", "|三")],
)
def test_it_keeps_branches_and_numbers_in_the_key_and_its_mark(name, key, mark):
    assert normalize.company_key(name) == key
    assert normalize.name_mark(key) == mark


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
                                               (" 王 小明 ", ("王小明", False)), ("王小明经理", ("王小明", False)),
                                               ("王小明（经理）", ("王小明", False)), ("王小明 总", ("王小明", False))])
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
