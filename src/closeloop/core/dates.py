"""Dates as people write them into a field: 2026-03-05, 2026/3/5, 2026年3月5日, 3月5日, 3.5, 2026年3月, 明天, 后天,
下周一, 本周五, 月底, 下月底, 3天后, optionally followed by a time (10:00, 10点, 下午3点半). One parser for every
form, filter and API value; `core.inputs` turns its answers into the services' dates and datetimes.

The rules a person cannot see from the text, decided here once:
- relative words count from today in the site's time zone (Asia/Shanghai), weeks start on Monday;
- a day written without a year (3月5日, 3.5) is the nearest such day: this year's, unless that is more than half
  a year away in the past or future, then the neighbouring year's (in December, 1月5日 is next January's);
- a month written without a day (2026年3月, 3月) is the month's LAST day: a deal expected to close "in March"
  closes by its end, as 月底 and 下月底 say; a list filter's lower bound takes the month's first day instead
  (`month_start=True`), so "from 2026年3月" keeps all of March;
- a date without a time, where a time is wanted, is DAY_TIME (10:00), when follow-up calls get made.
"""

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

# The time of day a date typed without a time stands for (a follow-up's morning call).
DAY_TIME = time(10, 0)

EXAMPLES = "2026-03-05, 3月5日, 明天, 下周一, 月底, 3天后"

_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
             "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"(\d{1,3}|[零〇一二两三四五六七八九十百]{1,4})"
_DAYS_AHEAD = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3, "昨天": -1, "前天": -2}


class DateNotUnderstood(ValueError):
    """The text is not a date; the message says which part was not understood, for the person who typed it."""


@dataclass(frozen=True)
class TypedDate:
    day: date
    at: time | None = None  # the time when one was written

    def as_datetime(self) -> datetime:
        """Aware, in the site's time zone; DAY_TIME when no time was written."""
        return timezone.make_aware(datetime.combine(self.day, self.at or DAY_TIME))


def small_number(text: str) -> int:
    """3, 12, 三, 十二, 二十, 两 as an int (the counts in 3天后, 十二月); ValueError otherwise."""
    if text.isdigit():
        return int(text)
    if "百" in text:
        raise ValueError(text)
    if "十" in text:
        tens, _sep, ones = text.partition("十")
        return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)
    if len(text) == 1 and text in _DIGITS:
        return _DIGITS[text]
    raise ValueError(text)


def _day(year: int, month: int, day: int, written: str) -> date:
    if not 1 <= month <= 12:
        raise DateNotUnderstood(_("“%(text)s”: there is no month %(month)s.") % {"text": written, "month": month})
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise DateNotUnderstood(
            _("“%(text)s” is not a day of the calendar: %(month)s/%(year)s has %(days)s days.")
            % {"text": written, "month": month, "year": year, "days": last})
    return date(year, month, day)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _nearest_year(today: date, month: int, day: int | None, written: str) -> date:
    """The year of a day written without one: the candidate closest to today (ties go forward)."""
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        if day is None:
            candidates.append(_month_end(year, month) if 1 <= month <= 12 else _day(year, month, 1, written))
        else:
            try:
                candidates.append(_day(year, month, day, written))
            except DateNotUnderstood:
                if year == today.year:
                    raise
    return min(candidates, key=lambda d: (abs((d - today).days), d < today))


def _date_part(text: str, today: date, month_start: bool) -> tuple[date, str]:
    """The date at the start of `text` and what follows it."""
    def month_day(year: int, month: int) -> date:
        return date(year, month, 1) if month_start else _month_end(year, month)

    if m := re.match(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?", text):
        return _day(int(m[1]), int(m[2]), int(m[3]), m[0].strip()), text[m.end():]
    if m := re.match(r"(\d{4})\s*年\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月(份)?", text):
        month = _month_number(m[2], m[0])
        _day(int(m[1]), month, 1, m[0])
        return month_day(int(m[1]), month), text[m.end():]
    if m := re.match(r"(\d{4})[-/](\d{1,2})(?![\d/-])", text):
        _day(int(m[1]), int(m[2]), 1, m[0])
        return month_day(int(m[1]), int(m[2])), text[m.end():]
    if m := re.match(r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]", text):
        month, day = _month_number(m[1], m[0]), _day_number(m[2], m[0])
        return _nearest_year(today, month, day, m[0]), text[m.end():]
    if m := re.match(r"(\d{1,2})[/.](\d{1,2})(?![\d/.])", text):
        return _nearest_year(today, int(m[1]), int(m[2]), m[0]), text[m.end():]
    if m := re.match(r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月(份)?(底|末|初)?", text):
        month = _month_number(m[1], m[0])
        if m[3] == "初":
            day = _nearest_year(today, month, 1, m[0])
        else:
            day = _nearest_year(today, month, None, m[0])
            if month_start and not m[3]:
                day = day.replace(day=1)
        return day, text[m.end():]
    for word in sorted(_DAYS_AHEAD, key=len, reverse=True):
        if text.startswith(word):
            return today + timedelta(days=_DAYS_AHEAD[word]), text[len(word):]
    if m := re.match(r"(下下|下|上|本|这|这个|下个|上个)?(?:周|星期|礼拜)([一二三四五六日天末1-7])", text):
        weeks = {"下下": 2, "下": 1, "下个": 1, "上": -1, "上个": -1}.get(m[1] or "", 0)
        weekday = _WEEKDAYS[m[2]]
        monday = today - timedelta(days=today.weekday())
        day = monday + timedelta(weeks=weeks, days=weekday)
        if m[1] is None and day < today:
            day += timedelta(weeks=1)  # 周五 alone is the coming Friday
        return day, text[m.end():]
    if m := re.match(r"(下下|下|上|本|这|这个|下个|上个)?月(底|末|初|中)", text):
        months = {"下下": 2, "下": 1, "下个": 1, "上": -1, "上个": -1}.get(m[1] or "", 0)
        year, month = _add_months(today.year, today.month, months)
        day = {"底": None, "末": None, "初": 1, "中": 15}[m[2]]
        return (_month_end(year, month) if day is None else date(year, month, day)), text[m.end():]
    if m := re.match(r"(下|下个|本|这个)月\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]", text):
        year, month = _add_months(today.year, today.month, 1 if m[1] in ("下", "下个") else 0)
        return _day(year, month, _day_number(m[2], m[0]), m[0]), text[m.end():]
    if m := re.match(r"(今|明|本|下)?年(底|末|初)", text):
        year = today.year + (1 if m[1] in ("明", "下") else 0)
        return (date(year, 1, 1) if m[2] == "初" else date(year, 12, 31)), text[m.end():]
    if m := re.match(_NUMBER + r"\s*(个)?\s*(天|日|周|星期|礼拜|个月|月)\s*(后|之后|以后)", text):
        count = _count(m[1], m[0])
        unit = m[3]
        if unit in ("天", "日"):
            return today + timedelta(days=count), text[m.end():]
        if unit in ("周", "星期", "礼拜"):
            return today + timedelta(weeks=count), text[m.end():]
        year, month = _add_months(today.year, today.month, count)
        return date(year, month, min(today.day, calendar.monthrange(year, month)[1])), text[m.end():]
    raise DateNotUnderstood(
        _("“%(text)s” is not a date we can read. Write it as for example %(examples)s.")
        % {"text": text, "examples": EXAMPLES})


def _month_number(text: str, written: str) -> int:
    try:
        return small_number(text)
    except (ValueError, KeyError):
        raise DateNotUnderstood(_("“%(text)s”: there is no month %(month)s.") % {"text": written, "month": text}) from None


def _day_number(text: str, written: str) -> int:
    try:
        return small_number(text)
    except (ValueError, KeyError):
        raise DateNotUnderstood(_("“%(text)s” is not a date we can read. Write it as for example %(examples)s.")
                                % {"text": written, "examples": EXAMPLES}) from None


def _count(text: str, written: str) -> int:
    try:
        count = small_number(text)
    except (ValueError, KeyError):
        count = -1
    if not 0 <= count <= 999:
        raise DateNotUnderstood(_("“%(text)s” is not a date we can read. Write it as for example %(examples)s.")
                                % {"text": written, "examples": EXAMPLES})
    return count


def _time_part(text: str) -> time | None:
    """The time in what follows a date (10:00, 10点, 下午3点半, T10:00:00+08:00 is refused: ISO goes elsewhere);
    None when nothing follows."""
    rest = text.strip()
    if not rest:
        return None
    m = re.fullmatch(r"(?:T|\s)*(早上|上午|中午|下午|晚上|傍晚)?\s*(\d{1,2}|[零一二两三四五六七八九十]{1,3})"
                     r"(?:\s*[:：]\s*(\d{2})(?:[:：]\d{2})?|\s*[点時时]\s*(半|一刻|三刻|(\d{1,2})\s*分?)?)\s*", rest)
    if not m:
        raise DateNotUnderstood(_("Could not understand “%(text)s” after the date. Write a time as 10:00 or 下午3点.")
                                % {"text": rest})
    hour = small_number(m[2]) if not m[2].isdigit() else int(m[2])
    if m[1] in ("下午", "晚上", "傍晚") and hour < 12:
        hour += 12
    elif m[1] == "中午" and hour < 6:
        hour += 12
    minute = int(m[3]) if m[3] else {"半": 30, "一刻": 15, "三刻": 45}.get(m[4] or "", None)
    if minute is None:
        minute = int(m[5]) if m[5] else 0
    if hour > 23 or minute > 59:
        raise DateNotUnderstood(_("“%(text)s” is not a time of day.") % {"text": rest})
    return time(hour, minute)


def parse_typed_date(value: str, *, today: date | None = None, month_start: bool = False) -> TypedDate:
    """What a person typed as a date (and maybe a time), or DateNotUnderstood naming the part it could not read.

    `today` defaults to the site's today (Asia/Shanghai); `month_start` reads a bare month as its first day."""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        raise DateNotUnderstood(_("Enter a date, for example %(examples)s.") % {"examples": EXAMPLES})
    today = today or timezone.localdate()
    day, rest = _date_part(text, today, month_start)
    return TypedDate(day, _time_part(rest))


@dataclass(frozen=True)
class Echo:
    """What a typed date field shows under itself before saving: the day (and time) read, or why not."""

    day: date | None = None
    at: time | None = None
    error: str = ""


def echo(text: str, *, with_time: bool = False, month_start: bool = False) -> Echo:
    """The echo of `text`: nothing for an empty field, else the day read and, where a time is wanted, the time it
    stands for (DAY_TIME when none was written), or why it could not be read."""
    text = (text or "").strip()
    if not text:
        return Echo()
    try:
        typed = parse_typed_date(text, month_start=month_start)
    except DateNotUnderstood as exc:
        return Echo(error=str(exc))
    return Echo(day=typed.day, at=(typed.at or DAY_TIME) if with_time else None)
