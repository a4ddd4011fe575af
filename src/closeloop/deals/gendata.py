"""The deals app's part of `closeloop gen-data`: customers with contacts, opportunities over the default
pipeline, and follow-up activities on leads, customers and deals; bulk-written with core's BulkWriter."""

import random
from array import array
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from closeloop.core.gendata import BulkWriter, write_returning_ids
from closeloop.core.hooks import GenDataContext
from closeloop.leads import gendata as lead_data
from closeloop.leads import normalize

ACTIVITY_TEXTS = [
    ("电话沟通，客户对价格比较敏感", "希望再便宜一些", "发送详细报价"),
    ("上门拜访，见到了采购经理", "对功能满意，需内部评审", "下周跟进评审结果"),
    ("微信发送了产品资料", "已阅读，有兴趣", "约演示时间"),
    ("线上演示30分钟", "关心数据安全和私有部署", "提供部署方案"),
    ("邮件发送合同草稿", "法务在审", "三天后电话确认"),
]
PRODUCTS = ["CRM系统", "ERP实施", "数据中台", "企业微信集成", "年度维保", "定制开发"]


def generate(ctx: GenDataContext) -> None:
    options = ctx.options
    customers = customers_generate(ctx, options.customers, options.seed)
    opportunities_generate(ctx, options.opportunities, options.seed, customers)
    activities_generate(ctx, options.activities, options.seed)
    handoffs_generate(ctx, options.handoffs, options.seed)


def customers_generate(ctx: GenDataContext, total: int, seed: int) -> list[tuple]:
    """Customers (one or two contacts each), keyed by the same normalizer as leads."""
    if not total:
        return []
    from .models import Contact, Customer

    rng = random.Random(seed + 2)
    end = datetime.now(UTC)
    writer, contacts = BulkWriter(Customer), BulkWriter(Contact)
    written = 0
    while written < total:
        batch, people = [], []
        for _ in range(min(50_000, total - written)):
            data = lead_data._original(rng)
            created = end - timedelta(seconds=rng.randrange(730 * 86400))
            code = lead_data.credit_code(rng) if rng.random() < 0.4 else ""
            batch.append({
                "name": data["company_name"], "credit_code": code, "industry": data["industry"],
                "region": data["region"], "city": data["city"], "company_size": data["company_size"],
                "owner_id": rng.choice(ctx.owners) if rng.random() < 0.9 else None, "created_at": created,
                "updated_at": created, "company_key": normalize.company_key(data["company_name"]),
            })
            for n in range(rng.choice([1, 1, 2])):
                mobile = f"{rng.choice(lead_data.MOBILES)}{rng.randrange(10**8):08d}"
                email = data.get("email", "") if n == 0 else ""
                people.append({
                    "name": data["contact_name"] if n == 0 else rng.choice(lead_data.SURNAMES) + rng.choice(lead_data.GIVEN),
                    "title": data["title"], "mobile": mobile, "email": email, "is_primary": n == 0,
                    "created_at": created, "updated_at": created, "mobile_key": normalize.phone_key(mobile),
                    "email_key": normalize.email_key(email), "_row": len(batch) - 1,
                })
        ids = write_returning_ids(writer, batch)
        written += len(batch)
        for person in people:
            person["customer_id"] = ids[person.pop("_row")]
        contacts.write(people)
        ctx.log(f"customers: {written:,} / {total:,} (with contacts)")
    return list(Customer._base_manager.order_by("pk").values_list("pk", "owner_id", "name"))


def opportunities_generate(ctx: GenDataContext, total: int, seed: int, customers: list[tuple]) -> None:
    if not total:
        return
    if not customers:
        ctx.log("opportunities: not generated — no customers (use --customers).")
        return
    from closeloop.leads.models import Lead, LeadStatus

    from .models import LostReason, Opportunity, Stage

    stages = list(Stage.objects.filter(pipeline__is_default=True).values_list(
        "pk", "pipeline_id", "probability", "is_won", "is_lost"))
    reasons = list(LostReason.objects.values_list("pk", flat=True))
    if not stages or not reasons:
        ctx.log("opportunities: not generated — no default pipeline or lost reasons.")
        return
    rng = random.Random(seed + 3)
    end = datetime.now(UTC)
    open_stages = [s for s in stages if not s[3] and not s[4]]
    # As in a live system, a converted lead has its deal, opened a few days after the lead came in; the deals
    # beyond them were opened on customers directly. (Deals without leads would teach SQLite's statistics that
    # `lead_id` says nothing, and the dashboard's joins from leads to deals would be planned for a database
    # nobody has.)
    converted = iter(Lead.objects.filter(status=LeadStatus.CONVERTED, opportunities=None).order_by("pk").values_list("pk", "created_at"))
    writer = BulkWriter(Opportunity)
    written = 0
    while written < total:
        batch = []
        for _ in range(min(50_000, total - written)):
            customer_id, owner_id, name = rng.choice(customers)
            lead_id, lead_created = next(converted, (None, None))
            created = (min(lead_created + timedelta(seconds=rng.randrange(10 * 86400)), end) if lead_id
                       else end - timedelta(seconds=rng.randrange(730 * 86400)))
            roll = rng.random()
            stage = rng.choice([s for s in stages if s[3]]) if roll < 0.2 else (
                rng.choice([s for s in stages if s[4]]) if roll < 0.45 else rng.choice(open_stages))
            status = "won" if stage[3] else "lost" if stage[4] else "open"
            closed = created + timedelta(days=rng.randrange(5, 120))
            batch.append({
                "customer_id": customer_id, "lead_id": lead_id, "name": f"{name} {rng.choice(PRODUCTS)}",
                "amount": Decimal(rng.randrange(10, 3000)) * 1000, "pipeline_id": stage[1], "stage_id": stage[0],
                "expected_close_date": (created + timedelta(days=rng.randrange(10, 180))).date(),
                "status": status, "probability": stage[2], "owner_id": owner_id or rng.choice(ctx.owners),
                "stage_entered_at": created + timedelta(days=rng.randrange(0, 5)), "created_at": created,
                "updated_at": closed if status != "open" else created, "next_step": rng.choice(ACTIVITY_TEXTS)[2],
                "won_at": closed if status == "won" else None, "lost_at": closed if status == "lost" else None,
                "lost_reason_id": rng.choice(reasons) if status == "lost" else None,
            })
        written += writer.write(batch)
        ctx.log(f"opportunities: {written:,} / {total:,}")


def activities_generate(ctx: GenDataContext, total: int, seed: int) -> None:
    if not total:
        return
    from django.contrib.contenttypes.models import ContentType

    from closeloop.followup.models import Activity
    from closeloop.leads.models import Lead

    from .models import Customer, Opportunity

    lead_type = ContentType.objects.get_for_model(Lead).pk
    targets = {
        lead_type: array("q", Lead.objects.filter(owner__isnull=False).values_list("pk", flat=True)),
        ContentType.objects.get_for_model(Customer).pk: array("q", Customer._base_manager.values_list("pk", flat=True)),
        ContentType.objects.get_for_model(Opportunity).pk: array(
            "q", Opportunity._base_manager.values_list("pk", flat=True)),
    }
    targets = {k: v for k, v in targets.items() if v}
    if not targets:
        ctx.log("activities: skipped (nothing to follow up).")
        return
    # Half on leads, the rest on customers and deals when they exist.
    weights = [2 if k == lead_type else 1 for k in targets]
    rng = random.Random(seed + 1)
    writer = BulkWriter(Activity)
    kinds = ["call", "call", "call", "wechat", "wechat", "visit", "email", "meeting", "note"]
    end = datetime.now(UTC)
    written = 0
    batch = []
    for _ in range(total):
        content, feedback, plan = rng.choice(ACTIVITY_TEXTS)
        at = end - timedelta(seconds=rng.randrange(730 * 86400))
        record_type = rng.choices(list(targets), weights)[0]
        batch.append({
            "record_type_id": record_type, "record_id": rng.choice(targets[record_type]), "kind": rng.choice(kinds),
            "content": content, "feedback": feedback, "next_plan": plan,
            "next_follow_up_at": at + timedelta(days=rng.randrange(1, 14)),
            "actor_id": rng.choice(ctx.owners), "channel": "web", "payload": {}, "created_at": at,
        })
        if len(batch) == 50_000:
            written += writer.write(batch)
            batch = []
            ctx.log(f"activities: {written:,} / {total:,}")
    written += writer.write(batch)
    ctx.log(f"activities: {written:,} written.")


HANDOFF_TASKS = ["技术方案交流", "产品演示", "需求调研", "报价技术评审", "部署环境评估", "POC测试"]


def handoffs_generate(ctx: GenDataContext, total: int, seed: int) -> int:
    """Hand-offs (交接) from reps to pre-sales on deals (four in five) and leads, over the two years: most accepted
    within hours (some after days), some done, declined or still waiting (the recent ones more often), so the
    dashboard's hand-off times have figures at volume. Deterministic by seed; bulk-written."""
    if not total:
        return 0
    from django.contrib.contenttypes.models import ContentType

    from closeloop.core.models import Role, User
    from closeloop.followup.models import Handoff, HandoffStatus, ParticipantRole
    from closeloop.leads.models import Lead

    from .models import Opportunity

    assignees = list(User.objects.filter(role=Role.PRESALES, is_active=True).order_by("pk").values_list("pk", flat=True))
    records = {
        ContentType.objects.get_for_model(Opportunity).pk: list(
            Opportunity._base_manager.order_by("pk").values_list("pk", "owner_id", "created_at")),
        ContentType.objects.get_for_model(Lead).pk: list(
            Lead.objects.filter(owner__isnull=False).order_by("-pk").values_list("pk", "owner_id", "created_at")[:200_000]),
    }
    records = {kind: rows for kind, rows in records.items() if rows}
    if not assignees or not records:
        ctx.log("hand-offs: not generated — no pre-sales people or no deals and leads.")
        return 0
    rng = random.Random(seed + 13)
    kinds, weights = list(records), [4 if n == 0 else 1 for n in range(len(records))]
    end = datetime.now(UTC)
    writer = BulkWriter(Handoff)
    written, batch = 0, []
    for _ in range(total):
        kind = rng.choices(kinds, weights)[0]
        record_id, owner_id, opened = rng.choice(records[kind])
        created = min(opened + timedelta(hours=rng.expovariate(1 / 72)), end - timedelta(minutes=rng.randrange(1, 600)))
        age = end - created
        roll = rng.random()
        # Waiting: most of the last two days' hand-offs, a few older ones nobody answered.
        waiting = roll < (0.5 if age < timedelta(days=2) else 0.04)
        status = (HandoffStatus.PENDING if waiting else HandoffStatus.DECLINED if roll > 0.92
                  else HandoffStatus.DONE if roll > 0.7 else HandoffStatus.ACCEPTED)
        # Answered within a few hours as a rule (median ~3 h), a long tail of days.
        answer = timedelta(hours=rng.lognormvariate(1.1, 1.3))
        batch.append({
            "record_type_id": kind, "record_id": record_id, "title": rng.choice(HANDOFF_TASKS),
            "role": ParticipantRole.PRESALES, "requested_by_id": owner_id, "assignee_id": rng.choice(assignees),
            "due_at": created + timedelta(hours=24), "status": status, "created_at": created,
            "responded_at": None if waiting else min(created + answer, end),
        })
        if len(batch) == 50_000:
            written += writer.write(batch)
            batch = []
            ctx.log(f"hand-offs: {written:,} / {total:,}")
    written += writer.write(batch)
    ctx.log(f"hand-offs: {written:,} written.")
    return written
