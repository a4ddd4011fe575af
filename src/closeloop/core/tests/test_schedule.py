"""The worker's schedule: sweeps at an interval or a time of day, enqueued once per due time by however
many workers run, with nothing but the database."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from closeloop.core import schedule
from closeloop.core.hooks import Sweep
from closeloop.core.models import SweepSchedule

from .conftest import at_once

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUNDAY = datetime(2026, 12, 6, 10, 0, tzinfo=SHANGHAI)
MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def sweeps(monkeypatch):
    """Replace the apps' sweeps with recording ones: `sweeps.add(name, every_seconds=… | cron=…)`."""
    registry: dict = {}
    monkeypatch.setattr(schedule, "SWEEPS", registry)
    calls: list[str] = []

    class Sweeps:
        def add(self, name, **when):
            schedule.register_sweeps([Sweep(name, lambda: calls.append(name), **when)])

    Sweeps.calls = calls
    return Sweeps()


def test_an_interval_sweep_runs_now_and_then_after_its_interval(db, sweeps):
    sweeps.add("test.interval", every_seconds=300)
    assert schedule.run_due(SUNDAY) == ["test.interval"]
    assert schedule.run_due(SUNDAY + timedelta(seconds=299)) == []
    assert schedule.run_due(SUNDAY + timedelta(seconds=300)) == ["test.interval"]
    assert sweeps.calls == ["test.interval", "test.interval"]


def test_a_weekly_sweep_runs_on_monday_at_nine_shanghai_time(db, sweeps, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    sweeps.add("test.weekly_digest", cron="0 9 * * 1")
    assert schedule.run_due(SUNDAY) == []
    assert SweepSchedule.objects.get(name="test.weekly_digest").next_run_at == MONDAY_9
    assert schedule.run_due(MONDAY_9 - timedelta(seconds=1)) == []
    assert schedule.run_due(MONDAY_9 + timedelta(seconds=4)) == ["test.weekly_digest"]
    assert schedule.run_due(MONDAY_9 + timedelta(minutes=1)) == []
    assert SweepSchedule.objects.get(name="test.weekly_digest").next_run_at == MONDAY_9 + timedelta(days=7)


def test_a_daily_sweep_missed_for_days_runs_once_when_a_worker_is_back(db, sweeps, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    sweeps.add("test.reminders_at_nine", cron="0 9 * * *")
    schedule.run_due(SUNDAY)
    three_days_later = SUNDAY + timedelta(days=3)
    assert schedule.run_due(three_days_later) == ["test.reminders_at_nine"]
    assert schedule.run_due(three_days_later) == []
    assert SweepSchedule.objects.get(name="test.reminders_at_nine").next_run_at == datetime(
        2026, 12, 10, 9, 0, tzinfo=SHANGHAI)


def test_a_changed_schedule_is_worked_out_anew(db, sweeps, settings, monkeypatch):
    settings.TIME_ZONE = "Asia/Shanghai"
    sweeps.add("test.changing", every_seconds=3600)
    schedule.run_due(SUNDAY)
    monkeypatch.setattr(schedule, "SWEEPS", {})
    sweeps.add("test.changing", cron="0 9 * * 1")
    assert schedule.run_due(SUNDAY + timedelta(minutes=1)) == []
    row = SweepSchedule.objects.get(name="test.changing")
    assert (row.spec, row.next_run_at) == ("0 9 * * 1", MONDAY_9)


def test_a_sweep_that_cannot_be_enqueued_stays_due(db, monkeypatch):
    attempts = []

    def broken():
        attempts.append(1)
        raise ConnectionError("queue unavailable")

    monkeypatch.setattr(schedule, "SWEEPS", {})
    schedule.register_sweeps([Sweep("test.broken", broken, every_seconds=60)])
    assert schedule.run_due(SUNDAY) == []
    assert schedule.run_due(SUNDAY + timedelta(seconds=5)) == []
    assert len(attempts) == 2 and SweepSchedule.objects.get(name="test.broken").last_run_at is None


@pytest.mark.parametrize("when", [{}, {"every_seconds": 60, "cron": "0 9 * * *"}, {"cron": "0 25 * * *"}])
def test_a_sweep_needs_one_valid_schedule(when, monkeypatch):
    monkeypatch.setattr(schedule, "SWEEPS", {})
    with pytest.raises(Exception):  # noqa: B017 (a ValueError here, cronsim's own error for a bad expression)
        schedule.register_sweeps([Sweep("test.bad", lambda: None, **when)])


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_the_same_moment_enqueue_a_sweep_once(sweeps):
    sweeps.add("test.shared", every_seconds=300)
    schedule.run_due(SUNDAY)  # the first run registers the row; both workers then find it due together
    due = SUNDAY + timedelta(seconds=300)
    results = at_once(lambda: schedule.run_due(due))
    assert sorted(results, key=len) == [[], ["test.shared"]]
    assert sweeps.calls == ["test.shared", "test.shared"]


def test_the_apps_sweeps_enqueue_real_jobs(db):
    from django_tasks_db.models import DBTaskResult

    interval = [sweep.name for sweep in schedule.SWEEPS.values() if sweep.every_seconds]
    assert sorted(schedule.run_due()) == sorted(interval)
    assert DBTaskResult.objects.count() == len(interval)
    assert schedule.run_due() == []
