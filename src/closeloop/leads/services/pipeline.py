"""Rows prepared in a second process while this one writes them: an import's two cores.

An import spends a third of its time on work that needs no database: reading the spreadsheet and cleaning
each row (phone parsing, company keys, the match key). `chunks_apart` runs that part in a forked process that
sends prepared chunks through a bounded queue, while this process searches duplicates, assigns and writes.
`chunks_in_process` is the same in one process (small batches, tests, a platform without fork), so both
paths run the same `prepare`.

The preparing process never uses the database: it inherits this process's connections, which it must not
touch, so any query it tries fails at once (`_no_database`). It stops with this process (a parent-death
signal, and a check of its parent whenever the queue is full), and this process ends it when the rows are
done, fail, or the caller stops reading (an exception in the writer, a closed generator): never a leftover.

Fork copies only the thread that forks: a lock another thread held at that moment stays held forever in the
child. The job worker runs one other thread, the sweep scheduler, which holds locks only while it ticks
(`core.schedule.paused` keeps it parked between ticks while the process forks). Any other thread is one
nobody can vouch for (a test's live server, an embedding program), so with one the rows are read and
cleaned in this process instead: slower, never stuck.
"""

import logging
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from closeloop.core import schedule

logger = logging.getLogger(__name__)

# Prepared chunks the preparing process may be ahead of the writer: enough to keep both busy, and the memory
# of a few chunks whatever the file's size.
AHEAD = 2
# How often (seconds) a side blocked on the queue checks that the other is still there.
_POLL = 1.0
# How long the writer waits for one chunk before it gives up on the preparing process. A chunk takes it well
# under a second; this bounds the one hang fork can cause: a lock another thread of this process (the worker's
# scheduler) held at the moment of the fork, which the preparing process would wait for forever.
STALL_SECONDS = 300.0
# How long the writer waits for the scheduler's tick to end before it forks (a tick enqueues a few sweeps:
# milliseconds, unless the database is busy); past it the rows are read in this process.
PAUSE_SECONDS = 30.0


def available() -> bool:
    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


def chunks_in_process(rows: Iterable, size: int, prepare: Callable, progress: Callable | None = None) -> Iterator:
    """(prepared rows, progress()) per chunk of `size` rows; `progress()` is read once the chunk is drawn."""
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield [prepare(row) for row in chunk], progress() if progress is not None else None


def chunks_apart(rows: Iterable, size: int, prepare: Callable, progress: Callable | None = None) -> Iterator:
    """`chunks_in_process`, with the rows read and prepared in a forked process.

    `rows`, `prepare` and `progress` run in that process (they reach it by fork, not by pickling); what they
    return comes back pickled, one chunk at a time. An exception there is raised here, after the chunks
    before it.
    """
    context = multiprocessing.get_context("fork")
    channel = context.Queue(maxsize=AHEAD)
    child = context.Process(target=_produce, args=(rows, size, prepare, progress, channel, os.getpid()),
                            name="closeloop-import-prepare", daemon=True)
    with schedule.paused(PAUSE_SECONDS) as parked:
        unsafe = unsafe_threads(scheduler_parked=parked)
        if not unsafe:
            with warnings.catch_warnings():
                # Python warns of any fork beside other threads; the only other one here is parked, lock-free.
                warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
                child.start()
    if unsafe:
        logger.info("an import reads its rows in the writing process: other threads run here (%s)", ", ".join(unsafe))
        channel.close()
        yield from chunks_in_process(rows, size, prepare, progress)
        return
    try:
        while True:
            kind, payload = _receive(channel, child)
            if kind == "done":
                return
            if kind == "error":
                raise payload
            yield payload
    finally:
        _stop(child)
        channel.close()
        channel.join_thread()


def unsafe_threads(*, scheduler_parked: bool) -> list[str]:
    """The threads of this process that a fork could catch holding a lock: every one but the caller's, and
    the scheduler's while it is parked between ticks."""
    me, parked = threading.get_ident(), schedule.scheduler_threads() if scheduler_parked else frozenset()
    return [thread.name for thread in threading.enumerate() if thread.ident != me and thread.ident not in parked]


def _receive(channel, child) -> tuple[str, object]:
    deadline = time.monotonic() + STALL_SECONDS
    while True:
        try:
            return channel.get(timeout=_POLL)
        except queue.Empty:
            if child.is_alive():
                if time.monotonic() < deadline:
                    continue
                raise RuntimeError(f"the import's preparing process sent nothing for {STALL_SECONDS:.0f} s") from None
        # The process is gone: what it sent before it went may still be in the pipe.
        try:
            return channel.get(timeout=_POLL)
        except queue.Empty:
            raise RuntimeError(f"the import's preparing process stopped unexpectedly (exit code {child.exitcode})"
                               ) from None


def _stop(child) -> None:
    if child.is_alive():
        child.terminate()
    child.join(timeout=5)
    if child.is_alive():
        logger.warning("the import's preparing process %s did not stop on SIGTERM; killing it", child.pid)
        child.kill()
        child.join()


def _produce(rows, size, prepare, progress, channel, parent: int) -> None:
    """The preparing process's whole life."""
    _die_with_parent(parent)
    _no_database()
    try:
        for item in chunks_in_process(rows, size, prepare, progress):
            _put(channel, ("chunk", item), parent)
        _put(channel, ("done", None), parent)
    except Exception as exc:
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        _put(channel, ("error", exc), parent)


def _put(channel, item, parent: int) -> None:
    while True:
        try:
            channel.put(item, timeout=_POLL)
            return
        except queue.Full:
            if os.getppid() != parent:  # the writer is gone: nobody will read this
                os._exit(1)


def _die_with_parent(parent: int) -> None:
    # The worker's signal handlers are the parent's business: here SIGTERM ends the process.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:  # Linux: killed with the parent, even when the parent is killed outright
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _no_database() -> None:
    """Refuse every query: the connections here are the parent's, inherited by fork, and using one would
    corrupt the parent's session (SQLite's locks, PostgreSQL's protocol state)."""
    from django.db import connections

    def refuse(execute, sql, params, many, context):
        raise RuntimeError("the import's preparing process may not use the database")

    for connection in connections.all():
        connection.execute_wrappers.append(refuse)
