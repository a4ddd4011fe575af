"""A generated lead list with the variations real lists show, labelled by person and by company.

Used to time `closeloop dedupe` on 100k rows and, in tests, to check the engine on lists it was not
tuned on. Deterministic for a given seed.
"""

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欣怡晨雪琳"
TITLES = ["总", "经理", "老师", "工", "总监"]
BRAND_CHARS = "华盛达通恒信鑫源泰瑞宏鼎昌隆兴丰博创新智联汇海天启明辰宇航凯越卓润诚和安康优佳聚合嘉晟伟致远方正德银金星腾飞云峰科景"
INDUSTRIES = ["科技", "网络科技", "信息技术", "贸易", "实业", "食品", "医药", "电子", "物流", "咨询", "建设工程", "软件",
              "生物科技", "新材料", "机械设备", "教育科技", "传媒", "自动化", "供应链管理", "环保科技"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "苏州", "成都", "武汉", "西安", "天津", "重庆", "青岛", "厦门",
          "宁波", "合肥", "郑州", "长沙", "济南", "福州", "无锡", "东莞", "佛山", "昆明"]
PROVINCE_OF = {"广州": "广东", "深圳": "广东", "杭州": "浙江", "南京": "江苏", "苏州": "江苏", "成都": "四川", "武汉": "湖北"}
LEGAL = ["有限公司", "有限责任公司", "股份有限公司", "公司", "股份公司", ""]
PUBLIC = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com", "outlook.com", "139.com", "aliyun.com"]
TRAD = str.maketrans("华达通恒鑫泰宏鼎昌隆兴丰汇海启辰航凯越卓润诚康优聚嘉伟远银腾飞云峰景电络讯贸实业药物软环设备传媒应链",
                     "華達通恆鑫泰宏鼎昌隆興豐匯海啟辰航凱越卓潤誠康優聚嘉偉遠銀騰飛雲峰景電絡訊貿實業藥物軟環設備傳媒應鏈")
FULLWIDTH = str.maketrans("0123456789()", "０１２３４５６７８９（）")
_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(rng: random.Random) -> str:
    """A random code that passes both GB 32100-2015 and GB 11714 checks."""
    while True:
        org = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(org, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
        check = {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
        if check not in _USCC:
            continue
        body = "91" + "".join(rng.choice("0123456789") for _ in range(6)) + org + check
        total = sum(_USCC.index(c) * w for c, w in zip(body, (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), strict=True))
        return body + _USCC[(31 - total % 31) % 31]


def _mobile(rng):
    return rng.choice(["13", "15", "17", "18", "19"]) + str(rng.randint(0, 9)) + "".join(rng.choice("0123456789") for _ in range(8))


def _format_mobile(rng, digits: str) -> str:
    style = rng.randrange(7)
    if style == 0:
        return "+86 " + digits
    if style == 1:
        return "86-" + digits
    if style == 2:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 4:
        return digits.translate(FULLWIDTH)
    if style == 5:
        return f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return digits


def _company_name(rng, company: dict) -> str:
    city, brand, industry = company["city"], company["brand"], company["industry"]
    legal = rng.choice(LEGAL)
    style = rng.randrange(9)
    if style == 0:
        name = f"{brand}{industry}（{city}）{legal or '有限公司'}"
    elif style == 1:
        name = f"{brand}{industry}({city}){legal}"
    elif style == 2:
        name = f"{city}市{brand}{industry}{legal}"
    elif style == 3 and city in PROVINCE_OF:
        name = f"{PROVINCE_OF[city]}省{city}市{brand}{industry}{legal}"
    elif style == 4:
        name = f"{brand}{industry}{legal}"  # no region at all
    elif style == 5:
        name = f"{brand}{industry}" if rng.random() < 0.5 else brand  # short or brand-only
    else:
        name = f"{city}{brand}{industry}{legal}"
    roll = rng.random()
    if roll < 0.08:
        name = name.translate(TRAD)
    elif roll < 0.12:
        name = name.translate(FULLWIDTH)
    elif roll < 0.15 and len(brand) >= 3:
        typo = rng.choice(BRAND_CHARS)
        pos = rng.randrange(1, len(brand))
        name = name.replace(brand, brand[:pos] + typo + brand[pos + 1:], 1)
    return rng.choice(["", " ", "\t", "  "]) + name + rng.choice(["", " ", "  "])


def generate(n_rows: int, *, seed: int = 7) -> tuple[list[dict], list[tuple[int, int]]]:
    """Rows with English field names and, per row, its (person id, company id)."""
    rng = random.Random(seed)
    rows: list[dict] = []
    labels: list[tuple[int, int]] = []
    brands: list[str] = []
    companies: list[dict] = []
    people: list[dict] = []
    while len(rows) < n_rows:
        # Some brands come back as sister companies: same brand, another industry or city.
        if brands and rng.random() < 0.25:
            brand = rng.choice(brands)
        else:
            brand = "".join(rng.choice(BRAND_CHARS) for _ in range(rng.choice([2, 3, 4, 4])))
            brands.append(brand)
        company = {
            "id": len(companies), "brand": brand, "industry": rng.choice(INDUSTRIES), "city": rng.choice(CITIES),
            "domain": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 8))) + rng.choice([".com", ".cn", ".com.cn"]),
            "code": credit_code(rng) if rng.random() < 0.4 else "",
        }
        if any(c["brand"] == brand and c["industry"] == company["industry"] and c["city"] == company["city"] for c in companies[-50:]):
            continue
        companies.append(company)
        for _ in range(rng.choice([1, 1, 2, 3])):
            person = {
                "id": len(people), "surname": rng.choice(SURNAMES),
                "given": "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2]))), "mobile": _mobile(rng),
            }
            local = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 7)))
            person["email"] = f"{local}{rng.randint(1, 999)}@" + (rng.choice(PUBLIC) if rng.random() < 0.4 else company["domain"])
            people.append(person)
            for _ in range(rng.choice([1, 1, 2, 3, 4])):
                if len(rows) >= n_rows:
                    break
                name_roll = rng.random()
                contact = (
                    person["surname"] + rng.choice(TITLES) if name_roll < 0.12
                    else "" if name_roll < 0.17 else person["surname"] + person["given"]
                )
                has_mobile, has_email = rng.random() < 0.8, rng.random() < 0.7
                if not has_mobile and not has_email:
                    has_mobile = True
                email = person["email"]
                if has_email and rng.random() < 0.15:
                    email = email.upper()
                rows.append({
                    "company_name": _company_name(rng, company),
                    "contact_name": contact,
                    "mobile": _format_mobile(rng, person["mobile"]) if has_mobile else "",
                    "email": (rng.choice(["", " "]) + email + rng.choice(["", " "])) if has_email else "",
                    "city": company["city"] if rng.random() < 0.6 else "",
                    "credit_code": company["code"] if company["code"] and rng.random() < 0.3 else "",
                })
                labels.append((person["id"], company["id"]))
    return rows, labels
