"""Dates as people write them (issue 15): one parser, relative to today in Asia/Shanghai."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from closeloop.core.dates import DAY_TIME, DateNotUnderstood, TypedDate, echo, parse_typed_date
from closeloop.core.errors import ValidationFailed
from closeloop.core.inputs import date_input, datetime_input, day_start

# Sunday 6 December 2026: a week starts on Monday 30 November.
SUNDAY = date(2026, 12, 6)
WEDNESDAY = date(2026, 3, 4)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("typed, today, expected", [
    ("2026-03-05", SUNDAY, date(2026, 3, 5)),
    ("2026/3/5", SUNDAY, date(2026, 3, 5)),
    ("2026.3.5", SUNDAY, date(2026, 3, 5)),
    ("2026年3月5日", SUNDAY, date(2026, 3, 5)),
    ("2026年3月5号", SUNDAY, date(2026, 3, 5)),
    ("２０２６年３月５日", SUNDAY, date(2026, 3, 5)),  # full-width digits from a Chinese keyboard
    (" 2026 年 3 月 5 日 ", SUNDAY, date(2026, 3, 5)),
    # A day without a year is the nearest one: in March, 3月5日 is this year's ...
    ("3月5日", WEDNESDAY, date(2026, 3, 5)),
    ("3.5", WEDNESDAY, date(2026, 3, 5)),
    ("3/5", WEDNESDAY, date(2026, 3, 5)),
    ("十二月三日", SUNDAY, date(2026, 12, 3)),
    ("三月五号", WEDNESDAY, date(2026, 3, 5)),
    # ... in December, 1月5日 and 3月5日 are next year's, 11月30日 last week's.
    ("1月5日", SUNDAY, date(2027, 1, 5)),
    ("3月5日", SUNDAY, date(2027, 3, 5)),
    ("11月30日", SUNDAY, date(2026, 11, 30)),
    # A month without a day is its last day (a deal closing "in March" closes by its end).
    ("2026年3月", SUNDAY, date(2026, 3, 31)),
    ("2026年2月", SUNDAY, date(2026, 2, 28)),
    ("2028年2月", SUNDAY, date(2028, 2, 29)),
    ("2026-03", SUNDAY, date(2026, 3, 31)),
    ("3月底", WEDNESDAY, date(2026, 3, 31)),
    ("4月初", WEDNESDAY, date(2026, 4, 1)),
    ("今天", SUNDAY, SUNDAY),
    ("明天", SUNDAY, date(2026, 12, 7)),
    ("后天", SUNDAY, date(2026, 12, 8)),
    ("大后天", SUNDAY, date(2026, 12, 9)),
    ("下周一", SUNDAY, date(2026, 12, 7)),
    ("下星期三", SUNDAY, date(2026, 12, 9)),
    ("下礼拜五", WEDNESDAY, date(2026, 3, 13)),
    ("本周五", WEDNESDAY, date(2026, 3, 6)),
    ("这周五", WEDNESDAY, date(2026, 3, 6)),
    ("本周五", SUNDAY, date(2026, 12, 4)),  # this week's Friday, even when it has passed
    ("周五", SUNDAY, date(2026, 12, 11)),  # a weekday alone is the coming one
    ("周三", WEDNESDAY, WEDNESDAY),
    ("下周日", WEDNESDAY, date(2026, 3, 15)),
    ("月底", SUNDAY, date(2026, 12, 31)),
    ("月底", WEDNESDAY, date(2026, 3, 31)),
    ("下月底", SUNDAY, date(2027, 1, 31)),  # across the year
    ("下月底", date(2026, 1, 15), date(2026, 2, 28)),
    ("下个月底", WEDNESDAY, date(2026, 4, 30)),
    ("下月初", SUNDAY, date(2027, 1, 1)),
    ("下月5号", SUNDAY, date(2027, 1, 5)),
    ("年底", SUNDAY, date(2026, 12, 31)),
    ("明年初", SUNDAY, date(2027, 1, 1)),
    ("3天后", SUNDAY, date(2026, 12, 9)),
    ("三天后", SUNDAY, date(2026, 12, 9)),
    ("10天之后", SUNDAY, date(2026, 12, 16)),
    ("两周后", SUNDAY, date(2026, 12, 20)),
    ("1个月后", date(2026, 1, 31), date(2026, 2, 28)),  # the month's last day when it is shorter
    ("3个月后", SUNDAY, date(2027, 3, 6)),
])
def test_it_reads_the_dates_people_write(typed, today, expected):
    assert parse_typed_date(typed, today=today).day == expected


@pytest.mark.parametrize("typed, at", [
    ("明天 10:00", time(10, 0)),
    ("明天10点", time(10, 0)),
    ("明天 下午3点", time(15, 0)),
    ("明天下午3点半", time(15, 30)),
    ("下周一 上午9点15分", time(9, 15)),
    ("2026-03-05T14:30", time(14, 30)),
    ("2026-03-05 14:30:00", time(14, 30)),
    ("3月5日 晚上8点", time(20, 0)),
    ("明天", None),
])
def test_it_reads_a_time_after_the_date(typed, at):
    assert parse_typed_date(typed, today=SUNDAY).at == at


@pytest.mark.parametrize("typed, named", [
    ("2月30日", "2月30日"),  # not in the calendar, whatever the year
    ("2026年2月29日", "2026年2月29日"),
    ("2026-02-30", "2026-02-30"),
    ("13月", "13月"),
    ("2026年13月", "2026年13月"),
    ("下周八", "下周八"),
    ("blah", "blah"),
    ("明天xx", "xx"),  # the date was read; what follows it was not
    ("明天 25点", "25点"),
    ("3天后 下午", "下午"),
])
def test_it_names_what_it_did_not_understand(typed, named):
    with translation.override("en"), pytest.raises(DateNotUnderstood) as caught:
        parse_typed_date(typed, today=SUNDAY)
    assert f"“{named}”" in str(caught.value)


def test_it_says_why_a_day_is_not_in_the_calendar_in_chinese():
    with translation.override("zh-hans"), pytest.raises(DateNotUnderstood) as caught:
        parse_typed_date("2月30日", today=SUNDAY)
    assert "28" in str(caught.value) and "“2月30日”" in str(caught.value) and "is not" not in str(caught.value)


def test_it_reads_a_bare_month_as_its_first_day_for_a_lower_bound():
    assert parse_typed_date("2026年3月", today=SUNDAY, month_start=True).day == date(2026, 3, 1)
    assert parse_typed_date("2026年3月5日", today=SUNDAY, month_start=True).day == date(2026, 3, 5)


@override_settings(TIME_ZONE="Asia/Shanghai")
def test_today_is_shanghai_today_not_utc_today(monkeypatch):
    # 23:30 UTC on 6 December is already 7:30 on 7 December in Shanghai: 明天 is the 8th.
    moment = datetime(2026, 12, 6, 23, 30, tzinfo=ZoneInfo("UTC"))
    monkeypatch.setattr(timezone, "now", lambda: moment)
    with timezone.override("Asia/Shanghai"):
        assert parse_typed_date("明天").day == date(2026, 12, 8)
        assert parse_typed_date("今天").as_datetime() == datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)


def test_a_date_alone_stands_for_the_morning_where_a_time_is_wanted():
    typed = TypedDate(date(2026, 3, 5))
    assert timezone.localtime(typed.as_datetime()).time() == DAY_TIME


def test_the_inputs_read_typed_dates_and_keep_iso():
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert date_input("明天", "expected_close_date") == tomorrow
    assert timezone.localtime(datetime_input("明天 15:30", "next_follow_up_at")) == timezone.make_aware(
        datetime.combine(tomorrow, time(15, 30)))
    # The API's ISO times keep their offset.
    assert datetime_input("2026-12-01T10:00:00+00:00", "due_at") == datetime(2026, 12, 1, 10, tzinfo=ZoneInfo("UTC"))
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        date_input("2月30日", "expected_close_date")
    assert "2月30日" in caught.value.field_errors["expected_close_date"][0]


def test_a_filter_reads_a_month_as_a_range():
    start, end = day_start("2026年3月"), day_start("2026年3月", days_after=1)
    assert timezone.localtime(start).date() == date(2026, 3, 1)
    assert timezone.localtime(end).date() == date(2026, 4, 1)
    assert day_start("不是日期") is None


def test_the_echo_shows_the_day_and_the_time_it_stands_for():
    shown = echo("2026年3月5日", with_time=True)
    assert (shown.day, shown.at, shown.error) == (date(2026, 3, 5), DAY_TIME, "")
    assert echo("2026-03-05").at is None
    assert echo("").day is None and not echo("").error
    assert echo("2月30日").error
