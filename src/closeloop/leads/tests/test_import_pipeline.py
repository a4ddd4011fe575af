"""The import's second process (`services.pipeline`): rows prepared apart, in order, with their progress; its
errors raised in the writer; no database use there; and never a process left behind."""

import multiprocessing
import os
import threading
import time

import pytest

from closeloop.core.spreadsheets import SpreadsheetError
from closeloop.leads.services import pipeline

pytestmark = pytest.mark.skipif(not pipeline.available(), reason="needs fork and two cores")


def _prepared(row):
    return row, row * row, os.getpid()


def _children() -> list:
    return [child for child in multiprocessing.active_children() if child.name == "closeloop-import-prepare"]


@pytest.fixture(autouse=True)
def _only_the_tests_own_threads(monkeypatch):
    """In the whole suite, earlier browser tests leave their live servers' threads in this process: they are not
    the threads these tests are about, and beside them the import would read in process, where a test that ends
    the preparing process (`os._exit`) would end the test run. The tests' own threads still count."""
    others = {thread.name for thread in threading.enumerate() if thread.ident != threading.get_ident()}
    if others:
        unsafe = pipeline.unsafe_threads
        monkeypatch.setattr(pipeline, "unsafe_threads", lambda *, scheduler_parked: [
            name for name in unsafe(scheduler_parked=scheduler_parked) if name not in others])


def test_chunks_come_back_in_order_prepared_in_another_process_with_their_progress():
    seen = []

    def rows():
        for n in range(1, 11):
            seen.append(n)
            yield n

    chunks = list(pipeline.chunks_apart(rows(), 4, _prepared, lambda: seen[-1]))
    assert [[row for row, _square, _pid in chunk] for chunk, _progress in chunks] == [[1, 2, 3, 4], [5, 6, 7, 8],
                                                                                   [9, 10]]
    assert [progress for _chunk, progress in chunks] == [4, 8, 10]
    assert all(square == row * row for chunk, _ in chunks for row, square, _pid in chunk)
    # Read and prepared over there: this process's generator never ran.
    assert seen == [] and {pid for chunk, _ in chunks for _r, _s, pid in chunk} - {os.getpid()}
    assert list(pipeline.chunks_in_process(range(1, 6), 4, _prepared)) == [
        ([(1, 1, os.getpid()), (2, 4, os.getpid()), (3, 9, os.getpid()), (4, 16, os.getpid())], None),
        ([(5, 25, os.getpid())], None)]
    assert not _children()


def test_an_error_while_reading_is_raised_here_after_the_chunks_before_it():
    def rows():
        yield from range(5)
        raise SpreadsheetError("The file has more than 5 rows; the import stopped there.")

    chunks = pipeline.chunks_apart(rows(), 2, _prepared)
    assert [row for row, _square, _pid in next(chunks)[0]] == [0, 1]
    assert [row for row, _square, _pid in next(chunks)[0]] == [2, 3]
    with pytest.raises(SpreadsheetError, match="more than 5 rows"):
        next(chunks)
    assert not _children()


def test_the_preparing_process_may_not_query_the_database(db):
    from closeloop.leads.models import Lead

    def rows():
        yield Lead.objects.count()

    with pytest.raises(RuntimeError, match="may not use the database"):
        list(pipeline.chunks_apart(rows(), 10, _prepared))
    # This process's connection is untouched by it.
    assert Lead.objects.count() == 0


def test_a_writer_that_stops_reading_ends_the_preparing_process():
    chunks = pipeline.chunks_apart(iter(range(1_000_000)), 10, _prepared)
    next(chunks)
    [child] = _children()
    assert child.is_alive()
    chunks.close()  # what an exception in the writer does to the generator
    assert not child.is_alive() and not _children()


def test_a_preparing_process_that_dies_is_reported():
    def rows():
        yield 1
        os._exit(3)

    with pytest.raises(RuntimeError, match="stopped unexpectedly"):
        started = time.monotonic()
        list(pipeline.chunks_apart(rows(), 1, _prepared))
    assert time.monotonic() - started < 10 and not _children()


def test_the_preparing_process_dies_with_a_writer_killed_outright(tmp_path):
    """A worker killed with SIGKILL runs no `finally`: the parent-death signal ends its second process."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "writer.py"
    script.write_text(
        "import django, itertools, sys, time\n"
        "django.setup()\n"
        "from closeloop.leads.services import pipeline\n"
        "chunks = pipeline.chunks_apart(itertools.count(), 10, lambda row: row)\n"
        "next(chunks)\n"
        "print([c.pid for c in __import__('multiprocessing').active_children()][0], flush=True)\n"
        "time.sleep(60)\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "closeloop.settings"}
    writer = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        child_pid = int(writer.stdout.readline())
        os.kill(child_pid, 0)  # running
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child_pid, 0)
                # A zombie is gone as a process; it only waits for init to reap it.
                with open(f"/proc/{child_pid}/stat") as stat:
                    if stat.read().split(")")[-1].split()[0] == "Z":
                        break
            except (ProcessLookupError, FileNotFoundError):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the preparing process {child_pid} outlived its killed writer")
    finally:
        writer.kill()
        writer.wait()


def test_a_preparing_process_that_hangs_is_given_up(monkeypatch):
    """Fork can leave the preparing process waiting forever for a lock another thread held: the writer waits
    a bounded time for each chunk, then ends it and fails."""
    monkeypatch.setattr(pipeline, "STALL_SECONDS", 2.0)

    def rows():
        yield 1
        time.sleep(60)
        yield 2

    chunks = pipeline.chunks_apart(rows(), 1, _prepared)
    assert next(chunks)[0][0][0] == 1
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="sent nothing for 2 s"):
        next(chunks)
    assert time.monotonic() - started < 10 and not _children()


def _with_thread(target, *args):
    thread = threading.Thread(target=target, args=args, daemon=True, name="test-thread")
    thread.start()
    return thread


def test_the_fork_waits_for_the_scheduler_between_ticks(monkeypatch):
    """The worker's scheduler thread holds locks while it ticks (here one the preparing process needs too, held
    most of the time): the fork happens while it is parked between ticks, so the child never inherits it held."""
    from closeloop.core import schedule

    held = threading.Lock()
    ticks = []

    def tick():
        with held:
            ticks.append(1)
            time.sleep(0.2)

    def prepare(row):
        if not held.acquire(timeout=3):  # inherited held: without the pause this is the child's deadlock
            raise RuntimeError("the preparing process inherited a lock held by the scheduler")
        held.release()
        return row, os.getpid()

    monkeypatch.setattr(schedule, "run_due", tick)
    stop = threading.Event()
    scheduler = _with_thread(schedule.run_scheduler, stop, 0.01)
    try:
        while not ticks:
            time.sleep(0.01)
        for _attempt in range(5):
            chunks = list(pipeline.chunks_apart(range(3), 2, prepare))
            assert [[row for row, _pid in chunk] for chunk, _ in chunks] == [[0, 1], [2]]
            assert {pid for chunk, _ in chunks for _row, pid in chunk} - {os.getpid()}  # forked, not in process
    finally:
        stop.set()
        scheduler.join(timeout=5)
    assert len(ticks) > 1 and not _children() and not schedule.scheduler_threads()


def test_beside_a_thread_nobody_vouches_for_the_rows_are_read_here():
    """A thread that may hold any lock (a live server, an embedding program): no fork, the same chunks."""
    release = threading.Event()
    other = _with_thread(release.wait, 30)
    try:
        assert pipeline.unsafe_threads(scheduler_parked=True) == ["test-thread"]
        chunks = list(pipeline.chunks_apart(range(3), 2, _prepared))
    finally:
        release.set()
        other.join(timeout=5)
    assert chunks == [([(0, 0, os.getpid()), (1, 1, os.getpid())], None), ([(2, 4, os.getpid())], None)]
    assert not _children() and pipeline.unsafe_threads(scheduler_parked=False) == []
