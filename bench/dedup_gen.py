"""Labelled lead lists with every variation real lists show, for measuring duplicate detection.

A list is made from a small world of companies and the people who work there, then written the way
sales teams write it: legal forms added, dropped or swapped, region prefixes with and without 市 or in
brackets, full-width characters, stray spaces and tabs, traditional characters, short and brand-only
names, one-character typos (in the brand too), titles instead of names, mobiles in every format,
landlines with area codes and extensions (one row by landline, another by mobile), upper-case emails,
public mail domains, sister companies sharing a brand, and companies whose names differ only in a
number, a Chinese numeral or a branch word (一分公司 / 二分公司, 一厂 / 二厂, 1号 / 2号).

Each seed also draws its own mix (how often each variation appears), so lists made with different
seeds differ in kind, not only in their random draws. The columns are the sample's
(row, 公司名称, 联系人, 手机, 邮箱, 城市, 统一社会信用代码, 来源); labels give `entity_id` (the same person
at the same company) and `company_id` (the same legal company).

Written from the README's list of variations, not from the engine: a variation the engine cannot
resolve stays in (and shows in the figures).
"""

import csv
import random
import string
from dataclasses import dataclass, field
from pathlib import Path

HEADER = ["row", "公司名称", "联系人", "手机", "邮箱", "城市", "统一社会信用代码", "来源"]
LABEL_HEADER = ["row", "entity_id", "company_id"]

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
            "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛", "慕容"]
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欣怡晨雪琳博文思佳"
TITLES = ["总", "经理", "总监", "老师", "工", "主任", "女士", "先生", "总经理", "董事长"]
# Characters brands are made of; a numeral appears in some brands on purpose (三友, 九州).
BRAND_CHARS = ("华盛达通恒信鑫源泰瑞宏鼎昌隆兴丰博创新智联汇海天启明辰宇航凯越卓润诚和安康优佳聚嘉晟伟致远方正德银金星"
               "腾飞云峰科景普汉威浩弘毅锦程蓝力拓立尚同维旭亚一诺永裕元亨志中美欣荣泽川江南北东西宁容易思达睿铭悦")
BRAND_NUMERALS = "三九万百千"
# Look-alike and sound-alike characters: the typos people really make.
TYPO_OF = {
    "汇": "惠会", "腾": "滕藤", "达": "大", "华": "化花", "盛": "胜圣", "通": "同桐", "恒": "衡亨", "信": "新欣",
    "源": "元园", "泰": "太", "瑞": "锐睿", "宏": "鸿弘洪", "鼎": "顶", "昌": "常", "隆": "龙珑", "兴": "星新",
    "丰": "风峰锋", "博": "搏柏", "创": "闯", "智": "志致", "联": "连莲", "天": "田", "启": "起琪", "明": "鸣铭",
    "辰": "晨宸", "宇": "雨羽", "航": "杭行", "凯": "恺铠", "越": "悦跃", "润": "闰", "诚": "成城", "和": "禾合",
    "康": "慷", "优": "尤友", "佳": "嘉家", "聚": "巨", "伟": "维威炜", "致": "至", "远": "源", "方": "芳",
    "正": "政", "德": "得", "银": "英", "金": "锦今", "星": "兴", "飞": "菲", "云": "运韵", "峰": "锋", "科": "可",
    "景": "静京", "技": "枝", "贸": "茂", "易": "益", "医": "依", "药": "要", "物": "务", "流": "留", "电": "店",
}
INDUSTRIES = [
    "科技", "网络科技", "信息技术", "贸易", "实业", "食品", "医药", "电子", "物流", "咨询", "建设工程", "软件", "生物科技",
    "新材料", "机械设备", "教育科技", "文化传媒", "自动化", "供应链管理", "环保科技", "电子商务", "餐饮管理", "商贸",
    "进出口", "包装", "印刷", "服饰", "家居", "智能科技", "医疗器械", "汽车服务", "人力资源", "建筑装饰", "物业管理",
    "广告", "农业发展", "化工", "五金", "光电", "精密机械", "电气", "纺织", "新能源", "企业管理咨询", "酒店管理", "旅游",
    "健康管理", "检测技术", "仪器仪表", "塑胶制品", "电器", "建材", "钢结构工程", "家具", "茶业", "服装",
]
FACTORY_INDUSTRIES = ["机械", "服装", "电子", "塑料", "五金", "食品", "纺织", "印刷", "包装", "家具"]
# (province, city, area code); the municipalities are their own province.
CITIES = [
    ("北京", "北京", "010"), ("上海", "上海", "021"), ("天津", "天津", "022"), ("重庆", "重庆", "023"),
    ("广东", "广州", "020"), ("广东", "深圳", "0755"), ("广东", "东莞", "0769"), ("广东", "佛山", "0757"),
    ("浙江", "杭州", "0571"), ("浙江", "宁波", "0574"), ("浙江", "温州", "0577"), ("江苏", "南京", "025"),
    ("江苏", "苏州", "0512"), ("江苏", "无锡", "0510"), ("江苏", "常州", "0519"), ("四川", "成都", "028"),
    ("湖北", "武汉", "027"), ("陕西", "西安", "029"), ("山东", "青岛", "0532"), ("山东", "济南", "0531"),
    ("福建", "厦门", "0592"), ("福建", "福州", "0591"), ("安徽", "合肥", "0551"), ("河南", "郑州", "0371"),
    ("湖南", "长沙", "0731"), ("云南", "昆明", "0871"), ("辽宁", "大连", "0411"), ("辽宁", "沈阳", "024"),
    ("江西", "南昌", "0791"), ("广西", "南宁", "0771"), ("河北", "石家庄", "0311"), ("山西", "太原", "0351"),
]
PROVINCE_SUFFIX = {"广西": "壮族自治区"}
PLACE_NAMES = frozenset(name for province, city, _area in CITIES for name in (province, city)) | frozenset(
    ["嘉兴", "南通", "中山", "珠海", "泉州", "徐州", "扬州", "绍兴", "台州", "金华", "烟台", "潍坊", "洛阳", "桂林", "海口"])
LEGAL_FORMS = ["有限公司", "有限责任公司", "股份有限公司", "公司", "股份公司"]
PUBLIC_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com", "outlook.com", "139.com",
                  "aliyun.com", "hotmail.com", "sohu.com", "yeah.net"]
SOURCES = ["展会", "官网咨询", "电话", "微信", "朋友介绍", "广告投放"]
MOBILE_HEADS = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157",
                "158", "159", "166", "170", "173", "175", "176", "177", "178", "180", "181", "182", "183", "185", "186",
                "187", "188", "189", "191", "193", "195", "198", "199"]
CN_DIGITS = "〇一二三四五六七八九"
FULL_WIDTH = str.maketrans(string.digits + string.ascii_letters + "()-+@.",
                           "０１２３４５６７８９" + "".join(chr(0xFF21 + i) for i in range(26))
                           + "".join(chr(0xFF41 + i) for i in range(26)) + "（）－＋＠．")
TRADITIONAL = str.maketrans(
    "华达恒鑫宏丰汇启辰航凯越润诚优聚伟远银腾飞云峰电网络讯贸实业药物软环设备传媒应链县区东广门车专业兴龙丽"
    "盛荣汉弘锦蓝尚维亚诺亨术团务术装饰厂机械服纺织农发展产层贝页师总经理长问创连鸿开关",
    "華達恆鑫宏豐匯啟辰航凱越潤誠優聚偉遠銀騰飛雲峰電網絡訊貿實業藥物軟環設備傳媒應鏈縣區東廣門車專業興龍麗"
    "盛榮漢弘錦藍尚維亞諾亨術團務術裝飾廠機械服紡織農發展產層貝頁師總經理長問創連鴻開關",
)


@dataclass
class Mix:
    """How often each variation appears in one list; drawn per seed from ranges real lists fall in."""

    sister: float
    numbered: float
    branch: float
    same_name_elsewhere: float
    legal_dropped: float
    legal_swapped: float
    short_name: float
    brand_only: float
    abbreviation: float
    region_none: float
    region_bracket: float
    traditional: float
    typo: float
    spaces: float
    title: float
    no_name: float
    name_with_title: float
    mobile_shown: float
    landline_person: float
    switchboard: float
    email_shown: float
    public_mail: float
    upper_email: float
    city_shown: float
    code_shown: float
    bad_code: float
    job_change: float

    @classmethod
    def draw(cls, rng: random.Random) -> "Mix":
        ranges = {
            "sister": (0.10, 0.25), "numbered": (0.02, 0.06), "branch": (0.02, 0.06), "same_name_elsewhere": (0.02, 0.06),
            "legal_dropped": (0.10, 0.25), "legal_swapped": (0.15, 0.30), "short_name": (0.05, 0.12),
            "brand_only": (0.04, 0.10), "abbreviation": (0.00, 0.03), "region_none": (0.25, 0.45),
            "region_bracket": (0.10, 0.25), "traditional": (0.03, 0.08), "typo": (0.04, 0.10), "spaces": (0.10, 0.30),
            "title": (0.10, 0.20), "no_name": (0.03, 0.08), "name_with_title": (0.00, 0.04), "mobile_shown": (0.70, 0.90),
            "landline_person": (0.10, 0.25), "switchboard": (0.15, 0.35), "email_shown": (0.55, 0.80),
            "public_mail": (0.30, 0.55), "upper_email": (0.05, 0.15), "city_shown": (0.45, 0.75),
            "code_shown": (0.15, 0.35), "bad_code": (0.00, 0.04), "job_change": (0.00, 0.03),
        }
        return cls(**{name: rng.uniform(low, high) for name, (low, high) in ranges.items()})


@dataclass
class Company:
    id: int
    brand: str
    industry: str
    province: str
    city: str
    area: str
    legal: str
    code: str = ""
    domain: str = ""
    switchboard: str = ""
    # What tells this company from others of its family: ("number", n, style) or ("branch", words).
    number: int = 0
    number_style: str = ""  # "号" (1号科技), "factory" (一厂), "branch" (第一分公司)
    branch_city: str = ""  # 北京分公司
    people: list = field(default_factory=list)


@dataclass
class Person:
    id: int
    surname: str
    given: str
    mobile: str
    email: str
    landline: str = ""  # a direct line, sometimes with an extension
    extension: str = ""


def credit_code(rng: random.Random) -> str:
    """A code that passes the GB 32100-2015 and GB 11714 checks, computed here from the standards' tables."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    while True:
        org = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(org, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
        check = {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
        body = rng.choice(["91", "92", "93", "12", "52"]) + "".join(rng.choice(string.digits) for _ in range(6)) + org + check
        total = sum(alphabet.index(c) * w for c, w in zip(
            body, (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), strict=True))
        return body + alphabet[(31 - total % 31) % 31]


def chinese_number(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


class World:
    """Companies and people; rows are drawn from them with `row_for`."""

    def __init__(self, rng: random.Random, mix: Mix):
        self.rng = rng
        self.mix = mix
        self.companies: list[Company] = []
        self.people: list[Person] = []
        self.used_mobiles: set[str] = set()
        self.used_landlines: set[str] = set()
        self.used_brands: set[str] = set()

    # --- the world -------------------------------------------------------------------------------
    def _brand(self) -> str:
        rng = self.rng
        while True:
            length = rng.choice([2, 3, 4, 4, 4])
            chars = [rng.choice(BRAND_CHARS) for _ in range(length)]
            if rng.random() < 0.04:
                chars[0] = rng.choice(BRAND_NUMERALS)
            brand = "".join(chars)
            # A brand that starts with a place name reads as that place ("嘉兴美丰" is 美丰 in 嘉兴).
            if brand[:2] in PLACE_NAMES or brand[:3] in PLACE_NAMES:
                continue
            if brand not in self.used_brands and len(set(brand)) == len(brand):
                self.used_brands.add(brand)
                return brand

    def _mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_HEADS) + "".join(self.rng.choice(string.digits) for _ in range(8))
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number

    def _landline(self, area: str) -> str:
        while True:
            # Local numbers have 8 digits in these cities, 7 in Xiamen.
            digits = 7 if area == "0592" else 8
            local = str(self.rng.randint(2, 8)) + "".join(self.rng.choice(string.digits) for _ in range(digits - 1))
            number = f"{area}-{local}"
            if number not in self.used_landlines:
                self.used_landlines.add(number)
                return number

    def _domain(self) -> str:
        letters = "".join(self.rng.choice(string.ascii_lowercase) for _ in range(self.rng.randint(3, 8)))
        return letters + self.rng.choice([".com", ".cn", ".com.cn", ".net"])

    def _company(self, brand: str, industry: str, place: tuple, **extra) -> Company:
        rng = self.rng
        province, city, area = place
        company = Company(
            id=len(self.companies), brand=brand, industry=industry, province=province, city=city, area=area,
            legal=rng.choices(LEGAL_FORMS, weights=[60, 15, 15, 5, 5])[0],
            code=credit_code(rng) if rng.random() < 0.55 else "",
            domain=self._domain() if rng.random() < 0.6 else "",
            **extra,
        )
        if rng.random() < self.mix.switchboard:
            company.switchboard = self._landline(area)
        self.companies.append(company)
        return company

    def add_family(self) -> list[Company]:
        """One company, or a family sharing a brand: sisters, numbered siblings, branches."""
        rng, mix = self.rng, self.mix
        place = rng.choice(CITIES)
        roll = rng.random()
        if roll < mix.numbered:
            brand, industry = self._brand(), rng.choice(INDUSTRIES)
            style = rng.choice(["号", "factory"])
            if style == "factory":
                industry = rng.choice(FACTORY_INDUSTRIES)
            return [self._company(brand, industry, place, number=n, number_style=style)
                    for n in range(1, rng.randint(2, 4) + 1)]
        if roll < mix.numbered + mix.branch:
            brand, industry = self._brand(), rng.choice(INDUSTRIES)
            head = self._company(brand, industry, place)
            if rng.random() < 0.5:
                branches = [self._company(brand, industry, place, number=n, number_style="branch")
                            for n in range(1, rng.randint(2, 3) + 1)]
            else:
                others = rng.sample([c for c in CITIES if c != place], rng.randint(1, 3))
                branches = [self._company(brand, industry, other, branch_city=other[1]) for other in others]
            return [head, *branches] if rng.random() < 0.7 else branches
        if roll < mix.numbered + mix.branch + mix.sister:
            brand = self._brand()
            industries = rng.sample(INDUSTRIES, rng.randint(2, 3))
            return [self._company(brand, industry, place if rng.random() < 0.7 else rng.choice(CITIES))
                    for industry in industries]
        if roll < mix.numbered + mix.branch + mix.sister + mix.same_name_elsewhere:
            # The same name registered in two cities: two legal companies.
            brand, industry = self._brand(), rng.choice(INDUSTRIES)
            return [self._company(brand, industry, other) for other in rng.sample(CITIES, 2)]
        return [self._company(self._brand(), rng.choice(INDUSTRIES), place)]

    def add_person(self, company: Company) -> Person:
        rng, mix = self.rng, self.mix
        surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.02 else rng.choice(SURNAMES)
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
        # Now and then two people at one company share a name.
        if company.people and rng.random() < 0.03:
            surname, given = company.people[0].surname, company.people[0].given
        local = rng.choice([
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8))),
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 6))) + str(rng.randint(1, 9999)),
            str(rng.randint(10_000_000, 3_999_999_999)),
        ])
        public = not company.domain or rng.random() < mix.public_mail
        email = f"{local}@{rng.choice(PUBLIC_DOMAINS) if public else company.domain}"
        if public and local.isdigit():
            email = f"{local}@qq.com"
        person = Person(id=len(self.people), surname=surname, given=given,
                        mobile=self._mobile() if rng.random() < 0.92 else "", email=email)
        if rng.random() < mix.landline_person:
            person.landline = self._landline(company.area)
            if rng.random() < 0.3:
                person.extension = str(rng.randint(100, 8999))
        self.people.append(person)
        company.people.append(person)
        return person

    # --- rows ------------------------------------------------------------------------------------
    def company_name(self, company: Company) -> str:
        rng, mix = self.rng, self.mix
        brand = company.brand
        if rng.random() < mix.typo:
            brand = self._typo(brand)
        industry = company.industry
        if rng.random() < mix.typo / 4:
            industry = self._typo(industry)
        if company.number_style == "号":
            brand = brand + self._numeral(company.number, digits_first=True) + "号"
        province, city = company.province, company.city
        roll = rng.random()
        short = roll < mix.short_name
        brand_only = mix.short_name <= roll < mix.short_name + mix.brand_only
        abbreviation = mix.short_name + mix.brand_only <= roll < mix.short_name + mix.brand_only + mix.abbreviation
        if abbreviation and len(company.brand) >= 4 and not company.number_style:
            core = brand[:2]
        elif brand_only and not company.number_style:
            core = brand
        else:
            core = brand + (" " if rng.random() < mix.spaces / 5 else "") + industry
        legal = ""
        if not (short or brand_only or abbreviation):
            roll = rng.random()
            legal = "" if roll < mix.legal_dropped else (
                rng.choice(LEGAL_FORMS) if roll < mix.legal_dropped + mix.legal_swapped else company.legal)
        suffix = ""
        if company.number_style == "factory":
            suffix = ("第" if rng.random() < 0.3 else "") + self._numeral(company.number) + "厂"
            legal = ""
        elif company.number_style == "branch":
            suffix = ("第" if rng.random() < 0.6 else "") + self._numeral(company.number) + "分公司"
            legal = legal or company.legal
        elif company.branch_city:
            suffix = company.branch_city + ("市" if rng.random() < 0.2 else "") + "分公司"
            legal = legal or company.legal
        # The branch's region belongs to its parent's name; a branch named for a city has no other.
        roll = rng.random()
        if company.branch_city or roll < mix.region_none:
            name = f"{core}{legal}{suffix}"
        elif roll < mix.region_none + mix.region_bracket:
            open_, close = rng.choice([("(", ")"), ("（", "）"), ("【", "】")] if rng.random() < 0.1 else [("(", ")"), ("（", "）")])
            where = city + ("市" if rng.random() < 0.25 else "")
            name = f"{core}{open_}{where}{close}{legal or company.legal}{suffix}"
        else:
            where = rng.choice([city, city, city + "市", city + "市"])
            if province != city and rng.random() < 0.15:
                where = province + PROVINCE_SUFFIX.get(province, "省") + city + "市"
            name = f"{where}{core}{legal}{suffix}"
        if rng.random() < mix.traditional:
            name = name.translate(TRADITIONAL)
        if rng.random() < 0.04:
            name = name.translate(FULL_WIDTH)
        if rng.random() < mix.spaces:
            name = rng.choice(["", " ", "  ", "\t"]) + name + rng.choice(["", " ", "  ", "\t "])
        return name

    def _numeral(self, n: int, *, digits_first: bool = False) -> str:
        roll = self.rng.random()
        if roll < (0.6 if digits_first else 0.25):
            return str(n)
        if roll < (0.7 if digits_first else 0.3):
            return str(n).translate(FULL_WIDTH)
        return chinese_number(n)

    def _typo(self, text: str) -> str:
        """One character wrong (mostly a look-alike or sound-alike), now and then one missing."""
        rng = self.rng
        positions = [i for i, ch in enumerate(text) if ch in TYPO_OF]
        if positions and rng.random() < 0.75:
            i = rng.choice(positions)
            return text[:i] + rng.choice(TYPO_OF[text[i]]) + text[i + 1:]
        # A numeral is not mistyped here: a name with another number is another company by the rules
        # (一厂 / 二厂), so such a typo would be a label no one could get right.
        free = [i for i, ch in enumerate(text) if ch not in CN_DIGITS + "十两" + BRAND_NUMERALS]
        if len(text) < 3 or not free:
            return text
        i = rng.choice(free)
        if rng.random() < 0.8:
            return text[:i] + rng.choice([c for c in BRAND_CHARS if c != text[i]]) + text[i + 1:]
        return text[:i] + text[i + 1:]

    def contact_name(self, person: Person) -> str:
        rng, mix = self.rng, self.mix
        roll = rng.random()
        if roll < mix.no_name:
            return ""
        if roll < mix.no_name + mix.title:
            return person.surname + rng.choice(TITLES)
        if roll < mix.no_name + mix.title + mix.name_with_title:
            return person.surname + person.given + rng.choice(["经理", "总监", "（经理）", " 总"])
        name = person.surname + person.given
        if rng.random() < mix.spaces / 4:
            name = rng.choice([f"{person.surname} {person.given}", f" {name}", f"{name} "])
        if rng.random() < mix.traditional / 2:
            name = name.translate(TRADITIONAL)
        return name

    def mobile(self, digits: str) -> str:
        rng = self.rng
        style = rng.randrange(11)
        return [
            digits, digits, f"+86 {digits}", f"86-{digits}", f"0086{digits}", f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
            f"{digits[:3]} {digits[3:7]} {digits[7:]}", digits.translate(FULL_WIDTH),
            f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}", f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}",
            f"(+86){digits}",
        ][style]

    def landline(self, number: str, extension: str = "", *, city_known: bool) -> str:
        rng = self.rng
        area, local = number.split("-")
        style = rng.randrange(9 if city_known else 8)
        written = [
            number, f"{area} {local[:4]} {local[4:]}", f"({area}){local}", f"（{area}）{local}", f"{area}{local}",
            f"+86-{area[1:]}-{local}", f"86-{area[1:]}-{local}", f"{area}-{local[:4]}-{local[4:]}", local,
        ][style]
        if extension:
            written += rng.choice([f"转{extension}", f"-{extension}", f" 转 {extension}", f"分机{extension}",
                                   f" ext. {extension}", f"-{extension}", f" x{extension}"])
        return written.translate(FULL_WIDTH) if rng.random() < 0.03 else written

    def phone_cell(self, person: Person, company: Company, city_known: bool) -> str:
        rng, mix = self.rng, self.mix
        direct = person.landline and rng.random() < 0.45
        mobile = person.mobile and rng.random() < mix.mobile_shown
        if direct and mobile and rng.random() < 0.3:
            # Both in one cell, as people type them.
            return (self.mobile(person.mobile) + rng.choice(["/", " / ", "，", ";", " "])
                    + self.landline(person.landline, person.extension, city_known=city_known))
        if direct:
            return self.landline(person.landline, person.extension, city_known=city_known)
        if mobile:
            return self.mobile(person.mobile)
        if company.switchboard and rng.random() < 0.5:
            return self.landline(company.switchboard, city_known=city_known)
        return ""

    def email(self, person: Person) -> str:
        rng, mix = self.rng, self.mix
        email = person.email
        if not email:
            return ""
        roll = rng.random()
        if roll < mix.upper_email:
            email = email.upper()
        elif roll < mix.upper_email * 1.5:
            email = email[0].upper() + email[1:]
        if rng.random() < mix.spaces / 2:
            email = rng.choice([" ", "", "\t"]) + email + rng.choice([" ", ""])
        return email

    def code_cell(self, company: Company) -> str:
        rng, mix = self.rng, self.mix
        if not company.code or rng.random() >= mix.code_shown:
            return ""
        code = company.code
        if rng.random() < mix.bad_code:
            i = rng.randrange(18)
            code = code[:i] + rng.choice([c for c in "0123456789ABCDEFGH" if c != code[i]]) + code[i + 1:]
        if rng.random() < 0.05:
            code = code.lower()
        return code

    def row_for(self, person: Person, company: Company) -> dict:
        rng, mix = self.rng, self.mix
        city = ""
        if rng.random() < mix.city_shown:
            city = (company.branch_city or company.city) + ("市" if rng.random() < 0.15 else "")
        phone = self.phone_cell(person, company, city_known=bool(city))
        email = self.email(person) if rng.random() < mix.email_shown or not phone else ""
        return {"公司名称": self.company_name(company), "联系人": self.contact_name(person), "手机": phone,
                "邮箱": email, "城市": city, "统一社会信用代码": self.code_cell(company), "来源": rng.choice(SOURCES)}


def generate(n_rows: int, *, seed: int) -> tuple[list[dict], list[dict]]:
    """(rows, labels) of a list of `n_rows` leads: rows with the sample's columns, labels by row."""
    rng = random.Random(seed)
    world = World(rng, Mix.draw(rng))
    # Rows per person: most people once or twice, some many times.
    rows_per_person = [1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6]
    pending: list[tuple[Person, Company]] = []
    while len(pending) < n_rows:
        for company in world.add_family():
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
                person = world.add_person(company)
                pending += [(person, company)] * rng.choice(rows_per_person)
                # Someone who changed jobs: the same mobile (and a private email) at another company.
                if rng.random() < world.mix.job_change and len(world.companies) > 5:
                    other = rng.choice(world.companies[:-1])
                    if other.brand != company.brand:
                        domain = person.email.rpartition("@")[2]
                        moved = Person(id=person.id, surname=person.surname, given=person.given, mobile=person.mobile,
                                       email=person.email if domain in PUBLIC_DOMAINS else "")
                        other.people.append(moved)
                        pending += [(moved, other)] * rng.choice([1, 2])
    pending = pending[:n_rows]
    rng.shuffle(pending)
    rows, labels, entities = [], [], {}
    for number, (person, company) in enumerate(pending, start=1):
        entity = entities.setdefault((person.id, company.id), len(entities) + 1)
        rows.append({"row": str(number), **world.row_for(person, company)})
        labels.append({"row": str(number), "entity_id": str(entity), "company_id": str(company.id + 1)})
    return rows, labels


def write(directory: Path, name: str, n_rows: int, *, seed: int) -> tuple[Path, Path]:
    """leads-{name}.csv and labels-{name}.csv in `directory`, in the sample's format."""
    rows, labels = generate(n_rows, seed=seed)
    directory.mkdir(parents=True, exist_ok=True)
    leads_path, labels_path = directory / f"leads-{name}.csv", directory / f"labels-{name}.csv"
    with open(leads_path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    with open(labels_path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, LABEL_HEADER)
        writer.writeheader()
        writer.writerows(labels)
    return leads_path, labels_path
