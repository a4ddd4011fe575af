"""SQLite with writers queued on a file lock instead of on SQLite's busy timeout.

SQLite lets one writer at a time hold its write lock; the others retry on the busy timeout, which
sleeps between attempts (1, 2, 5, 10 … 100 ms). Under a burst of intake requests most of a
request's time went into those sleeps, long after the lock had become free. Here each transaction
first takes an exclusive `flock` on a file beside the database, retried every 0.2–2 ms, so the next
writer starts within a couple of milliseconds of the previous commit. The wait is bounded by the
database's `timeout` option, after which the caller gets SQLite's own "database is locked" error.
The lock is per open file description, so it separates threads of one process (each has its own
connection) as well as server processes, and the kernel drops it when a process dies.

Writes outside a transaction (autocommit) are single statements and still use the busy timeout.
An in-memory database (the test default) has one connection per process and no lock file.
"""

import fcntl
import os
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    _lock_fd: int | None = None
    _lock_held = False

    def _lock_path(self) -> str | None:
        if self.is_in_memory_db():
            return None
        return f"{self.settings_dict['NAME']}-writelock"

    def _acquire_write_lock(self) -> None:
        if self._lock_held:
            return
        if self._lock_fd is None:
            path = self._lock_path()
            if path is None:
                return
            self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + float(self.settings_dict["OPTIONS"].get("timeout", 5))
        pause = 0.0002
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OperationalError("database is locked") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
        self._lock_held = True

    def _release_write_lock(self) -> None:
        if self._lock_held:
            self._lock_held = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _start_transaction_under_autocommit(self):
        self._acquire_write_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_write_lock()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
