"""The SLA clock's arithmetic, hard: weekends, public holidays, 调休 working weekends, starts outside hours,
night shifts across midnight, 7×24 policies, and pauses while a ticket waits on the customer."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.service.business_hours import Clock, WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
# 国庆 2026 as a company might configure it: 10-01..10-07 off, Sunday 09-27 and Saturday 10-10 worked (调休).
NATIONAL_DAY = frozenset(date(2026, 10, d) for d in range(1, 8))
MAKEUP = frozenset({date(2026, 9, 27), date(2026, 10, 10)})
CAL = WorkingCalendar(tz=SH, holidays=NATIONAL_DAY, workdays=MAKEUP)
NIGHT = WorkingCalendar(tz=SH, start=time(22), end=time(6), holidays=NATIONAL_DAY, workdays=MAKEUP)


def at(y, m, d, hh=0, mm=0, tz=SH):
    return datetime(y, m, d, hh, mm, tzinfo=tz)


@pytest.mark.parametrize("start, minutes, due", [
    (at(2026, 12, 7, 9), 60, at(2026, 12, 7, 10)),  # Monday morning
    (at(2026, 12, 7, 17), 120, at(2026, 12, 8, 10)),  # past 18:00 runs on the next morning
    (at(2026, 12, 11, 17), 120, at(2026, 12, 14, 10)),  # Friday → Monday
    (at(2026, 12, 12, 11), 30, at(2026, 12, 14, 9, 30)),  # raised on Saturday: counted from Monday 9:00
    (at(2026, 12, 7, 20), 60, at(2026, 12, 8, 10)),  # raised in the evening
    (at(2026, 12, 7, 6), 0, at(2026, 12, 7, 9)),  # zero minutes: the next working moment
    (at(2026, 12, 7, 18), 0, at(2026, 12, 8, 9)),  # 18:00 is already after hours
    (at(2026, 12, 7, 9), 540, at(2026, 12, 7, 18)),  # a full day ends at the close, not the next morning
    (at(2026, 12, 7, 9), 541, at(2026, 12, 8, 9, 1)),
    (at(2026, 9, 30, 17), 120, at(2026, 10, 8, 10)),  # the holiday week is skipped
    (at(2026, 9, 25, 17), 120, at(2026, 9, 27, 10)),  # Friday → the 调休 Sunday, not Monday
    (at(2026, 10, 9, 17), 120, at(2026, 10, 10, 10)),  # Friday → the 调休 Saturday
    (at(2026, 10, 3, 10), 60, at(2026, 10, 8, 10)),  # raised inside the holiday
    (at(2026, 12, 7, 1, 0, ZoneInfo("UTC")), 60, at(2026, 12, 7, 10)),  # 09:00 in Shanghai is 01:00 UTC
])
def test_adding_working_minutes(start, minutes, due):
    assert CAL.add(start, minutes) == due


def test_the_answer_keeps_the_callers_time_zone():
    utc = ZoneInfo("UTC")
    assert CAL.add(at(2026, 12, 7, 1, 0, utc), 60).tzinfo == utc


@pytest.mark.parametrize("a, b, minutes", [
    (at(2026, 12, 7, 9), at(2026, 12, 7, 18), 540),
    (at(2026, 12, 7, 8), at(2026, 12, 7, 20), 540),
    (at(2026, 12, 11, 17), at(2026, 12, 14, 10), 120),
    (at(2026, 12, 12, 0), at(2026, 12, 14, 0), 0),  # a weekend
    (at(2026, 9, 30, 9), at(2026, 10, 8, 9), 540),  # only 09-30 counts (10-01..07 off)
    (at(2026, 9, 26, 0), at(2026, 9, 28, 0), 540),  # Saturday off, the 调休 Sunday worked
    (at(2026, 12, 7, 12), at(2026, 12, 7, 11), 0),  # backwards
])
def test_minutes_between(a, b, minutes):
    assert CAL.minutes_between(a, b) == minutes


@pytest.mark.parametrize("start, minutes, due", [
    (at(2026, 12, 7, 23), 60, at(2026, 12, 8, 0)),  # across midnight inside the shift
    (at(2026, 12, 8, 5), 120, at(2026, 12, 8, 23)),  # Monday's shift ends Tuesday 06:00; Tuesday's at 22:00
    (at(2026, 12, 12, 5), 120, at(2026, 12, 14, 23)),  # Friday's shift runs into Saturday; then Monday night
    (at(2026, 12, 12, 7), 30, at(2026, 12, 14, 22, 30)),  # Saturday morning after the shift
    (at(2026, 9, 30, 22), 480, at(2026, 10, 1, 6)),  # the shift of the last day before the holiday is whole
    (at(2026, 9, 30, 22), 481, at(2026, 10, 8, 22, 1)),  # ... and the holiday's nights are off
    (at(2026, 9, 27, 23), 60, at(2026, 9, 28, 0)),  # the 调休 Sunday's night shift is worked
])
def test_a_night_shift_belongs_to_the_day_it_starts(start, minutes, due):
    assert NIGHT.add(start, minutes) == due


def test_night_minutes_between():
    assert NIGHT.minutes_between(at(2026, 12, 7, 0), at(2026, 12, 8, 12)) == 480  # Monday 22:00 → Tuesday 06:00
    assert NIGHT.minutes_between(at(2026, 12, 7, 3), at(2026, 12, 7, 4)) == 0  # Sunday's night is off
    assert NIGHT.is_working_time(at(2026, 12, 8, 3)) and not NIGHT.is_working_time(at(2026, 12, 8, 12))


def test_seven_by_twenty_four_counts_every_minute():
    always = WorkingCalendar(tz=SH, holidays=NATIONAL_DAY, always=True)
    assert always.add(at(2026, 10, 3, 23), 120) == at(2026, 10, 4, 1)
    assert always.minutes_between(at(2026, 10, 3, 23), at(2026, 10, 4, 1)) == 120


def test_a_calendar_with_no_working_day_says_so():
    with pytest.raises(ValueError):
        WorkingCalendar(tz=SH, weekdays=frozenset()).add(at(2026, 12, 7, 9), 1)
    with pytest.raises(ValueError):
        CAL.add(at(2026, 12, 7, 9), -1)


def test_a_clock_spans_years_of_working_days():
    """Only days off in a row are bounded: two years of a working calendar is 2 × 261 days of 540 minutes."""
    start, end = at(2024, 1, 1, 9), at(2026, 1, 1, 9)  # a Monday and a Thursday, 09:00
    weekdays = sum(1 for n in range((end.date() - start.date()).days)
                   if (start.date() + timedelta(days=n)).weekday() < 5)
    plain = WorkingCalendar(tz=SH)
    assert plain.minutes_between(start, end) == weekdays * 540
    assert plain.add(start, weekdays * 540) == at(2025, 12, 31, 18)
    clock = Clock(plain, start, target=240)
    assert clock.remaining(end) == 240 - weekdays * 540
    assert clock.met_by(at(2024, 1, 1, 13)) and not clock.met_by(at(2024, 1, 1, 13, 1))


def test_met_by_looks_only_as_far_as_the_due_time():
    friday = at(2026, 12, 4, 14)
    clock = Clock(CAL, friday, target=240)  # due Friday 18:00
    assert clock.met_by(at(2026, 12, 4, 18)) and clock.met_by(at(2026, 12, 5, 12))  # the weekend uses nothing
    assert not clock.met_by(at(2026, 12, 7, 9, 1))
    paused = clock.pause(at(2026, 12, 4, 15))  # waiting on the customer after an hour
    assert paused.met_by(at(2030, 1, 1, 9))
    always = Clock(WorkingCalendar(tz=SH, always=True), friday, target=60)
    assert always.met_by(at(2026, 12, 4, 15)) and not always.met_by(at(2026, 12, 4, 15, 1))


def test_a_paused_clock_stands_still_and_resumes_where_it_stopped():
    monday = at(2026, 12, 7, 9)
    clock = Clock(CAL, monday, target=480)  # one working day of eight hours
    assert clock.due_at() == at(2026, 12, 7, 17)
    paused = clock.pause(at(2026, 12, 7, 11))  # 120 used, waiting on the customer
    assert paused.due_at() is None
    assert paused.remaining(at(2026, 12, 9, 15)) == 360  # two days later: still 360 left
    resumed = paused.resume(at(2026, 12, 8, 10))  # the customer answered Tuesday 10:00
    assert resumed.paused_minutes == 420 + 60
    assert resumed.due_at() == at(2026, 12, 8, 16)  # 10:00 + the 360 left
    assert resumed.remaining(at(2026, 12, 8, 10)) == 360
    assert resumed.remaining(at(2026, 12, 8, 17)) == -60  # breached by an hour
    # Pausing twice or resuming a running clock changes nothing.
    assert paused.pause(at(2026, 12, 8, 9)) == paused and resumed.resume(at(2026, 12, 9, 9)) == resumed


def test_a_pause_over_a_weekend_and_a_holiday_costs_no_working_time_twice():
    clock = Clock(CAL, at(2026, 9, 30, 9), target=600).pause(at(2026, 9, 30, 17))  # 480 used
    clock = clock.resume(at(2026, 10, 8, 9, 30))  # 60 (09-30) + 30 (10-08)
    assert clock.paused_minutes == 90
    assert clock.due_at() == at(2026, 10, 8, 11, 30)


def test_a_pause_outside_hours_costs_nothing():
    clock = Clock(CAL, at(2026, 12, 7, 9), target=60).pause(at(2026, 12, 7, 19)).resume(at(2026, 12, 8, 8))
    assert clock.paused_minutes == 0


moments = st.datetimes(min_value=datetime(2026, 9, 20), max_value=datetime(2026, 10, 20),
                       timezones=st.just(SH)).map(lambda d: d.replace(second=0, microsecond=0))


@given(start=moments, minutes=st.integers(min_value=0, max_value=5000), calendar=st.sampled_from([CAL, NIGHT]))
def test_add_and_minutes_between_agree(start, minutes, calendar):
    due = calendar.add(start, minutes)
    assert due >= start
    assert calendar.minutes_between(start, due) == minutes
    if minutes:
        # Just before it is due, the clock is not yet due: nothing is counted twice or skipped.
        assert calendar.minutes_between(start, due - timedelta(minutes=1)) == minutes - 1


@given(a=moments, b=moments, c=moments)
def test_minutes_between_adds_up_over_a_split(a, b, c):
    a, b, c = sorted([a, b, c])
    for calendar in (CAL, NIGHT):
        assert calendar.minutes_between(a, c) == calendar.minutes_between(a, b) + calendar.minutes_between(b, c)
