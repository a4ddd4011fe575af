"""The job worker: runs queued tasks and enqueues the periodic sweeps on schedule."""

import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand

from closeloop.core.schedule import run_scheduler


class Command(BaseCommand):
    help = "Run background jobs (imports, notifications) and the periodic sweeps."

    def add_arguments(self, parser):
        parser.add_argument("--no-scheduler", action="store_true", help="Only run queued tasks.")

    def handle(self, *args, no_scheduler, **options):
        stop = threading.Event()
        if not no_scheduler:
            threading.Thread(target=run_scheduler, args=(stop,), daemon=True, name="scheduler").start()
        try:
            call_command("db_worker", queue_name="*", interval=0.5, reload=False)
        finally:
            stop.set()
