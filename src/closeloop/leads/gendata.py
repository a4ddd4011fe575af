"""The leads app's part of `closeloop gen-data`: realistic Chinese leads at benchmark scale.

Rows are built in worker processes and written with core's BulkWriter. Every normalized key is computed
by the same intake normalization the app uses (`leads.services.intake.clean_submission`), so duplicate
checks on this data are real; a share of the leads repeat an earlier company or person, written differently.
"""

import multiprocessing
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.management.base import CommandError
from django.db import connections

from closeloop.core.gendata import BulkWriter
from closeloop.core.hooks import GenDataContext

from .demo import (
    CITIES,
    COMPANY_KINDS,
    COMPANY_WORDS,
    GIVEN,
    INDUSTRIES,
    MOBILE_PREFIXES,
    NEEDS,
    SURNAMES,
    TITLES,
)
from .normalize import phone_key

MORE_WORDS = ["安信", "百川", "长城", "创新", "大华", "德邦", "丰源", "国泰", "汉威", "浩宇", "弘毅", "华安", "汇通",
              "佳禾", "江南", "锦程", "凯达", "蓝海", "力拓", "立信", "联创", "隆基", "明德", "南洋", "鹏程", "启明",
              "荣昌", "润泽", "三友", "山河", "尚德", "四海", "泰和", "腾飞", "同创", "万达", "维康", "伟业", "西湖",
              "星辰", "旭日", "亚太", "一诺", "银河", "永信", "裕丰", "元亨", "正泰", "志远", "中科"]
WORDS = COMPANY_WORDS + MORE_WORDS
MORE_CITIES = [("天津", "天津"), ("重庆", "重庆"), ("山东", "青岛"), ("山东", "济南"), ("河南", "郑州"), ("湖南", "长沙"),
               ("陕西", "西安"), ("辽宁", "大连"), ("安徽", "合肥"), ("浙江", "宁波"), ("江苏", "无锡"), ("广东", "东莞"),
               ("广东", "佛山"), ("云南", "昆明"), ("福建", "福州")]
ALL_CITIES = CITIES + MORE_CITIES
AREA_CODES = {"上海": "021", "北京": "010", "深圳": "0755", "广州": "020", "杭州": "0571", "苏州": "0512", "成都": "028",
              "武汉": "027", "南京": "025", "厦门": "0592", "天津": "022", "重庆": "023", "青岛": "0532", "济南": "0531",
              "郑州": "0371", "长沙": "0731", "西安": "029", "大连": "0411", "合肥": "0551", "宁波": "0574",
              "无锡": "0510", "东莞": "0769", "佛山": "0757", "昆明": "0871", "福州": "0591"}
PINYIN = ["wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "zhou", "wu", "xu", "sun", "ma", "zhu", "hu",
          "guo", "he", "lin", "luo", "gao"]
MAIL_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "outlook.com", "aliyun.com"]
MORE_MOBILE = ["135", "137", "152", "155", "156", "157", "159", "166", "173", "176", "180", "181", "182", "183", "185",
               "189", "191", "198"]
MOBILES = MOBILE_PREFIXES + MORE_MOBILE
SIZES = ["1-20人", "20-99人", "100-499人", "500人以上"]
TIMELINES = ["", "1个月内", "3个月内", "半年内", "明年"]
# Weighted like a real funnel: most leads are worked or parked, few converted.
STATUS_WEIGHTS = [("new", 10), ("assigned", 14), ("contacting", 28), ("qualified", 10), ("converted", 6),
                  ("nurture", 14), ("disqualified", 15), ("merged", 3)]
CHANNEL_WEIGHTS = [("web", 30), ("form", 30), ("api", 15), ("import", 25)]
# A disqualified lead always has its reason (a check constraint): the categories the review counts.
DISQUALIFY_REASONS = ["unreachable", "no_need", "no_budget", "not_a_buyer", "spam"]

_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_W = (3, 7, 9, 10, 5, 8, 4, 2)
_FULL_WIDTH = str.maketrans("0123456789()-", "０１２３４５６７８９（）－")


def credit_code(rng: random.Random) -> str:
    """A unified social credit code whose both check characters are right (GB 32100 / GB 11714)."""
    org = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    org_total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(org, _ORG_W, strict=True))
    org_check = 11 - org_total % 11
    org += {10: "X", 11: "0"}.get(org_check, str(org_check))
    body = "91" + rng.choice(["310000", "110000", "440300", "330100", "320500", "510100"]) + org
    total = sum(_USCC.index(c) * w for c, w in zip(body, _USCC_W, strict=True))
    return body + _USCC[(31 - total % 31) % 31]


@dataclass
class Plan:
    total: int
    chunk: int
    seed: int
    duplicate_rate: float
    start: datetime
    end: datetime


def _original(rng: random.Random) -> dict:
    region, city = rng.choice(ALL_CITIES)
    words = rng.choice(WORDS) + (rng.choice(WORDS) if rng.random() < 0.7 else "")
    prefix = city if rng.random() < 0.8 else ""
    company = f"{prefix}{words}{rng.choice(COMPANY_KINDS)}有限公司"
    surname = rng.randrange(len(SURNAMES))
    row = {
        "company_name": company, "contact_name": SURNAMES[surname] + rng.choice(GIVEN), "title": rng.choice(TITLES),
        "mobile": f"{rng.choice(MOBILES)}{rng.randrange(10**8):08d}" if rng.random() < 0.92 else "",
        "region": region, "city": city, "industry": rng.choice(INDUSTRIES), "company_size": rng.choice(SIZES),
        "need": rng.choice(NEEDS), "timeline": rng.choice(TIMELINES),
        "budget": rng.choice(["", "", "50000", "120000", "300000", "800000", "1500000"]),
    }
    if rng.random() < 0.55:
        name = PINYIN[surname % len(PINYIN)] + str(rng.randrange(1, 99999))
        row["email"] = f"{name}@{rng.choice(MAIL_DOMAINS)}"
    if rng.random() < 0.2 and city in AREA_CODES:
        # Local numbers are 8 digits in big cities and 7 in some others; keep the first one that is valid.
        for digits in (8, 7):
            landline = f"{AREA_CODES[city]}-{rng.randrange(2, 9)}{rng.randrange(10 ** (digits - 1)):0{digits - 1}d}"
            if phone_key(landline):
                row["landline"] = landline
                break
    if rng.random() < 0.3:
        row["credit_code"] = credit_code(rng)
    if not row["mobile"] and "email" not in row:
        row["wechat"] = f"wx_{rng.randrange(10**9)}"
    return row


def _variant(rng: random.Random, base: dict) -> dict:
    """The same company or person written differently: how duplicates really arrive."""
    row = dict(base)
    mobile = row.get("mobile", "")
    if mobile:
        row["mobile"] = rng.choice([
            f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}", f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
            f"0086{mobile}", mobile.translate(_FULL_WIDTH), f"86{mobile}", mobile,
        ])
    company = row["company_name"]
    row["company_name"] = rng.choice([
        company.replace("有限公司", "有限责任公司"), company.replace("有限公司", ""), f" {company} ",
        company.replace("有限公司", "(有限公司)").translate(_FULL_WIDTH), company,
    ])
    if row.get("email") and rng.random() < 0.5:
        row["email"] = row["email"].upper()
    if rng.random() < 0.3:
        row["contact_name"] = row["contact_name"][0] + rng.choice(["总", "经理", "先生", "女士"])
    if rng.random() < 0.3:
        row["need"] = rng.choice(NEEDS)
    return row


def lead_chunk(args) -> list[dict]:
    """One chunk of leads (run in a worker process): submitted values plus the intake's normalized keys."""
    plan, index, sources, owners, campaign_sources = args
    from closeloop.core.errors import ValidationFailed
    from closeloop.leads.models import ChannelPolicy
    from closeloop.leads.services.intake import clean_submission

    rng = random.Random(plan.seed * 1_000_003 + index)
    policy = ChannelPolicy(channel="import", required_fields=[], require_contact_method=False)
    first = index * plan.chunk
    count = min(plan.chunk, plan.total - first)
    span = (plan.end - plan.start).total_seconds()
    statuses = [s for s, w in STATUS_WEIGHTS for _ in range(w)]
    channels = [c for c, w in CHANNEL_WEIGHTS for _ in range(w)]
    originals: list[dict] = []
    rows = []
    for n in range(count):
        if originals and rng.random() < plan.duplicate_rate:
            data = _variant(rng, rng.choice(originals[-2000:]))
        else:
            data = _original(rng)
            originals.append(data)
        try:
            row = clean_submission(data, channel="import", policy=policy)
        except ValidationFailed:
            # A rewrite the intake would refuse too; the original spelling always passes.
            data = _original(rng)
            row = clean_submission(data, channel="import", policy=policy)
        # Ids follow time, as they do in a live system; jitter within the chunk's slice of the two years.
        created = plan.start + timedelta(seconds=span * (first + n + rng.random()) / plan.total)
        status = rng.choice(statuses)
        owner = None if status == "new" or rng.random() < 0.03 else rng.choice(owners)
        channel = rng.choice(channels)
        campaign_id, source_id = None, rng.choice(sources)
        if channel == "form" and campaign_sources:
            campaign_id, source_id = rng.choice(campaign_sources)
        activity_at = created + timedelta(days=rng.randrange(0, 30)) if owner and rng.random() < 0.8 else None
        row.update(
            status=status, owner_id=owner, created_by_id=None if channel == "form" else owner,
            disqualify_reason=rng.choice(DISQUALIFY_REASONS) if status == "disqualified" else "",
            created_via=channel, created_at=created, updated_at=activity_at or created,
            assigned_at=created + timedelta(hours=rng.randrange(1, 48)) if owner else None,
            last_activity_at=activity_at,
            next_follow_up_at=activity_at + timedelta(days=rng.randrange(1, 20))
            if activity_at and status in {"assigned", "contacting", "qualified"} else None,
            source_id=source_id, campaign_id=campaign_id,
            score=rng.randrange(0, 101) if rng.random() < 0.9 else None,
        )
        row["grade"] = "" if row["score"] is None else "ABCD"[min(3, (100 - row["score"]) // 25)]
        rows.append(row)
    return rows


def generate(ctx: GenDataContext) -> None:
    """`--leads N` leads over two years, spread over the sales reps, with `--duplicates` of them repeats."""
    from .models import Campaign, Lead, LeadSource

    total, options = ctx.options.leads, ctx.options
    if not total:
        return
    if not 0 <= options.duplicates < 1:
        raise CommandError("--duplicates is a fraction between 0 and 1.")
    sources = list(LeadSource.objects.values_list("pk", flat=True))
    if not sources:
        raise CommandError("No lead sources: run `closeloop demo` first.")
    campaign_sources = list(Campaign.objects.values_list("pk", "source_id"))
    end = datetime.now(UTC)
    plan = Plan(total=total, chunk=options.chunk, seed=options.seed, duplicate_rate=options.duplicates,
                start=end - timedelta(days=730), end=end)
    chunks = [(plan, i, sources, ctx.owners, campaign_sources) for i in range(-(-total // options.chunk))]
    writer = BulkWriter(Lead)
    written = 0
    started = time.monotonic()
    if options.processes > 1:
        # Rows are built in worker processes (the normalizer dominates); this process only writes.
        connections.close_all()
        pool = multiprocessing.get_context("fork").Pool(options.processes)
        batches = pool.imap(lead_chunk, chunks)
    else:
        pool, batches = None, map(lead_chunk, chunks)
    try:
        for rows in batches:
            written += writer.write(rows)
            if written % (options.chunk * 10) < options.chunk or written == total:
                rate = written / max(time.monotonic() - started, 1e-9)
                ctx.log(f"leads: {written:,} / {total:,} ({rate:,.0f} rows/s)")
    finally:
        if pool is not None:
            pool.close()
            pool.join()


# What became of an owned lead's first-contact task, by the lead's status: a lead still waiting for its first call
# has it open unless it was called (its last activity); one worked on or closed had it done; nurture leads get none
# (the intake leaves them out, as `assignment.after_intake` does), a merged lead's went with it.
WORKED = {"assigned", "contacting"}
FIRST_CONTACT_MET = 0.72  # made within the SLA; the rest late (a live team's share, roughly)


def first_contact_tasks(ctx: GenDataContext) -> int:
    """Each owned lead's first-contact task (`assignment.FIRST_CONTACT`), due the SLA's hours after its assignment:
    made in time or late (closed then), still open (missed once due) or cancelled when the lead was closed unworked,
    so the dashboard's first-contact SLA has figures at volume. Deterministic by seed; bulk-written."""
    from django.contrib.contenttypes.models import ContentType

    from closeloop.followup.models import Task, TaskStatus

    from .assignment import FIRST_CONTACT
    from .models import Lead
    from .scoring import Ruleset

    hours = Ruleset.current().settings.first_contact_hours
    sla = timedelta(hours=hours)
    rng = random.Random(ctx.options.seed + 11)
    lead_type = ContentType.objects.get_for_model(Lead).pk
    now = datetime.now(UTC)
    # Leads after the last one that has its task (gen-data adds to what an earlier run wrote).
    done = Task.objects.filter(record_type_id=lead_type, kind=FIRST_CONTACT).order_by("-record_id").values_list(
        "record_id", flat=True).first() or 0
    leads = (Lead.objects.filter(pk__gt=done, owner__isnull=False, assigned_at__isnull=False)
             .exclude(status__in=("nurture", "merged")).order_by("pk")
             .values_list("pk", "owner_id", "status", "assigned_at", "last_activity_at"))
    writer = BulkWriter(Task)
    written, batch = 0, []
    for pk, owner, status, assigned, activity in leads.iterator(chunk_size=20_000):
        due = assigned + sla
        row = {"record_type_id": lead_type, "record_id": pk, "owner_id": owner, "kind": FIRST_CONTACT,
               "title": "首次联系", "due_at": due, "created_at": assigned}
        if status in WORKED and activity is None:
            row["status"] = TaskStatus.OPEN  # not called yet: missed once due
        elif activity is None and status == "disqualified" and rng.random() < 0.5:
            row.update(status=TaskStatus.CANCELLED, closed_at=min(due + timedelta(days=rng.randrange(1, 10)), now))
        else:
            late = rng.random() >= FIRST_CONTACT_MET
            delay = (sla + timedelta(hours=rng.expovariate(1 / 18))) if late else sla * rng.uniform(0.05, 1)
            row.update(status=TaskStatus.DONE, closed_at=min(assigned + delay, now))
        batch.append(row)
        if len(batch) == 50_000:
            written += writer.write(batch)
            batch = []
            ctx.log(f"first-contact tasks: {written:,}")
    written += writer.write(batch)
    ctx.log(f"first-contact tasks: {written:,} written.")
    return written
