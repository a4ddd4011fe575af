"""The job worker: runs queued tasks and enqueues the periodic sweeps on schedule."""

import logging
import logging.handlers
import threading
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand

from closeloop.core.schedule import run_scheduler


class Command(BaseCommand):
    help = "Run background jobs (imports, notifications) and the periodic sweeps."

    def add_arguments(self, parser):
        parser.add_argument("--no-scheduler", action="store_true", help="Only run queued tasks.")
        parser.add_argument("--log-file", help="Write the per-task log lines to this file instead of the terminal "
                                               "(`closeloop serve` does, so its terminal stays readable).")

    def handle(self, *args, no_scheduler, log_file=None, **options):
        _task_log_to(log_file)
        stop = threading.Event()
        if not no_scheduler:
            threading.Thread(target=run_scheduler, args=(stop,), daemon=True, name="scheduler").start()
        try:
            call_command("db_worker", queue_name="*", interval=0.5, reload=False)
        finally:
            stop.set()


# The loggers that write a line per task run (started, finished) at INFO.
TASK_LOGGERS = ("django_tasks_db", "django.tasks")


def _task_log_to(log_file: str | None) -> None:
    """Send the per-task lines to `log_file` (or the terminal) on their own handler, not through the root
    logger: db_worker raises these loggers to INFO and would otherwise print every task run beside the web
    server's output. Warnings and errors still reach the terminal through the root logger."""
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        # Watched: a logrotate that moves the file is followed by a new one.
        handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # With a file, the terminal still hears what needs a person: a task that failed.
    warnings = logging.StreamHandler()
    warnings.setLevel(logging.WARNING)
    for name in TASK_LOGGERS:
        task_logger = logging.getLogger(name)
        task_logger.addHandler(handler)
        if log_file:
            task_logger.addHandler(warnings)
        task_logger.propagate = False
