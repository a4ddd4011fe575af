"""The service app's part of `closeloop gen-data`: an after-sales team, deliveries with milestones on part of the
signed contracts, and tickets spread over the customers with their SLA clocks, replies and satisfaction surveys.

Bulk-written with core's BulkWriter. The rows are what the services would have left behind: a ticket's clocks are
its policy's targets counted on the working calendar from when it was raised (sla.py); a clock that ran out was
escalated by the sweep a few minutes later (`*_breached_at`), except those that fell due in the last minutes, which
the next sweep picks up; waiting and resolved tickets have their resolution clock paused (`paused_since`, no due
time); every resolved ticket and accepted delivery has its survey, about half of them answered; the first reply
stops the first-response clock. About a fifth of the tickets are open, most of them raised in the last weeks.
"""

import random
import secrets
from bisect import bisect
from datetime import UTC, datetime, time, timedelta
from itertools import accumulate

from closeloop.core.gendata import BulkWriter, write_returning_ids
from closeloop.core.hooks import GenDataContext

BATCH = 20_000
# Status, weight (in %): about a fifth open.
STATUSES = [("new", 4), ("in_progress", 10), ("waiting", 6), ("resolved", 15), ("closed", 65)]
PRIORITIES = [("P1", 5), ("P2", 20), ("P3", 50), ("P4", 25)]
CATEGORIES = [("fault", 45), ("question", 30), ("request", 12), ("complaint", 5), ("other", 8)]
TITLES = {
    "fault": ["系统登录后报500错误", "报表导出的金额格式不对", "打印模板页眉错位", "数据同步失败", "手机端页面打不开"],
    "question": ["如何批量导入客户", "怎样设置审批流程", "权限如何分配给新员工", "发票信息在哪里修改"],
    "request": ["想增加一个审批字段", "希望报表支持按月汇总", "增加企业微信通知"],
    "complaint": ["响应太慢，问题一周没解决", "上门服务迟到"],
    "other": ["咨询续费价格", "申请培训名额"],
}
REPLIES = ["您好，已收到，正在处理。", "问题已定位，今天内修复。", "请提供一下截图和操作步骤。", "已远程协助处理完毕，请确认。"]
COMMENTS = ["响应及时，问题解决了", "工程师很专业", "处理有点慢", "希望以后能更快一些", ""]
MILESTONES = ["需求调研", "系统部署", "培训与上线", "验收"]
SWEEP_LAG = timedelta(minutes=3)  # a clock that ran out was escalated by the next five-minute sweep


def _weighted(rng: random.Random, table):
    values = [v for v, _w in table]
    edges = list(accumulate(w for _v, w in table))

    def pick():
        return values[bisect(edges, rng.random() * edges[-1])]

    return pick


def generate(ctx: GenDataContext) -> None:
    options = ctx.options
    if not (options.deliveries or options.tickets):
        return
    staff = service_team(ctx, options.service_staff)
    if options.deliveries:
        deliveries_generate(ctx, options.deliveries, staff)
    if options.tickets:
        tickets_generate(ctx, options.tickets, staff)


def service_team(ctx: GenDataContext, size: int) -> list[int]:
    """The after-sales team's ids, topped up to `size` people in the demo's service department."""
    from closeloop.core.models import Department, Role, User
    from closeloop.core.services import user_save

    have = User.objects.filter(role=Role.SERVICE, is_active=True).count()
    if have < size:
        admin = User.objects.get(username="admin")
        department = (User.objects.filter(role=Role.SERVICE).exclude(department=None).values_list("department", flat=True)
                      .first())
        department = Department.objects.filter(pk=department).first() if department else None
        created = [user_save(actor=admin, data={
            "username": f"service{n}", "display_name": f"售后{n}号", "role": Role.SERVICE, "department": department,
            "email": f"service{n}@example.com", "is_active": True}).pk
            for n in range(have + 1, size + 1) if not User.objects.filter(username=f"service{n}").exists()]
        # The demo password's hash, copied rather than recomputed (PBKDF2 costs ~0.5 s per user).
        demo = User.objects.filter(username="rep1").values_list("password", flat=True).first()
        if demo and created:
            User.objects.filter(pk__in=created).update(password=demo)
    return list(User.objects.filter(role=Role.SERVICE, is_active=True).order_by("pk").values_list("pk", flat=True))


def deliveries_generate(ctx: GenDataContext, total: int, staff: list[int]) -> None:
    """Deliveries of signed, active and completed contracts that have none: completed ones accepted (most through
    the customer's link), the others in progress with milestones done, due and overdue."""
    from django.db.models import OuterRef, Subquery

    from closeloop.contracts.models import Contract

    from .models import Delivery, Milestone, Survey

    contracts = list(Contract._base_manager.filter(status__in=("signed", "active", "completed"), delivery__isnull=True)
                     .order_by("pk").values_list("pk", "customer_id", "owner_id", "sign_date", "status", "title")[:total])
    if not contracts:
        ctx.log("deliveries: not generated — no signed contracts without a delivery (use --contracts).")
        return
    rng = random.Random(ctx.options.seed + 11)
    now = datetime.now(UTC)
    today = now.date()
    writer, milestones, surveys = BulkWriter(Delivery), BulkWriter(Milestone), BulkWriter(Survey)
    emails = _primary_emails([c[1] for c in contracts])
    from closeloop.deals.models import Customer

    account_owners = dict(Customer._base_manager.filter(pk__in={c[1] for c in contracts}).values_list("pk", "owner_id"))
    for start in range(0, len(contracts), BATCH):
        batch, plans, asks = [], [], []
        for contract_id, customer_id, owner_id, signed, status, title in contracts[start:start + BATCH]:
            signed = signed or today - timedelta(days=rng.randrange(10, 300))
            created = datetime.combine(signed + timedelta(days=rng.randrange(0, 5)), time(2), UTC)
            runner = rng.choice(staff) if staff else owner_id
            accepted = status == "completed" or (status == "active" and rng.random() < 0.3)
            steps, planned = [], signed
            for position, name in enumerate(MILESTONES[:rng.choice([2, 3, 3, 4])]):
                planned += timedelta(days=rng.randrange(7, 45))
                done = accepted or (planned < today and rng.random() < 0.75)
                steps.append({"name": name, "position": position, "planned_date": planned,
                              "done_date": min(planned + timedelta(days=rng.randrange(-3, 6)), today) if done else None,
                              "owner_id": rng.choice(staff) if staff and rng.random() < 0.3 else runner})
            accepted_at = None
            if accepted:
                last = max(step["done_date"] for step in steps)
                accepted_at = min(datetime.combine(last, time(3), UTC) + timedelta(days=rng.randrange(0, 7)), now)
            via = ("link" if rng.random() < 0.8 else "form") if accepted else ""
            batch.append({
                "contract_id": contract_id, "customer_id": customer_id, "title": f"{title}交付"[:200],
                "owner_id": runner, "status": "accepted" if accepted else "in_progress",
                "public_key": secrets.token_urlsafe(24), "accepted_at": accepted_at, "accepted_via": via,
                "acceptor_name": "客户项目负责人" if via == "link" else "", "recorded_by_id": runner if via == "form" else None,
                "created_by_id": owner_id, "created_at": created, "updated_at": accepted_at or created,
            })
            plans.append(steps)
            asks.append((accepted_at, customer_id, account_owners.get(customer_id)))
        ids = write_returning_ids(writer, batch)
        milestones.write({**step, "delivery_id": delivery_id} for delivery_id, steps in zip(ids, plans, strict=True)
                         for step in steps)
        surveys.write(_survey(rng, now, sent, customer_id, owner, emails.get(customer_id, ""), delivery_id=delivery_id)
                      for delivery_id, (sent, customer_id, owner) in zip(ids, asks, strict=True) if sent)
        ctx.log(f"deliveries: {start + len(batch):,} / {len(contracts):,} (with milestones and surveys)")
    # The acceptance tells the contract (contracts.services.contract_delivery_accept) when it was delivered.
    accepted = Delivery._base_manager.filter(contract=OuterRef("pk"), accepted_at__isnull=False).values("accepted_at")
    Contract._base_manager.filter(delivered_at__isnull=True, delivery__accepted_at__isnull=False).update(
        delivered_at=Subquery(accepted[:1]))


def _primary_emails(customer_ids) -> dict[int, str]:
    from closeloop.deals.models import Contact

    wanted = set(customer_ids)
    return {customer: email for customer, email in Contact._base_manager.filter(is_primary=True)
            .values_list("customer_id", "email") if customer in wanted and email}


def _survey(rng, now, sent, customer_id, owner_id, email, **subject) -> dict:
    """A survey sent when its ticket was resolved or its delivery accepted; about half answered within days."""
    expires = sent + timedelta(days=14)
    row = {"key": secrets.token_urlsafe(24), "customer_id": customer_id, "owner_id": owner_id, "email": email,
           "sent_at": sent, "expires_at": expires, **subject}
    answered = sent + timedelta(hours=rng.randrange(1, 24 * 10))
    if answered < now and rng.random() < 0.5:
        csat = rng.choices([1, 2, 3, 4, 5], [3, 5, 12, 35, 45])[0]
        nps = min(10, max(0, csat * 2 + rng.randrange(-2, 2)))
        row.update(answered_at=answered, csat=csat, nps=nps, comment=rng.choice(COMMENTS))
    return row


def tickets_generate(ctx: GenDataContext, total: int, staff: list[int]) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Max

    from closeloop.contracts.models import Contract
    from closeloop.deals.models import Contact, Customer
    from closeloop.followup.models import Activity
    from closeloop.quotes.models import Product

    from .models import ServiceLevel, SlaPolicy, Survey, Ticket
    from .sla import working_calendar

    customers = list(Customer._base_manager.order_by("pk").values_list("pk", "owner_id"))
    if not customers:
        ctx.log("tickets: not generated — no customers (use --customers).")
        return
    contacts = {c: (pk, email) for pk, c, email in Contact._base_manager.filter(is_primary=True)
                .values_list("pk", "customer_id", "email")}
    contracts = dict(Contract._base_manager.filter(status__in=("signed", "active", "completed"))
                     .values_list("customer_id", "pk"))
    products = list(Product.objects.values_list("pk", flat=True))
    policies = {p.priority: p for p in SlaPolicy.objects.filter(tier="")}
    calendars = {False: working_calendar(), True: working_calendar(always=True)}
    rng = random.Random(ctx.options.seed + 13)
    pick_status, pick_priority, pick_category = (_weighted(rng, STATUSES), _weighted(rng, PRIORITIES),
                                                  _weighted(rng, CATEGORIES))
    now = datetime.now(UTC)
    # A few customers pay for a better tier (their own policies, where an administrator sets some).
    tiered = set(ServiceLevel.objects.values_list("customer_id", flat=True))
    BulkWriter(ServiceLevel).write({"customer_id": pk, "tier": rng.choice(["vip", "vip", "strategic"])}
                                   for pk, _owner in rng.sample(customers, len(customers) // 50) if pk not in tiered)
    ticket_type = ContentType.objects.get_for_model(Ticket).pk
    writer, replies, surveys = BulkWriter(Ticket), BulkWriter(Activity), BulkWriter(Survey)
    next_id = (Ticket._base_manager.aggregate(n=Max("pk"))["n"] or 0) + 1
    written = 0
    while written < total:
        batch, extras = [], []
        for _ in range(min(BATCH, total - written)):
            customer_id, account_owner = rng.choice(customers)
            status, priority, category = pick_status(), pick_priority(), pick_category()
            is_open = status in ("new", "in_progress", "waiting")
            # Open tickets are recent (a new one hours or days old); closed ones spread over two years.
            age = (timedelta(minutes=rng.randrange(5, 60 * 24 * 4)) if status == "new"
                   else timedelta(minutes=rng.randrange(30, 60 * 24 * 45)) if is_open
                   else timedelta(minutes=rng.randrange(60 * 24 * 3, 60 * 24 * 730)))
            created = now - age
            ticket, reply_times, survey = _ticket(rng, now, created, status, priority, policies, calendars, staff)
            contact = contacts.get(customer_id)
            channel = rng.choice(["web", "web", "api", "form"])
            product = rng.choice(products) if products and rng.random() < 0.6 else None
            ticket.update({
                "number": f"GD-{created.year}-{next_id + written + len(batch):05d}",
                "title": rng.choice(TITLES[category]), "description": "客户电话反馈，详见附件与回复。",
                "customer_id": customer_id, "contact_id": contact[0] if contact else None,
                "contract_id": contracts.get(customer_id) if rng.random() < 0.7 else None, "product_id": product,
                "category": category, "priority": priority, "status": status,
                # The public form's tickets were raised by nobody; the others by the account's rep.
                "created_by_id": None if channel == "form" else account_owner, "channel": channel,
                "created_at": created, "updated_at": max([created, *reply_times, ticket.get("closed_at") or created]),
                "last_activity_at": reply_times[-1] if reply_times else None,
                "requester_email": contact[1] if contact else "",
            })
            batch.append(ticket)
            extras.append((reply_times, survey, customer_id, account_owner, product,
                           contact[1] if contact else ""))
        ids = write_returning_ids(writer, batch)
        replies.write({"record_type_id": ticket_type, "record_id": ticket_id, "kind": "email", "actor_id": row["owner_id"],
                       "content": REPLIES[n % len(REPLIES)], "channel": "web", "payload": {}, "created_at": at}
                      for ticket_id, row, (times, *_rest) in zip(ids, batch, extras, strict=True)
                      for n, at in enumerate(times))
        surveys.write(_survey(rng, now, sent, customer_id, owner, email, ticket_id=ticket_id, product_id=product)
                      for ticket_id, (_times, sent, customer_id, owner, product, email) in zip(ids, extras, strict=True)
                      if sent)
        written += len(batch)
        ctx.log(f"tickets: {written:,} / {total:,} (with replies and surveys)")
    # New tickets are search candidates until indexed (ticket_search.py): index them now, as the worker would.
    from .ticket_search import sync_sqlite_index

    if indexed := sync_sqlite_index():
        ctx.log(f"tickets: {indexed:,} indexed for search")


def _ticket(rng, now, created, status, priority, policies, calendars, staff):
    """The SLA columns of a ticket raised at `created`, now in `status`, as the services and the sweep leave them;
    with the times of its replies and when its survey was sent (None: no survey)."""
    policy = policies.get(priority)
    owner = rng.choice(staff) if staff and not (status == "new" and rng.random() < 0.1) else None
    row = {"owner_id": owner, "sla_policy_id": policy.pk if policy else None}
    if policy is None:
        return row, [], None
    calendar = calendars[policy.always]
    response_due = calendar.add(created, policy.first_response_minutes)
    row.update(first_response_target=policy.first_response_minutes, resolution_target=policy.resolution_minutes,
               sla_always=policy.always, first_response_due_at=response_due)
    replies = []
    if status == "new":
        if response_due <= now - SWEEP_LAG:
            row["first_response_breached_at"] = response_due + SWEEP_LAG
    else:
        # Most answer within the target; one in eight later (and that clock was escalated).
        late = rng.random() < 0.125
        answered = (response_due + timedelta(minutes=rng.randrange(10, 600)) if late
                    else created + (response_due - created) * rng.uniform(0.05, 0.95))
        answered = min(answered, now - timedelta(minutes=1))
        row["first_responded_at"] = answered
        if answered > response_due + SWEEP_LAG:
            row["first_response_breached_at"] = response_due + SWEEP_LAG
        replies.append(answered)
    paused = 0.0
    if status != "new" and rng.random() < 0.25:
        paused = float(rng.randrange(30, 600))  # an earlier wait on the customer
    row["paused_minutes"] = paused
    resolution_due = calendar.add(created, policy.resolution_minutes + paused)
    if status in ("new", "in_progress"):
        row["resolution_due_at"] = resolution_due
        if resolution_due <= now - SWEEP_LAG:
            row["resolution_breached_at"] = resolution_due + SWEEP_LAG
        return row, replies, None
    start = replies[-1]
    if status == "waiting":
        row["paused_since"] = min(start + timedelta(minutes=rng.randrange(5, 240)), now)
        replies.append(row["paused_since"])
        return row, replies, None
    # Resolved (and maybe closed): most in time, a sixth after the due time (the sweep escalated those).
    resolved = (resolution_due + timedelta(minutes=rng.randrange(30, 3000)) if rng.random() < 0.16
                else start + (max(resolution_due, start) - start) * rng.uniform(0.1, 1.0))
    resolved = min(resolved, now - timedelta(minutes=1))
    if resolved > resolution_due + SWEEP_LAG:
        row["resolution_breached_at"] = resolution_due + SWEEP_LAG
    row.update(resolved_at=resolved, paused_since=resolved)
    if rng.random() < 0.5:
        replies.append(resolved)
    if status == "closed":
        row["closed_at"] = min(resolved + timedelta(days=rng.randrange(1, 8)), now)
    return row, replies, resolved
