"""Business-hours arithmetic for SLA clocks: which moments count, and how many minutes lie between two moments.

A `WorkingCalendar` says which days are working days (weekdays by default, minus public holidays, plus the
weekend days that are worked instead, 调休) and the working hours of such a day, in the site's time zone. The
hours may run past midnight (a night shift 22:00–06:00): the part after midnight belongs to the day the shift
started, so a holiday or a 调休 day moves the whole shift.

Everything here is pure: the SLA services build a calendar from the settings rows and ask it
`add(start, minutes)` (when is a target due) and `minutes_between(a, b)` (how much working time passed, e.g.
while a ticket waited on the customer). Times are timezone-aware; the answers are aware too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# No calendar goes this many days in a row without a working day (a year of holidays is impossible); one that
# does has no working time at all. Only days off in a row count: a clock may span any number of working days.
MAX_DAYS = 400


@dataclass(frozen=True)
class WorkingCalendar:
    tz: ZoneInfo
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    start: time = time(9)
    end: time = time(18)
    holidays: frozenset[date] = field(default_factory=frozenset)  # days off that would be working days
    workdays: frozenset[date] = field(default_factory=frozenset)  # weekend days worked instead (调休)
    # True: every minute counts (a P1 policy "7×24"); the days and hours above are ignored.
    always: bool = False

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def shift(self, day: date) -> tuple[datetime, datetime]:
        """The working interval that starts on `day` (ending the next day for a night shift)."""
        begin = datetime.combine(day, self.start, tzinfo=self.tz)
        end_day = day + timedelta(days=1) if self.overnight else day
        return begin, datetime.combine(end_day, self.end, tzinfo=self.tz)

    def shifts_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals (as aware datetimes) that end after `moment`, in order, the first clipped to start
        no earlier than it."""
        local = moment.astimezone(self.tz)
        # A night shift that started yesterday may still be running.
        day = local.date() - timedelta(days=1)
        days_off = 0
        while days_off < MAX_DAYS:
            if self.is_working_day(day):
                days_off = 0
                begin, end = self.shift(day)
                if end > local:
                    yield max(begin, local), end
            else:
                days_off += 1
            day += timedelta(days=1)
        raise ValueError("no working day within a year: check the calendar")

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time after `start` (a start outside working hours waits for the next
        shift, so a ticket raised at night is due counted from the next morning)."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        if self.always:
            return start + timedelta(minutes=minutes)
        left = timedelta(minutes=minutes)
        for begin, end in self.shifts_from(start):
            if begin + left <= end:
                return (begin + left).astimezone(start.tzinfo)
            left -= end - begin
        raise AssertionError("unreachable")

    def minutes_between(self, a: datetime, b: datetime) -> float:
        """Working minutes from `a` to `b` (0 when b is not after a)."""
        if b <= a:
            return 0.0
        if self.always:
            return (b - a).total_seconds() / 60
        total = timedelta()
        for begin, end in self.shifts_from(a):
            if begin >= b:
                break
            total += min(end, b) - begin
        return total.total_seconds() / 60

    def is_working_time(self, moment: datetime) -> bool:
        if self.always:
            return True
        begin, _end = next(self.shifts_from(moment))
        return begin <= moment.astimezone(self.tz)


@dataclass(frozen=True)
class Clock:
    """An SLA clock: `target` working minutes from `started_at`, not counting the working minutes it was paused
    (`paused_minutes` for pauses already over, plus the one running since `paused_since`)."""

    calendar: WorkingCalendar
    started_at: datetime
    target: float
    paused_minutes: float = 0.0
    paused_since: datetime | None = None

    def due_at(self) -> datetime | None:
        """When the target falls due; None while paused (the clock stands still)."""
        if self.paused_since is not None:
            return None
        return self.calendar.add(self.started_at, self.target + self.paused_minutes)

    def used(self, now: datetime) -> float:
        """Working minutes counted so far."""
        until = self.paused_since if self.paused_since is not None and self.paused_since < now else now
        return max(0.0, self.calendar.minutes_between(self.started_at, until) - self.paused_minutes)

    def remaining(self, now: datetime) -> float:
        """Working minutes left; negative once breached. Walks every working day since the start: ask it only
        while the clock may still be met (see `met_by`)."""
        return self.target - self.used(now)

    def met_by(self, moment: datetime) -> bool:
        """Whether the target was still met at `moment` (or when the clock was paused, if earlier). It looks only
        as far as the due time, so it costs the same however long ago the clock started."""
        if self.paused_since is not None and self.paused_since < moment:
            moment = self.paused_since
        due = self.calendar.add(self.started_at, self.target + self.paused_minutes)
        if moment <= due:
            return True
        if self.calendar.always:
            return False
        # Past the due time but before the next working minute after it: nothing more was used.
        next_begin, _end = next(self.calendar.shifts_from(due))
        return moment <= next_begin

    def pause(self, now: datetime) -> Clock:
        if self.paused_since is not None:
            return self
        return Clock(self.calendar, self.started_at, self.target, self.paused_minutes, now)

    def resume(self, now: datetime) -> Clock:
        if self.paused_since is None:
            return self
        paused = self.calendar.minutes_between(self.paused_since, now)
        return Clock(self.calendar, self.started_at, self.target, self.paused_minutes + paused, None)
