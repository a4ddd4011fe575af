"""`closeloop gen-data`: fill the database with realistic Chinese CRM data at benchmark scale."""

import multiprocessing
import random
import time
from array import array
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, models

from closeloop.core import gendata
from closeloop.core.models import Role, User

ACTIVITY_TEXTS = [
    ("电话沟通，客户对价格比较敏感", "希望再便宜一些", "发送详细报价"),
    ("上门拜访，见到了采购经理", "对功能满意，需内部评审", "下周跟进评审结果"),
    ("微信发送了产品资料", "已阅读，有兴趣", "约演示时间"),
    ("线上演示30分钟", "关心数据安全和私有部署", "提供部署方案"),
    ("邮件发送合同草稿", "法务在审", "三天后电话确认"),
]


class Command(BaseCommand):
    help = "Fill the database with realistic data at scale (bulk inserts; e.g. --leads 1000000)."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=10_000)
        parser.add_argument("--customers", type=int, default=0)
        parser.add_argument("--opportunities", type=int, default=0)
        parser.add_argument("--activities", type=int, default=0)
        parser.add_argument("--seed", type=int, default=20261122)
        parser.add_argument("--duplicates", type=float, default=0.08,
                            help="Fraction of leads that repeat an earlier company/person, written differently.")
        parser.add_argument("--reps", type=int, default=40, help="Sales reps to spread leads over (created if missing).")
        parser.add_argument("--chunk", type=int, default=20_000)
        parser.add_argument("--processes", type=int, default=2)

    def handle(self, *args, leads, customers, opportunities, activities, seed, duplicates, reps, chunk, processes,
               **options):
        if not 0 <= duplicates < 1:
            raise CommandError("--duplicates is a fraction between 0 and 1.")
        started = time.monotonic()
        owners = self._org(reps)
        # Not inside a transaction (SQLite refuses to change it there, as in a test case).
        sqlite = connection.vendor == "sqlite" and not connection.in_atomic_block
        if sqlite:
            # A benchmark load, not user data: losing it to a power cut costs a re-run, so skip fsyncs.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=OFF")
        try:
            if leads:
                self._leads(leads, seed, duplicates, owners, chunk, processes)
            self._activities(activities, seed, owners)
            for label, count in (("Customer", customers), ("Opportunity", opportunities)):
                self._generic("deals", label, count, seed)
        finally:
            if sqlite:
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA synchronous=NORMAL")
        self._analyze()
        self.stdout.write(self.style.SUCCESS(f"gen-data finished in {time.monotonic() - started:.1f} s."))

    def _org(self, reps: int) -> list[int]:
        """The demo company (created when missing) plus enough reps to spread a million leads."""
        if not User.objects.filter(username="admin").exists():
            call_command("demo", leads=0, stdout=self.stdout)
        from closeloop.core.services import user_save

        admin = User.objects.get(username="admin")
        managers = list(User.objects.filter(role=Role.SALES_MANAGER, manager__isnull=False).order_by("username"))
        existing = User.objects.filter(role=Role.SALES_REP).count()
        if managers and existing < reps:
            rng = random.Random(7)
            created = []
            for n in range(existing + 1, reps + 1):
                manager = managers[n % len(managers)]
                name = gendata.SURNAMES[n % len(gendata.SURNAMES)] + rng.choice(gendata.GIVEN)
                created.append(user_save(actor=admin, data={
                    "username": f"rep{n}", "display_name": name, "role": Role.SALES_REP,
                    "department": manager.department, "manager": manager, "email": f"rep{n}@example.com",
                    "is_active": True,
                }).pk)
            # The demo password's hash, copied rather than recomputed: PBKDF2 costs ~0.5 s per user.
            demo_hash = User.objects.get(username="rep1").password
            User.objects.filter(pk__in=created).update(password=demo_hash)
        return list(User.objects.filter(role__in=[Role.SALES_REP, Role.SALES_MANAGER]).values_list("pk", flat=True))

    def _leads(self, total, seed, duplicates, owners, chunk, processes):
        from closeloop.leads.models import Campaign, Lead, LeadSource

        sources = list(LeadSource.objects.values_list("pk", flat=True))
        if not sources:
            raise CommandError("No lead sources: run `closeloop demo` first.")
        campaign_sources = list(Campaign.objects.values_list("pk", "source_id"))
        end = datetime.now(UTC)
        plan = gendata.Plan(total=total, chunk=chunk, seed=seed, duplicate_rate=duplicates,
                            start=end - timedelta(days=730), end=end)
        chunks = [(plan, i, sources, owners, campaign_sources) for i in range(-(-total // chunk))]
        writer = gendata.BulkWriter(Lead)
        written = 0
        started = time.monotonic()
        if processes > 1:
            # Rows are built in worker processes (the normalizer dominates); this process only writes.
            connections.close_all()
            pool = multiprocessing.get_context("fork").Pool(processes)
            batches = pool.imap(gendata.lead_chunk, chunks)
        else:
            pool, batches = None, map(gendata.lead_chunk, chunks)
        try:
            for rows in batches:
                written += writer.write(rows)
                if written % (chunk * 10) < chunk or written == total:
                    rate = written / max(time.monotonic() - started, 1e-9)
                    self.stdout.write(f"leads: {written:,} / {total:,} ({rate:,.0f} rows/s)")
        finally:
            if pool is not None:
                pool.close()
                pool.join()

    def _activities(self, total, seed, owners):
        if not total:
            return
        from closeloop.deals.models import Activity
        from closeloop.leads.models import Lead

        lead_ids = array("q", Lead.objects.filter(owner__isnull=False).values_list("pk", flat=True).iterator(10_000))
        if not lead_ids:
            self.stdout.write("activities: skipped (no assigned leads to follow up).")
            return
        rng = random.Random(seed + 1)
        writer = gendata.BulkWriter(Activity)
        kinds = ["call", "call", "call", "wechat", "wechat", "visit", "email", "meeting", "note"]
        end = datetime.now(UTC)
        written = 0
        batch = []
        for _ in range(total):
            content, feedback, plan = rng.choice(ACTIVITY_TEXTS)
            at = end - timedelta(seconds=rng.randrange(730 * 86400))
            batch.append({
                "lead_id": rng.choice(lead_ids), "kind": rng.choice(kinds), "content": content, "feedback": feedback,
                "next_plan": plan, "next_follow_up_at": at + timedelta(days=rng.randrange(1, 14)),
                "actor_id": rng.choice(owners), "channel": "web", "payload": {}, "created_at": at,
            })
            if len(batch) == 50_000:
                written += writer.write(batch)
                batch = []
                self.stdout.write(f"activities: {written:,} / {total:,}")
        written += writer.write(batch)
        self.stdout.write(f"activities: {written:,} written.")

    def _generic(self, app_label, model_name, total, seed):
        """Models another part of the app owns (customers, opportunities): filled from their fields, if they exist."""
        if not total:
            return
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            self.stdout.write(f"{model_name.lower()}: not generated — {app_label}.{model_name} is not built yet.")
            return
        rng = random.Random(seed + len(model_name))
        makers = {}
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue
            maker = _maker(field, rng)
            if maker is _MISSING:
                self.stdout.write(f"{model_name.lower()}: not generated — no rows to point "
                                  f"{field.name} at ({field.related_model.__name__}).")
                return
            if maker is not None:
                makers[field.attname] = maker
        writer = gendata.BulkWriter(model)
        written = 0
        while written < total:
            size = min(50_000, total - written)
            written += writer.write([{name: make() for name, make in makers.items()} for _ in range(size)])
        self.stdout.write(f"{model_name.lower()}: {written:,} written.")

    def _analyze(self):
        # Fresh statistics, so the planner picks the indexes a live system would use.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


_MISSING = object()


def _maker(field, rng):
    """A value generator for one field, from its type and name; None when its default will do."""
    end = datetime.now(UTC)
    name = field.name
    if field.choices:
        values = [value for value, _label in field.flatchoices]
        return lambda: rng.choice(values)
    if isinstance(field, models.ForeignKey):
        ids = list(field.related_model._base_manager.values_list("pk", flat=True)[:200_000])
        if not ids:
            return None if field.null else _MISSING
        return lambda: rng.choice(ids)
    if isinstance(field, models.DateTimeField):
        return lambda: end - timedelta(seconds=rng.randrange(730 * 86400))
    if isinstance(field, models.DateField):
        return lambda: (end - timedelta(days=rng.randrange(730))).date()
    if isinstance(field, models.DecimalField):
        return lambda: Decimal(rng.randrange(5_000, 2_000_000))
    if isinstance(field, models.BooleanField):
        return lambda: rng.random() < 0.5
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return lambda: rng.randrange(0, 100)
    if isinstance(field, models.CharField | models.TextField):
        limit = field.max_length or 1000
        if field.unique:
            return lambda: f"{name}-{rng.getrandbits(48):x}"[:limit]
        if "company" in name or name == "name":
            return lambda: gendata._original(rng)["company_name"][:limit]
        if "mobile" in name or "phone" in name:
            return lambda: f"+86{rng.choice(gendata.MOBILES)}{rng.randrange(10**8):08d}"[:limit]
        if "email" in name:
            return lambda: f"{rng.choice(gendata.PINYIN)}{rng.randrange(10**5)}@{rng.choice(gendata.MAIL_DOMAINS)}"[:limit]
        if "city" in name:
            return lambda: rng.choice(gendata.ALL_CITIES)[1]
        if "region" in name or "province" in name:
            return lambda: rng.choice(gendata.ALL_CITIES)[0]
        if "industry" in name:
            return lambda: rng.choice(gendata.INDUSTRIES)
        if "contact" in name:
            return lambda: rng.choice(gendata.SURNAMES) + rng.choice(gendata.GIVEN)
        return None if field.blank else (lambda: rng.choice(gendata.NEEDS)[:limit])
    return None
