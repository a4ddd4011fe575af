"""`closeloop gen-data`: fill the database with realistic Chinese CRM data at benchmark scale.

Assembled from the apps: core makes sure the demo company and enough sales reps exist, then each app's
`gen_data` hook bulk-writes its records (leads: leads; deals: customers, deals, follow-ups ...), with the
options each app adds in `gen_data_arguments`.
"""

import argparse
import random
import time

from django.core.management.base import BaseCommand
from django.db import connection

from closeloop.core.hooks import GenDataContext, loop_apps


class Command(BaseCommand):
    help = "Fill the database with realistic data at scale (bulk inserts; e.g. --leads 1000000)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=20261122)
        parser.add_argument("--reps", type=int, default=40, help="Sales reps to spread records over (created if missing).")
        parser.add_argument("--chunk", type=int, default=20_000)
        parser.add_argument("--processes", type=int, default=2)
        for config in loop_apps():
            config.gen_data_arguments(parser)

    def handle(self, *args, **options):
        started = time.monotonic()
        ctx = GenDataContext(options=argparse.Namespace(**options), rng=random.Random(options["seed"]),
                             log=self.stdout.write)
        # Not inside a transaction (SQLite refuses to change it there, as in a test case).
        sqlite = connection.vendor == "sqlite" and not connection.in_atomic_block
        if sqlite:
            # A benchmark load, not user data: losing it to a power cut costs a re-run, so skip fsyncs.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=OFF")
        try:
            for config in loop_apps():
                config.gen_data(ctx)
        finally:
            if sqlite:
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA synchronous=NORMAL")
        # Fresh statistics, so the planner picks the indexes a live system would use.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(self.style.SUCCESS(f"gen-data finished in {time.monotonic() - started:.1f} s."))
