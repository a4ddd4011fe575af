"""Load a realistic demo company, assembled from the apps: core makes the company and its people, each
app above it adds its part (leads: sources, rules and leads; deals: customers and deals ...)."""

import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from closeloop.core.demo import DEMO_PASSWORD
from closeloop.core.hooks import DemoContext, loop_apps
from closeloop.core.models import User
from closeloop.core.notify import in_app_only


class Command(BaseCommand):
    help = "Load demo data (a company with two sales teams, marketing, pre-sales, finance and service)."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when users already exist.")
        parser.add_argument("--seed", type=int, default=20261122)
        for config in loop_apps():
            config.demo_arguments(parser)

    def handle(self, *args, if_empty, seed, **options):
        if if_empty and User.objects.exists():
            self.stdout.write("Data already present; demo not loaded.")
            return
        ctx = DemoContext(rng=random.Random(seed), now=timezone.now(), options=options)
        # The demo's history stays in the app; nobody should get 300 emails from loading it.
        with transaction.atomic(), in_app_only():
            for config in loop_apps():
                config.demo(ctx)
            for step in ctx.finish:
                step()
        self.stdout.write(self.style.SUCCESS(
            f"Demo loaded: {', '.join(ctx.summary)}. Log in as admin / {DEMO_PASSWORD} "
            "(or manager1, rep1 … rep6, marketing1, presales1, finance1, service1 … service3)."
        ))
