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
from django.db import connection, connections

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
            customer_rows = self._customers(customers, seed, owners)
            self._opportunities(opportunities, seed, owners, customer_rows)
            self._activities(activities, seed, owners)
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

    def _customers(self, total, seed, owners):
        """Customers (one or two contacts each), keyed by the same normalizer as leads."""
        if not total:
            return []
        model = _model("deals", "Customer")
        contact_model = _model("deals", "Contact")
        if model is None:
            self.stdout.write("customers: not generated — deals.Customer is not built yet.")
            return []
        from closeloop.leads import normalize

        rng = random.Random(seed + 2)
        end = datetime.now(UTC)
        writer = gendata.BulkWriter(model)
        contacts = gendata.BulkWriter(contact_model) if contact_model else None
        written = 0
        while written < total:
            batch, people = [], []
            for _ in range(min(50_000, total - written)):
                data = gendata._original(rng)
                created = end - timedelta(seconds=rng.randrange(730 * 86400))
                code = gendata.credit_code(rng) if rng.random() < 0.4 else ""
                batch.append({
                    "name": data["company_name"], "credit_code": code, "industry": data["industry"],
                    "region": data["region"], "city": data["city"], "company_size": data["company_size"],
                    "owner_id": rng.choice(owners) if rng.random() < 0.9 else None, "created_at": created,
                    "updated_at": created, "company_key": normalize.company_key(data["company_name"]),
                })
                for n in range(rng.choice([1, 1, 2])):
                    mobile = f"{rng.choice(gendata.MOBILES)}{rng.randrange(10**8):08d}"
                    email = data.get("email", "") if n == 0 else ""
                    people.append({
                        "name": data["contact_name"] if n == 0 else rng.choice(gendata.SURNAMES) + rng.choice(gendata.GIVEN),
                        "title": data["title"], "mobile": mobile, "email": email, "is_primary": n == 0,
                        "created_at": created, "mobile_key": normalize.phone_key(mobile),
                        "email_key": normalize.email_key(email), "_row": len(batch) - 1,
                    })
            ids = self._write_returning_ids(writer, model, batch)
            written += len(batch)
            if contacts:
                for person in people:
                    person["customer_id"] = ids[person.pop("_row")]
                contacts.write(people)
            self.stdout.write(f"customers: {written:,} / {total:,} (with contacts)")
        return list(model._base_manager.order_by("pk").values_list("pk", "owner_id", "name"))

    def _write_returning_ids(self, writer, model, batch):
        # Bulk paths do not return ids; the new rows are the highest ones, in insertion order.
        writer.write(batch)
        ids = list(model._base_manager.order_by("-pk").values_list("pk", flat=True)[: len(batch)])
        ids.reverse()
        return ids

    def _opportunities(self, total, seed, owners, customers):
        if not total:
            return
        model = _model("deals", "Opportunity")
        if model is None:
            self.stdout.write("opportunities: not generated — deals.Opportunity is not built yet.")
            return
        if not customers:
            self.stdout.write("opportunities: not generated — no customers (use --customers).")
            return
        stage_model, reason_model = _model("deals", "Stage"), _model("deals", "LostReason")
        stages = list(stage_model.objects.filter(pipeline__is_default=True).values_list(
            "pk", "pipeline_id", "probability", "is_won", "is_lost"))
        reasons = list(reason_model.objects.values_list("pk", flat=True))
        if not stages or not reasons:
            self.stdout.write("opportunities: not generated — no default pipeline or lost reasons.")
            return
        rng = random.Random(seed + 3)
        end = datetime.now(UTC)
        open_stages = [s for s in stages if not s[3] and not s[4]]
        writer = gendata.BulkWriter(model)
        products = ["CRM系统", "ERP实施", "数据中台", "企业微信集成", "年度维保", "定制开发"]
        written = 0
        while written < total:
            batch = []
            for _ in range(min(50_000, total - written)):
                customer_id, owner_id, name = rng.choice(customers)
                created = end - timedelta(seconds=rng.randrange(730 * 86400))
                roll = rng.random()
                stage = rng.choice([s for s in stages if s[3]]) if roll < 0.2 else (
                    rng.choice([s for s in stages if s[4]]) if roll < 0.45 else rng.choice(open_stages))
                status = "won" if stage[3] else "lost" if stage[4] else "open"
                closed = created + timedelta(days=rng.randrange(5, 120))
                batch.append({
                    "customer_id": customer_id, "name": f"{name} {rng.choice(products)}",
                    "amount": Decimal(rng.randrange(10, 3000)) * 1000, "pipeline_id": stage[1], "stage_id": stage[0],
                    "expected_close_date": (created + timedelta(days=rng.randrange(10, 180))).date(),
                    "status": status, "probability": stage[2], "owner_id": owner_id or rng.choice(owners),
                    "stage_entered_at": created + timedelta(days=rng.randrange(0, 5)), "created_at": created,
                    "updated_at": closed if status != "open" else created, "next_step": rng.choice(ACTIVITY_TEXTS)[2],
                    "won_at": closed if status == "won" else None, "lost_at": closed if status == "lost" else None,
                    "lost_reason_id": rng.choice(reasons) if status == "lost" else None,
                })
            written += writer.write(batch)
            self.stdout.write(f"opportunities: {written:,} / {total:,}")

    def _activities(self, total, seed, owners):
        if not total:
            return
        from closeloop.deals.models import Activity
        from closeloop.leads.models import Lead

        targets = {"lead_id": array("q", Lead.objects.filter(owner__isnull=False).values_list("pk", flat=True))}
        for name, field in (("Customer", "customer_id"), ("Opportunity", "opportunity_id")):
            model = _model("deals", name)
            if model is not None and hasattr(Activity, field.removesuffix("_id")):
                targets[field] = array("q", model._base_manager.values_list("pk", flat=True))
        targets = {k: v for k, v in targets.items() if v}
        if not targets:
            self.stdout.write("activities: skipped (nothing to follow up).")
            return
        # Half on leads, the rest on customers and deals when they exist.
        weights = [2 if k == "lead_id" else 1 for k in targets]
        rng = random.Random(seed + 1)
        writer = gendata.BulkWriter(Activity)
        kinds = ["call", "call", "call", "wechat", "wechat", "visit", "email", "meeting", "note"]
        end = datetime.now(UTC)
        written = 0
        batch = []
        for _ in range(total):
            content, feedback, plan = rng.choice(ACTIVITY_TEXTS)
            at = end - timedelta(seconds=rng.randrange(730 * 86400))
            field = rng.choices(list(targets), weights)[0]
            batch.append({
                field: rng.choice(targets[field]), "kind": rng.choice(kinds), "content": content, "feedback": feedback,
                "next_plan": plan, "next_follow_up_at": at + timedelta(days=rng.randrange(1, 14)),
                "actor_id": rng.choice(owners), "channel": "web", "payload": {}, "created_at": at,
            })
            if len(batch) == 50_000:
                written += writer.write(batch)
                batch = []
                self.stdout.write(f"activities: {written:,} / {total:,}")
        written += writer.write(batch)
        self.stdout.write(f"activities: {written:,} written.")

    def _analyze(self):
        # Fresh statistics, so the planner picks the indexes a live system would use.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _model(app_label: str, name: str):
    """The model if that part of the app is built, else None (gen-data then says so and goes on)."""
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None
