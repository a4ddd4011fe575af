"""One normalizer for phones, emails, company names and credit codes, used by every channel and by search.

Company names are reduced to a comparable core: full-width forms folded, traditional characters
simplified, punctuation and spacing dropped, region prefixes and bracketed regions removed, legal
forms removed. `brand_key` goes one step further and also strips trailing industry words, so
"杭州普腾康汇食品有限公司" and "普腾康汇" land in the same block for fuzzy comparison.
"""

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from stdnum.cn.uscc import calc_check_digit

_SPACES = re.compile(r"\s+")


def fold_width(text: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms (NFKC), whitespace collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "")).strip()


@lru_cache(maxsize=1)
def _simplified_table() -> tuple[dict[int, str], frozenset[str]]:
    from zhconv import zhconv as tables

    tables.getdict("zh-hans")
    table = {k: v for k, v in tables.zhcdicts["zh2Hans"].items() if len(k) == 1 and len(v) == 1 and k != v}
    return {ord(k): v for k, v in table.items()}, frozenset(table)


def to_simplified(text: str) -> str:
    """Traditional Chinese characters to simplified ones (廣州華為 → 广州华为).

    Character by character from zhconv's table: phrase-level conversion costs ~20 µs a name and
    matters little for comparing names, where both sides go through the same table.
    """
    if not text or text.isascii():
        return text or ""
    table, traditional = _simplified_table()
    # Most names hold no traditional character; checking costs a tenth of translating.
    return text if traditional.isdisjoint(text) else text.translate(table)


_PHONE_JOINERS = re.compile(r"(?<=\d)[\s\-–—.()（）/]+(?=\d)")
_MOBILE_DIGITS = re.compile(r"(?:\+?86|0086)?-?(1[3-9]\d{9})")
# An extension as people write it: 转123, 转 123, 分机123, ext. 123, x123, #123 (a trailing -123 is tried last).
_EXTENSION = re.compile(r"\s*(?:转|分机|内线|ext\.?|extension|x|#)\s*[:：]?\s*(\d{1,6})\s*$", re.IGNORECASE)
_TRAILING_GROUP = re.compile(r"[\s\-–—]+(\d{1,5})\s*$")


@lru_cache(maxsize=1024)
def _mobile_prefix_valid(prefix: str) -> bool:
    """Whether every number under this 4-digit mobile prefix is valid (then the fast path may skip parsing)."""
    low, high = (phonenumbers.parse(f"+86{prefix}{tail}") for tail in ("0000000", "9999999"))
    return phonenumbers.is_valid_number(low) and phonenumbers.is_valid_number(high)


@lru_cache(maxsize=131072)
def phone_key(raw: str, *, region: str = "CN", city: str = "") -> str:
    """E.164 form of a phone number (China by default), or "" when it is not a valid number.

    Accepts +86 / 86- / 0086 prefixes, dashes, dots, spaces, full-width digits, area codes written
    as 021-62345678 or (0755) 8888 6666, and extensions (转123, -123, 分机123, ext. 123), which the
    key leaves out: the key names the line, `phone_parts` gives the extension too. With `city`, a
    local number written without its area code ("62345678", 上海) gets the city's.
    """
    return phone_parts(raw, region=region, city=city)[0]


@lru_cache(maxsize=131072)
def phone_parts(raw: str, *, region: str = "CN", city: str = "") -> tuple[str, str]:
    """(E.164 key, extension) of a phone number; ("", "") when it is not a valid number."""
    text = fold_width(raw)
    if not text:
        return "", ""
    if (marked := _EXTENSION.search(text)) and (key := _phone_key_plain(text[: marked.start()], region, city)):
        return key, marked.group(1)
    if key := _phone_key_plain(text, region):
        return key, ""
    # "021-62345678-123": a trailing group after a complete landline is its extension.
    if (group := _TRAILING_GROUP.search(text)) and (key := _phone_key_plain(text[: group.start()], region, city)):
        return (key, group.group(1)) if not is_mobile(key) else ("", "")
    if city:
        return _phone_key_plain(text, region, city), ""
    return "", ""


def _phone_key_plain(text: str, region: str, city: str = "") -> str:
    text = _PHONE_JOINERS.sub("", text.strip())
    # Chinese mobiles are most of what arrives; parsing each one with phonenumbers costs ~100 µs.
    if region == "CN" and (mobile := _MOBILE_DIGITS.fullmatch(text)) and _mobile_prefix_valid(mobile.group(1)[:4]):
        return "+86" + mobile.group(1)
    key = _parse_phone(text, region)
    if not key and city and region == "CN" and re.fullmatch(r"[2-9]\d{6,7}", text):
        area = area_code(city)
        key = _parse_phone(f"0{area}{text}", region) if area else ""
    return key


_PHONE_SEPARATORS = re.compile(r"[/,;、|]|\s+")
_LIST_SEPARATORS = re.compile(r"[/／,，;；、|]")


@lru_cache(maxsize=65536)
def phone_keys(raw: str, *, city: str = "") -> tuple[tuple[str, str], ...]:
    """Every phone number in one cell ("139 1234 5678 / 021-62345678转123"), each as (key, extension).

    The cell is cut at separators and spaces, and the longest run of pieces that reads as one number
    is taken each time, so spaces inside a number ("139 1234 5678") still hold it together.
    """
    # Most cells hold one number: read it whole unless a separator says there are several.
    if not _LIST_SEPARATORS.search(raw) and (whole := phone_parts(raw, city=city))[0]:
        return (whole,)
    pieces = [piece for piece in _PHONE_SEPARATORS.split(fold_width(raw)) if piece]
    if len(pieces) < 2:
        return ()
    found: list[tuple[str, str]] = []
    start = 0
    while start < len(pieces):
        for end in range(len(pieces), start, -1):
            parts = phone_parts(" ".join(pieces[start:end]), city=city)
            if parts[0]:
                found.append(parts)
                start = end
                break
        else:
            start += 1
    return tuple(found)


# Area codes (without the trunk 0) of the cities in `_CITIES`, from phonenumbers' Chinese geocoding data
# (reading that data at run time costs ~10 s of imports).
_AREA_CODES_TEXT = """
    北京10 广州20 上海21 天津22 重庆23 沈阳24 铁岭24 抚顺24 本溪24 南京25 武汉27 成都28 资阳28 眉山28 西安29 咸阳29 邯郸310 石家庄311 保定312
    张家口313 承德314 唐山315 廊坊316 沧州317 衡水318 邢台319 秦皇岛335 朔州349 忻州350 太原351 大同352 阳泉353 晋中354 吕梁354 长治355
    晋城356 临汾357 运城359 商丘370 郑州371 安阳372 新乡373 许昌374 平顶山375 信阳376 南阳377 洛阳379 焦作391 鹤壁392 濮阳393 周口394
    漯河395 驻马店396 三门峡398 大连411 鞍山412 丹东415 锦州416 营口417 阜新418 辽阳419 朝阳421 盘锦427 葫芦岛429 长春431 延边433 四平434
    通化435 白城436 辽源437 松原438 白山439 哈尔滨451 齐齐哈尔452 牡丹江453 佳木斯454 绥化455 黑河456 伊春458 大庆459 七台河464 鸡西467
    鹤岗468 双鸭山469 呼伦贝尔470 呼和浩特471 包头472 乌海473 乌兰察布474 通辽475 赤峰476 鄂尔多斯477 巴彦淖尔478 无锡510 镇江511 苏州512 南通513
    扬州514 盐城515 徐州516 淮安517 连云港518 常州519 泰州523 宿迁527 菏泽530 济南531 青岛532 淄博533 德州534 烟台535 潍坊536 济宁537
    泰安538 临沂539 滨州543 东营546 滁州550 合肥551 蚌埠552 芜湖553 淮南554 马鞍山555 安庆556 宿州557 阜阳558 黄山559 淮北561 铜陵562
    宣城563 六安564 池州566 衢州570 杭州571 湖州572 嘉兴573 宁波574 绍兴575 台州576 温州577 丽水578 金华579 舟山580 福州591 厦门592
    宁德593 莆田594 泉州595 漳州596 龙岩597 三明598 南平599 威海631 枣庄632 日照633 聊城635 汕尾660 阳江662 揭阳663 茂名668 鹰潭701
    襄阳710 鄂州711 孝感712 黄冈713 黄石714 咸宁715 荆州716 宜昌717 十堰719 随州722 荆门724 岳阳730 长沙731 湘潭731 衡阳734 郴州735
    常德736 益阳737 娄底738 邵阳739 张家界744 怀化745 永州746 江门750 韶关751 惠州752 梅州753 汕头754 深圳755 珠海756 佛山757 肇庆758
    湛江759 中山760 河源762 清远763 云浮766 潮州768 东莞769 防城港770 南宁771 崇左771 柳州772 桂林773 梧州774 玉林775 百色776 钦州777
    河池778 北海779 新余790 南昌791 九江792 上饶793 抚州794 宜春795 吉安796 赣州797 景德镇798 萍乡799 攀枝花812 自贡813 绵阳816 南充817
    达州818 遂宁825 广安826 巴中827 泸州830 宜宾831 内江832 乐山833 雅安835 德阳838 广元839 贵阳851 遵义851 安顺851 铜仁856 毕节857
    六盘水858 昭通870 昆明871 大理872 曲靖874 保山875 玉溪877 普洱879 临沧883 丽江888 拉萨891 海口898 三亚898 哈密902 延安911 榆林912
    渭南913 商洛914 安康915 汉中916 宝鸡917 铜川919 兰州931 定西932 平凉933 庆阳934 武威935 张掖936 酒泉937 天水938 陇南939 白银943
    银川951 石嘴山952 吴忠953 固原954 中卫955 西宁971 克拉玛依990 乌鲁木齐991 伊犁992 吐鲁番995 喀什998
"""


@lru_cache(maxsize=1)
def _area_codes() -> dict[str, str]:
    """City → area code."""
    return {match.group(1): match.group(2) for match in re.finditer(r"(\D+?)(\d+)", "".join(_AREA_CODES_TEXT.split()))}


def area_code(city: str) -> str:
    """The area code of a city ("上海" → "21", "杭州市" → "571"), or ""."""
    return _area_codes().get(city_name(city), "") if city else ""


@lru_cache(maxsize=65536)
def _parse_phone(text: str, region: str) -> str:
    text = re.sub(r"^\((\d)", r"\1", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    # "86" glued to a Chinese mobile or to a landline without its trunk 0 means the country code.
    if re.fullmatch(r"86-?1\d{10}", text) or re.fullmatch(r"86-?[2-9]\d{8,10}", text):
        text = "+" + text.replace("-", "")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_CN_MOBILE_KEY = re.compile(r"\+861[3-9]\d{9}")


@lru_cache(maxsize=65536)
def is_mobile(e164: str) -> bool:
    if not e164:
        return False
    # Chinese keys answer from their shape (parsing one costs ~100 µs): +861… is a mobile, +86 and
    # an area code a landline.
    if e164.startswith("+86"):
        return bool(_CN_MOBILE_KEY.fullmatch(e164))
    number = phonenumbers.parse(e164)
    return phonenumbers.number_type(number) in {
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
    }


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@lru_cache(maxsize=131072)
def email_key(raw: str) -> str:
    text = fold_width(raw).replace(" ", "").lower()
    return text if _EMAIL.match(text) else ""


# Free mail providers: a shared domain here says nothing about the company behind the address.
PUBLIC_MAIL_DOMAINS = frozenset({
    "qq.com", "vip.qq.com", "foxmail.com", "163.com", "vip.163.com", "126.com", "vip.126.com", "yeah.net",
    "188.com", "netease.com", "sina.com", "sina.cn", "vip.sina.com", "sohu.com", "vip.sohu.com", "139.com",
    "189.cn", "wo.cn", "21cn.com", "aliyun.com", "tom.com", "263.net", "gmail.com", "googlemail.com",
    "outlook.com", "hotmail.com", "live.com", "live.cn", "msn.com", "yahoo.com", "yahoo.com.cn", "icloud.com",
    "me.com", "mail.com", "protonmail.com", "proton.me", "yandex.com", "aol.com", "gmx.com",
})


def email_domain(key: str) -> str:
    """The domain of a normalized email when it can identify a company; "" for free mail providers."""
    domain = key.rpartition("@")[2]
    return "" if not domain or domain in PUBLIC_MAIL_DOMAINS else domain


# Provinces, autonomous regions and municipalities, with their formal suffixes.
_PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 "
    "云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市")
# Prefecture-level and other cities that commonly prefix company names.
_CITIES = (
    "石家庄 唐山 秦皇岛 邯郸 邢台 保定 张家口 承德 沧州 廊坊 衡水 太原 大同 阳泉 长治 晋城 朔州 晋中 运城 忻州 临汾 吕梁 "
    "呼和浩特 包头 乌海 赤峰 通辽 鄂尔多斯 呼伦贝尔 巴彦淖尔 乌兰察布 沈阳 大连 鞍山 抚顺 本溪 丹东 锦州 营口 阜新 辽阳 "
    "盘锦 铁岭 朝阳 葫芦岛 长春 吉林 四平 辽源 通化 白山 松原 白城 延边 哈尔滨 齐齐哈尔 鸡西 鹤岗 双鸭山 大庆 伊春 佳木斯 "
    "七台河 牡丹江 黑河 绥化 南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 泰州 宿迁 昆山 江阴 常熟 张家港 "
    "杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 义乌 合肥 芜湖 蚌埠 淮南 马鞍山 淮北 铜陵 安庆 黄山 滁州 阜阳 "
    "宿州 六安 亳州 池州 宣城 福州 厦门 莆田 三明 泉州 漳州 南平 龙岩 宁德 南昌 景德镇 萍乡 九江 新余 鹰潭 赣州 吉安 宜春 "
    "抚州 上饶 济南 青岛 淄博 枣庄 东营 烟台 潍坊 济宁 泰安 威海 日照 临沂 德州 聊城 滨州 菏泽 郑州 开封 洛阳 平顶山 安阳 "
    "鹤壁 新乡 焦作 濮阳 许昌 漯河 三门峡 南阳 商丘 信阳 周口 驻马店 武汉 黄石 十堰 宜昌 襄阳 鄂州 荆门 孝感 荆州 黄冈 "
    "咸宁 随州 长沙 株洲 湘潭 衡阳 邵阳 岳阳 常德 张家界 益阳 郴州 永州 怀化 娄底 广州 韶关 深圳 珠海 汕头 佛山 江门 湛江 "
    "茂名 肇庆 惠州 梅州 汕尾 河源 阳江 清远 东莞 中山 潮州 揭阳 云浮 南宁 柳州 桂林 梧州 北海 防城港 钦州 贵港 玉林 百色 "
    "贺州 河池 来宾 崇左 海口 三亚 儋州 成都 自贡 攀枝花 泸州 德阳 绵阳 广元 遂宁 内江 乐山 南充 眉山 宜宾 广安 达州 雅安 "
    "巴中 资阳 贵阳 六盘水 遵义 安顺 毕节 铜仁 昆明 曲靖 玉溪 保山 昭通 丽江 普洱 临沧 大理 拉萨 西安 铜川 宝鸡 咸阳 渭南 "
    "延安 汉中 榆林 安康 商洛 兰州 嘉峪关 金昌 白银 天水 武威 张掖 平凉 酒泉 庆阳 定西 陇南 西宁 银川 石嘴山 吴忠 固原 中卫 "
    "乌鲁木齐 克拉玛依 吐鲁番 哈密 喀什 伊犁 浦东 滨海 雄安"
).split()
_CITY_SUFFIXES = ("新区", "地区", "市", "区", "县")
_PROVINCE_SET = frozenset(_PROVINCES)
_REGION_NAMES = _PROVINCE_SET | frozenset(_CITIES)
_REGION_LENGTHS = sorted({len(n) for n in _REGION_NAMES}, reverse=True)
_REGION_SUFFIXES = frozenset(_PROVINCE_SUFFIXES + _CITY_SUFFIXES)
_REGION_SUFFIX_LENGTHS = sorted({len(s) for s in _REGION_SUFFIXES}, reverse=True)


def _scan_regions(text: str, start: int = 0) -> tuple[int, str]:
    """Where a run of region tokens ("广东省深圳市", "中国深圳") starting at `start` ends, and the last region named.

    A scan over a set of names: a regular expression with hundreds of alternatives costs ten times more.
    """
    pos, last = start, ""
    if text.startswith("中国", pos):
        pos += 2
    while True:
        for length in _REGION_LENGTHS:
            # A slice cut short by the end of the text is still a whole name when it is in the set.
            name = text[pos: pos + length]
            if name in _REGION_NAMES:
                pos += len(name)
                last = name
                for suffix_length in _REGION_SUFFIX_LENGTHS:
                    # A slice cut short by the end of the text is still a whole suffix: count what it holds.
                    suffix = text[pos: pos + suffix_length]
                    if suffix in _REGION_SUFFIXES:
                        pos += len(suffix)
                        break
                # A city ends the run: in "昆明嘉兴美丰贸易" the second place name is the brand's.
                if name not in _PROVINCE_SET:
                    return pos, last
                break
        else:
            return (pos, last) if last else (start, "")


def _region_only(text: str) -> bool:
    end, last = _scan_regions(text)
    return bool(last) and end == len(text)


_BRACKETED = re.compile(r"[(\[【〔]([^()\[\]【】〔〕]*)[)\]】〕]")

# Legal forms, longest first, removed from the end of a name (repeatedly: "集团有限公司").
_LEGAL_FORMS = sorted(
    [
        "股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团公司", "集团", "总公司", "公司",
        "合伙企业有限合伙", "有限合伙", "合伙企业", "个人独资企业", "独资企业", "企业", "工作室", "商行",
    ],
    key=len, reverse=True,
)
# Industry words that follow the brand in a Chinese company name; stripped for the brand key only.
INDUSTRY_WORDS = sorted(
    [
        "科技", "技术", "信息技术", "信息科技", "网络科技", "网络技术", "网络", "信息", "软件", "电子", "电子商务", "通信", "数据",
        "智能", "智能科技", "数字科技", "贸易", "商贸", "国际贸易", "进出口", "实业", "投资", "控股", "发展", "资产管理",
        "管理", "咨询", "管理咨询", "企业管理", "服务", "文化", "传媒", "文化传媒", "广告", "教育", "教育科技", "培训",
        "食品", "餐饮", "农业", "生物", "生物科技", "生物技术", "医药", "医疗", "医疗器械", "健康", "制药", "化工", "新材料",
        "材料", "能源", "新能源", "环保", "环保科技", "环境", "建设", "建设工程", "建筑", "工程", "装饰", "建材", "房地产",
        "置业", "物业", "物业管理", "物流", "供应链", "供应链管理", "运输", "机械", "机械设备", "设备", "自动化", "电气",
        "仪器", "仪表", "制造", "工业", "汽车", "汽车服务", "电器", "家居", "服饰", "纺织", "印刷", "包装", "金融", "保险",
        "人力资源", "旅游", "酒店", "安防", "光电", "半导体", "精密", "模具", "五金", "塑胶", "塑料", "钢铁", "金属",
        "有色金属", "电力", "水务", "设计", "规划", "检测", "认证", "物联网", "云计算", "大数据", "人工智能", "系统",
        "系统集成", "集成", "工贸", "科贸", "商务", "电商", "国际", "计算机", "计算机系统", "软件开发", "航空", "啤酒",
        # What else commonly follows a brand, so that a brand-only name and a typo find their company.
        "制品", "用品", "器材", "工艺", "装备", "工具", "器械", "照明", "陶瓷", "玻璃", "橡胶", "皮革", "鞋业", "箱包", "玩具",
        "水产", "果业", "牧业", "养殖", "种植", "园林", "绿化", "景观", "门窗", "幕墙", "消防", "电梯", "暖通", "空调", "制冷",
        "劳务", "保洁", "家政", "安保", "货运", "快递", "仓储", "冷链", "租赁", "担保", "拍卖", "会展", "展览", "策划", "营销",
        "品牌管理", "影视", "动漫", "游戏", "体育", "健身", "美容", "医院", "诊所", "药房", "大药房", "连锁", "超市", "百货",
        "酒业", "饮品", "饮料", "乳业", "粮油", "调味品", "水泥", "石材", "涂料", "化妆品", "日化", "电池", "电缆", "线缆",
        "光伏", "储能", "芯片", "集成电路", "通讯", "传感", "机器人", "重工", "轻工", "铸造", "冶金", "矿业", "石化", "燃气",
        "热力", "水利", "市政", "路桥", "勘察", "测绘", "监理", "造价", "招标", "代理", "财务", "会计", "税务", "法律",
        "知识产权", "翻译", "服装", "家具", "家纺", "茶业", "茶叶", "钢结构", "结构", "电子科技", "精细化工", "汽车配件",
        "配件", "零部件", "机电", "电机", "液压", "阀门", "泵业", "管业", "管道", "线路", "数码", "影像", "音响", "视听",
        "体育用品", "母婴", "宠物", "珠宝", "首饰", "眼镜", "文具", "办公", "办公设备", "礼品", "工艺品", "家电", "厨具",
        "卫浴", "洁具", "五金制品", "塑胶制品", "纸业", "纸品", "木业", "竹业", "棉业", "丝绸", "毛纺", "针织", "面料",
        "生态", "环境工程", "节能", "节能科技", "水处理", "净化", "技术服务", "信息服务", "网络服务", "软件技术",
        # "企业" ends a name as a legal form, but inside one it begins the industry: 力卓明企业管理咨询.
        "企业", "企业管理", "企业管理咨询", "企业服务", "企业咨询",
    ],
    key=len, reverse=True,
)
_INDUSTRY_SET = frozenset(INDUSTRY_WORDS)
_INDUSTRY_LENGTHS = sorted({len(w) for w in INDUSTRY_WORDS}, reverse=True)


def _strip_tail(text: str, words: frozenset, lengths: list[int]) -> str:
    """`text` without any run of `words` at its end, longest word first."""
    end = len(text)
    while end:
        for length in lengths:
            if length <= end and text[end - length: end] in words:
                end -= length
                break
        else:
            break
    return text[:end]


# Chinese numerals where they count something (一厂, 第二分公司, 三号, 一期) become digits, so 一厂 and 1厂 agree.
_NUMBERED_WORDS = "号|厂|分公司|分厂|分店|店|门店|期|车间|分部|分院|分中心|支行|分行|办事处|营业部|部"
_CHINESE_COUNT = re.compile(rf"第?([〇零一二三四五六七八九十两]{{1,4}})(?={_NUMBERED_WORDS})")
_ORDINAL_DIGITS = re.compile(rf"第(\d+)(?={_NUMBERED_WORDS})")
_CN_DIGIT = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _chinese_count(match: re.Match) -> str:
    text = match.group(1)
    if "十" in text:
        tens, _, ones = text.partition("十")
        if tens and tens not in _CN_DIGIT or ones and ones not in _CN_DIGIT or len(tens) > 1 or len(ones) > 1:
            return match.group(0)
        return str(_CN_DIGIT.get(tens, 1) * 10 + _CN_DIGIT.get(ones, 0))
    return "".join(str(_CN_DIGIT[ch]) for ch in text)


# What sets a branch or a numbered unit apart from its parent: 一分公司, 北京分公司, 二厂 (as written at the end).
_BRANCH_WORD = re.compile(r"(\d*)(分公司|分厂|分店|办事处|营业部|分部|分院|分中心|分行|支行|门店|厂|店)$")
# 厂 and 店 end many a company's own name ("XX服装厂"); they mark a unit only with a number or a place.
_UNIT_WORDS = frozenset({"厂", "店", "门店"})


def _trailing_place(text: str) -> tuple[str, int]:
    """(region name, where it starts) when one (with 市, 区 or 县 after it) ends `text` after something else."""
    for suffix in ("市", "区", "县", ""):
        if suffix and not text.endswith(suffix):
            continue
        body = text[: len(text) - len(suffix)]
        for length in _REGION_LENGTHS:
            if len(body) > length and body[-length:] in _REGION_NAMES:
                return body[-length:], len(body) - length
    return "", len(text)


@lru_cache(maxsize=131072)
def split_branch(text: str) -> tuple[str, str]:
    """(the name before it, the branch) of a normalized name: "嘉星印刷有限公司1分公司" → ("嘉星印刷有限公司", "1分公司")."""
    match = _BRANCH_WORD.search(text)
    if not match:
        return text, ""
    digits, word = match.groups()
    head = text[: match.start()]
    place = ""
    if not digits:
        # "北京分公司", "上海浦东分公司": places right before the branch word belong to it.
        while (found := _trailing_place(head))[0]:
            place = found[0] + place
            head = head[: found[1]]
    if word in _UNIT_WORDS and not digits and not place:
        return text, ""
    return head, digits + place + word


_NUMBER_CHARS = re.compile(r"\d+|[〇零一二三四五六七八九十两]")


@lru_cache(maxsize=131072)
def name_mark(key: str) -> str:
    """What no typo tolerance may bridge in a company key: its branch and every number in it.

    "轮询测试1号科技" and "轮询测试2号科技", "XX一分公司" and "XX二分公司", "XX一厂" and "XX厂" are other
    companies, one character apart or not; only a credit code says otherwise.
    """
    brand = brand_key(key, is_key=True)
    branch = split_branch(key)[1]
    # Numbers in the brand only: industry words hold numerals of their own (五金).
    numbers = ",".join(_NUMBER_CHARS.findall(brand))
    return f"{branch}|{numbers}" if branch or numbers else ""


# Anything that is not a letter or digit: punctuation (ASCII after NFKC) and CJK symbols.
_NOISE = re.compile(r"[^\w]|_", re.UNICODE)


_LEGAL_SET = frozenset(_LEGAL_FORMS)
_LEGAL_LENGTHS = sorted({len(w) for w in _LEGAL_FORMS}, reverse=True)
# English legal forms need their word boundaries, so they go before spaces are dropped ("Tesco" keeps its "co").
_ENGLISH_LEGAL_TAIL = re.compile(
    r"(?:[\s,.]*\b(?:co\.?,?\s*ltd|company\s+limited|limited|ltd|inc|incorporated|corp|corporation|group|company|co|llc|plc|gmbh)\b\.?)+\s*$"
)


def _strip_legal_forms(text: str) -> str:
    stripped = _strip_tail(text, _LEGAL_SET, _LEGAL_LENGTHS)
    # A name that is nothing but a legal form ("公司") stays as it is rather than vanishing.
    return stripped or text


def _drop_bracketed(match: re.Match) -> str:
    inner = "".join(match.group(1).split())
    # A region or a legal form in brackets ("(武汉)", "（中国）", "(集团)") is dropped; anything else keeps its text.
    return "" if not inner or _region_only(inner) or inner in _LEGAL_SET else inner


_ASCII_LETTER = re.compile(r"[a-z]")


@lru_cache(maxsize=131072)
def company_parts(raw: str) -> tuple[str, str]:
    """(region named in it, comparable core) of a company name; see `company_key`."""
    text = to_simplified(unicodedata.normalize("NFKC", raw).lower())
    if _ASCII_LETTER.search(text):
        text = _ENGLISH_LEGAL_TAIL.sub("", text.strip())
    region_found = ""
    if "(" in text or "[" in text or "【" in text or "〔" in text:
        for match in _BRACKETED.finditer(text):
            inner = "".join(match.group(1).split())
            if inner and _region_only(inner):
                region_found = _scan_regions(inner)[1]
        text = _BRACKETED.sub(_drop_bracketed, text)
    text = _NOISE.sub("", text)
    if "第" in text or _CHINESE_COUNT.search(text):
        text = _ORDINAL_DIGITS.sub(r"\1", _CHINESE_COUNT.sub(_chinese_count, text))
    text, branch = split_branch(text)
    text = _strip_legal_forms(text)
    end, leading = _scan_regions(text)
    # The region goes only when a real name remains: "上海" alone or "青岛啤酒"-like names made of a
    # region and industry words keep it, so they do not collapse into a bare "啤酒".
    if leading:
        rest = _strip_legal_forms(text[end:])
        if len(rest) >= 2 and _strip_tail(rest, _INDUSTRY_SET, _INDUSTRY_LENGTHS):
            region_found = region_found or leading
            text = rest
    return region_found, text + branch


def _region_name(token: str) -> str:
    """The most specific region named in a token ("广东省深圳市" → "深圳"), or ""."""
    return _scan_regions(token)[1]


def company_key(raw: str) -> str:
    """A comparable form of a company name: no region, no legal form, no punctuation, simplified.

    "(广州)华为技术有限公司", "广州市華為技術股份有限公司" and "华为技术公司" all give "华为技术".
    """
    return company_parts(raw)[1]


def company_region(raw: str) -> str:
    """The region written in a company name ("深圳", "广东"), or ""; sister companies differ here."""
    return company_parts(raw)[0]


@lru_cache(maxsize=131072)
def brand_key(raw_or_key: str, *, is_key: bool = False) -> str:
    """The brand inside a company name: `company_key` without trailing industry words ("华为技术" → "华为")."""
    key = raw_or_key if is_key else company_key(raw_or_key)
    core = split_branch(key)[0] or key
    stripped = _strip_tail(core, _INDUSTRY_SET, _INDUSTRY_LENGTHS)
    return stripped if len(stripped) >= 2 else core


def industry_part(key: str) -> str:
    """The trailing industry words of a company key ("华为技术" → "技术"), or ""."""
    brand = brand_key(key, is_key=True)
    core = split_branch(key)[0]
    return core[len(brand):] if core.startswith(brand) else ""


# Titles people are called by instead of their given name: 王总, 李经理, 张老师, 陈工.
_TITLES = sorted(
    ["总经理", "副总经理", "董事长", "总监", "经理", "主任", "老师", "老板", "女士", "先生", "小姐", "总工", "部长", "主管", "助理",
     "秘书", "会计", "总", "工", "姐", "哥", "董", "师傅"],
    key=len, reverse=True,
)
_TITLE_SET = frozenset(_TITLES)
# Titles that also end ordinary given names (张晓姐 is no one's title) stay part of a longer name.
_NAME_ENDINGS = frozenset({"小姐"})
_NAME_NOTE = re.compile(r"\([^()]*\)")
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐")


@lru_cache(maxsize=65536)
def person_name(raw: str) -> tuple[str, bool]:
    """(name, is_title) of a contact: "王总" → ("王", True); "王小明" → ("王小明", False); spaces dropped."""
    text = to_simplified(fold_width(raw)).lower()
    # A role written after the name: "王伟（经理）", "王伟 总", "王伟经理" are 王伟.
    text = _NAME_NOTE.sub("", text).strip()
    if " " in text:
        head, _, last = text.rpartition(" ")
        text = head if last in _TITLE_SET and len(head.replace(" ", "")) >= 2 else text
        text = text.replace(" ", "")
    if not text:
        return "", False
    for title in _TITLES:
        if text.endswith(title) and len(text) > len(title):
            stem = text[: -len(title)]
            if len(stem) == 1 or stem in _COMPOUND_SURNAMES:
                return stem, True
            # Two or three characters before a title of two or more are a full name and a role.
            if len(title) >= 2 and 2 <= len(stem) <= 3 and title not in _NAME_ENDINGS:
                return stem, False
    return text, False


@lru_cache(maxsize=4096)
def city_name(raw: str) -> str:
    """A city column's value as a region name ("杭州市" → "杭州"), or the folded text itself."""
    text = to_simplified("".join(fold_width(raw).split()))
    return _region_name(text) or text


def surname(name: str) -> str:
    if name[:2] in _COMPOUND_SURNAMES:
        return name[:2]
    return name[:1]


def credit_code_key(raw: str) -> str:
    if not raw:
        return ""
    return fold_width(raw).replace(" ", "").upper()


# GB 32100-2015: 18 characters from this alphabet (no I, O, Z, S, V); the 18th checks the first 17
# (python-stdnum computes it). GB 11714: positions 9–17 are the organization code, whose 9th
# character checks its first 8.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def phone_error(field: str, value: str) -> str | None:
    """Why `value` is no phone number for `field` ("mobile" or "landline"), with the format to use; None if it is."""
    from django.utils.translation import gettext as _

    if phone_key(value):
        return None
    if doubled := _doubled_country_code(value):
        return _("“%(value)s” has the country code 86 twice; write it once: %(number)s.") % {
            "value": value, "number": doubled}
    if field == "landline":
        return _("“%(value)s” is not a valid phone number; include the area code, e.g. 021-62345678.") % {"value": value}
    return _("“%(value)s” is not a valid phone number; enter the 11 digits of a mainland mobile, e.g. "
             "13912345678, or the country code first, e.g. +852 9123 4567.") % {"value": value}


# "+86 +86 139…", "0086008613…", "86+86 139…": the country code written twice, as when a number copied with
# its +86 is pasted after the +86 a form or a phone book already put there.
_DOUBLED_COUNTRY_CODE = re.compile(r"(?:\+|00)?86(?:\+|00)?86(\d{7,})")


def _doubled_country_code(value: str) -> str:
    """The number written with one country code ("+86 139 1234 5678") when `value` has it twice; else ""."""
    compact = re.sub(r"[\s\-.()]", "", fold_width(value))
    if not (doubled := _DOUBLED_COUNTRY_CODE.fullmatch(compact)) or not (key := phone_key("+86" + doubled.group(1))):
        return ""
    return phonenumbers.format_number(phonenumbers.parse(key), phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def credit_code_error(code: str) -> str | None:
    """Why a unified social credit code is invalid, in words a person can act on; None when valid."""
    from django.utils.translation import gettext as _

    if len(code) != 18:
        return _("A unified social credit code has 18 characters; this one has %(n)d.") % {"n": len(code)}
    bad = [c for c in code if c not in _USCC_CHARS]
    if bad:
        return _("A unified social credit code cannot contain “%(chars)s”.") % {"chars": "".join(dict.fromkeys(bad))}
    if not credit_code_valid(code):
        if not _uscc_check_ok(code):
            return _("The check character of this unified social credit code does not match; please check for a typo.")
        return _("The organization code inside this unified social credit code (characters 9–17) does not check out.")
    return None


def _uscc_check_ok(code: str) -> bool:
    return code[17] == calc_check_digit(code[:17])


@lru_cache(maxsize=65536)
def credit_code_valid(code: str) -> bool:
    """True for an 18-character code whose two check characters are right (no translation machinery)."""
    if len(code) != 18 or any(c not in _USCC_CHARS for c in code) or not _uscc_check_ok(code):
        return False
    org = code[8:17]
    org_total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(org[:8], _ORG_WEIGHTS, strict=True))
    org_check = 11 - org_total % 11
    return org[8] == {10: "X", 11: "0"}.get(org_check, str(org_check))


def company_keys(raw: str) -> dict[str, str]:
    """The stored company keys of a lead: the comparable name and the blocks fuzzy matching searches."""
    key = company_key(raw) if raw else ""
    brand = brand_key(key, is_key=True) if key else ""
    # Typo tolerance starts at three-character brands (see matching.typo_match), so shorter ones need no block.
    long_enough = len(brand) >= 3
    return {
        "company_key": key[:200],
        "brand_key": brand[:200],
        "brand_head": brand[:2] if long_enough else "",
        "brand_tail": brand[-2:] if long_enough else "",
    }
