"""The worker's schedule: the apps' sweeps, enqueued at an interval or at a time of day, once per due
time however many workers run.

Apps declare sweeps in `LoopApp.sweeps()` (core registers them when it starts): `every_seconds=300`, or
`cron="0 9 * * 1"` for a time of day in the site's time zone (TIME_ZONE, Asia/Shanghai by default;
cron expressions are evaluated by cronsim). Every worker runs the scheduler; each sweep has one
SweepSchedule row saying when it is next due. A worker that finds a sweep due moves the row on with a
conditional UPDATE (… WHERE next_run_at = the value it read) and enqueues the job in the same
transaction, so only the worker whose update changed the row enqueues it, and a worker that fails
before its commit leaves the row as it was. One schedule holds with nothing but the database, on any
number of hosts. (django-crontask keeps one schedule only with a Redis lock; without Redis every
scheduler fires every job, and django-scheduled-tasks reads and writes its run log without a lock.)

Sweeps are idempotent all the same: a late run or a doubled one does no harm. A sweep missed while no
worker ran is run once when one starts again, not once per missed time.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from cronsim import CronSim
from django.db import close_old_connections, transaction
from django.utils import timezone

from .hooks import Sweep

logger = logging.getLogger(__name__)

SWEEPS: dict[str, Sweep] = {}


def register_sweeps(sweeps) -> None:
    for sweep in sweeps:
        if (sweep.every_seconds is None) == (sweep.cron is None):
            raise ValueError(f"sweep {sweep.name!r} needs either every_seconds or cron")
        if sweep.cron is not None:
            CronSim(sweep.cron, timezone.now())  # a malformed expression fails at start, not at 09:00
        if sweep.name in SWEEPS and SWEEPS[sweep.name] != sweep:
            raise ValueError(f"sweep {sweep.name!r} is declared twice")
        SWEEPS[sweep.name] = sweep


def spec_of(sweep: Sweep) -> str:
    return sweep.cron if sweep.cron is not None else f"every {sweep.every_seconds}s"


def next_due(sweep: Sweep, after: datetime) -> datetime:
    """The first time after `after` that the sweep is due."""
    if sweep.cron is None:
        return after + timedelta(seconds=sweep.every_seconds)
    return next(iter(CronSim(sweep.cron, timezone.localtime(after))))


def run_due(now: datetime | None = None) -> list[str]:
    """Enqueue every sweep that is due and that no other worker enqueued first; the names enqueued."""
    from .models import SweepSchedule

    now = now or timezone.now()
    stored = {row.name: row for row in SweepSchedule.objects.filter(name__in=list(SWEEPS))}
    enqueued = []
    for sweep in list(SWEEPS.values()):
        row = stored.get(sweep.name)
        if row is None or row.spec != spec_of(sweep):
            # New, or its schedule changed: an interval sweep is due now, a time-of-day one at its next time.
            # Both writes are conditional, so when several workers start together one of them sets the time.
            first = now if sweep.cron is None else next_due(sweep, now)
            if row is None:
                SweepSchedule.objects.bulk_create(
                    [SweepSchedule(name=sweep.name, spec=spec_of(sweep), next_run_at=first)], ignore_conflicts=True)
            else:
                SweepSchedule.objects.filter(name=sweep.name, spec=row.spec).update(spec=spec_of(sweep), next_run_at=first)
            row = SweepSchedule.objects.get(name=sweep.name)
        if row.next_run_at > now:
            continue
        try:
            with transaction.atomic():
                claimed = SweepSchedule.objects.filter(name=sweep.name, next_run_at=row.next_run_at).update(
                    next_run_at=next_due(sweep, now), last_run_at=now)
                if claimed:
                    sweep.enqueue()
                    enqueued.append(sweep.name)
        except Exception:  # a failing sweep must not stop the others; its row is unchanged, so it is tried again
            logger.exception("could not enqueue sweep %s", sweep.name)
    return enqueued


# The scheduler thread ticks under this lock and holds nothing between ticks (it waits on its own event), so a
# thread that takes it knows the scheduler holds no lock at all: what a process that forks needs (`paused`).
_ticking = threading.Lock()
_scheduler_threads: set[int] = set()


def run_scheduler(stop, tick_seconds: float = 5.0) -> None:
    _scheduler_threads.add(threading.get_ident())
    try:
        while not stop.is_set():
            with _ticking:
                try:
                    close_old_connections()
                    run_due()
                except Exception:  # the database may be away for a moment; the next tick tries again
                    logger.exception("the sweep scheduler could not run")
            stop.wait(tick_seconds)
    finally:
        _scheduler_threads.discard(threading.get_ident())


def scheduler_threads() -> frozenset[int]:
    """The idents of this process's scheduler threads (the worker runs one beside the tasks)."""
    return frozenset(_scheduler_threads)


@contextmanager
def paused(timeout: float) -> Iterator[bool]:
    """Keep this process's scheduler threads between two ticks while the block runs: parked in their wait,
    holding no lock (not the logging's, the database driver's or the import machinery's), so a process forked
    inside the block cannot inherit a lock one of them held. Yields False when a tick did not end within
    `timeout` seconds (a sweep's enqueue waiting for the database), and the block then runs unguarded."""
    held = _ticking.acquire(timeout=timeout)
    try:
        yield held
    finally:
        if held:
            _ticking.release()
