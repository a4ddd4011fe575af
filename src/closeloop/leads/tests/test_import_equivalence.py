"""The batch import path writes exactly what `lead_submit`, row after row, writes.

`lead_submit_batch` reads duplicates, scores and assigns a whole chunk at once for speed; every verdict and
every written row must still be the one the per-row path gives. Generated rows (the data generator's people,
with repeats and rewritten variants inside a chunk, across chunks and of leads already on record, broken
phones and unknown sources) go once through `lead_submit` one by one and once through the batch, each on
the same starting database (the first run is rolled back), and everything they wrote is compared: leads,
audit entries, touches, first-contact tasks, the rules' round-robin cursors and weighted counts, and the
counts the import reports.
"""

import random
import re

import pytest
from django.db import transaction

from closeloop.core.errors import DomainError
from closeloop.core.models import AuditEntry, Channel, Role, User
from closeloop.followup.models import Activity, Task
from closeloop.leads import gendata
from closeloop.leads.models import Lead
from closeloop.leads.quality import AssignmentMember, AssignmentRule, AssignmentStrategy
from closeloop.leads.rule_services import assignment_rule_save, quality_settings_update
from closeloop.leads.services.batch import lead_submit_batch
from closeloop.leads.services.intake import lead_submit

# Moments of writing differ between two runs; whether they are set does not.
MOMENTS = {"id", "created_at", "updated_at", "assigned_at", "pooled_at", "next_follow_up_at", "last_activity_at"}
SOURCES = ["展会", "官网", "朋友介绍", "广告", "电话", ""]
REGIONS = [("上海", "上海"), ("江苏", "南京"), ("浙江", "杭州"), ("广东", "深圳"), ("福建", "厦门"), ("北京", "北京")]


class _Rollback(Exception):
    pass


@pytest.fixture
def rules(org):
    """The demo's three rules (weighted by source, round-robin by region and grade, least load by region),
    with team B grown so least load has a choice, one rep on leave, and a nurture threshold some rows miss."""
    quality_settings_update(data={"nurture_below": 50}, actor=org.admin)
    for n in range(3):
        User.objects.create_user(f"south{n}", f"south{n}@example.com", "pw", role=Role.SALES_REP,
                                 department=org.team_b, manager=org.other_manager, on_leave=n == 2)
    assignment_rule_save(actor=org.admin, members=[(org.owner, 3), (org.teammate, 1)], data={
        "name": "转介绍", "position": 0, "active": True, "strategy": AssignmentStrategy.WEIGHTED,
        "sources": [org.sources["朋友介绍"]]})
    assignment_rule_save(actor=org.admin, members=[], data={
        "name": "华东 A/B 级", "position": 1, "active": True, "strategy": AssignmentStrategy.ROUND_ROBIN,
        "regions": "上海,江苏,浙江", "grades": "AB", "department": org.team_a})
    assignment_rule_save(actor=org.admin, members=[], data={
        "name": "华南", "position": 2, "active": True, "strategy": AssignmentStrategy.LEAST_LOAD,
        "regions": "广东,福建", "department": org.team_b})
    return org


def _person(rng: random.Random) -> dict:
    row = gendata._original(rng)
    row["region"], row["city"] = rng.choice(REGIONS)
    row["source"] = rng.choice(SOURCES) or "电话"
    return row


def _rows(rng: random.Random, on_record: list[dict], count: int) -> list[tuple]:
    rows: list[dict] = []
    for _n in range(count):
        roll = rng.random()
        if rows and roll < 0.10:
            row = dict(rng.choice(rows[-30:]))  # the same row again, often inside the chunk
        elif rows and roll < 0.20:
            row = gendata._variant(rng, rng.choice(rows))  # the same person written differently
        elif roll < 0.30:
            row = gendata._variant(rng, rng.choice(on_record))  # a lead already on record
        elif roll < 0.35:
            row = {**_person(rng), "company_name": rng.choice(on_record)["company_name"]}  # another person there
        elif rows and roll < 0.38:
            row = {**_person(rng), "company_name": rng.choice(rows[-30:])["company_name"]}  # at a company of this file
        elif roll < 0.42:
            row = {**_person(rng), "mobile": "139" + str(rng.randrange(1000))}  # refused: a broken mobile
        elif roll < 0.44:
            row = {**_person(rng), "source": "没有这个来源"}  # refused: an unknown source
        else:
            row = _person(rng)
        rows.append(row)
    return [((n, []), row) for n, row in enumerate(rows, start=2)]


def _written(before: dict) -> dict:
    """Everything written since `before` (the largest ids then), with new leads' ids replaced by what they
    hold, so two runs that gave their leads other ids compare equal."""
    new_leads = list(Lead.objects.filter(pk__gt=before["lead"]).order_by("pk"))
    signature = {}
    seen: dict = {}
    for lead in new_leads:
        key = (lead.company_name, lead.contact_name, lead.mobile_key, lead.email_key, lead.landline_key, lead.need)
        seen[key] = seen.get(key, 0) + 1
        signature[lead.pk] = ("new", *key, seen[key])

    activity_rank = {pk: n for n, pk in enumerate(
        Activity.objects.filter(pk__gt=before["activity"]).order_by("pk").values_list("pk", flat=True))}

    def ref(pk):
        return signature.get(pk, pk)

    def text(value: str) -> str:
        # A touch is named by its activity's rank among the new activities: PostgreSQL does not rewind
        # its sequences when the other run rolls back, so the ids themselves differ between the runs.
        value = re.sub(r"touch #(\d+)", lambda m: f"touch {activity_rank.get(int(m.group(1)), m.group(1))}", value)
        return re.sub(r"#(\d+)", lambda m: f"#{ref(int(m.group(1)))}", value)

    leads = sorted(
        (tuple((f.attname, ref(getattr(lead, f.attname)) if f.attname in {"duplicate_of_id", "merged_into_id"}
                else getattr(lead, f.attname)) for f in Lead._meta.concrete_fields if f.attname not in MOMENTS)
         + (("moments set", tuple(getattr(lead, name) is not None for name in sorted(MOMENTS - {"id"}))),)
         for lead in new_leads), key=repr)
    on_record = sorted((pk, score, grade, owner, status, duplicate_of, last_activity is not None)
                       for pk, score, grade, owner, status, duplicate_of, last_activity in Lead.objects.filter(
                           pk__lte=before["lead"]).values_list("pk", "score", "grade", "owner_id", "status",
                                                               "duplicate_of_id", "last_activity_at"))
    audit = sorted(
        ((e.action, e.channel, e.actor_id, e.target_type_id,
          ref(int(e.target_id)) if e.target_id.isdigit() else e.target_id, e.target_repr,
          repr({k: ([ref(x) for x in v] if k in {"duplicate_of", "merged_into"} else v)
                for k, v in (e.changes or {}).items() if k not in MOMENTS}), text(e.note))
         for e in AuditEntry.objects.filter(pk__gt=before["audit"])), key=repr)
    activities = sorted(((ref(a.record_id), a.kind, text(a.content), repr(a.payload), a.actor_id, a.channel)
                         for a in Activity.objects.filter(pk__gt=before["activity"])), key=repr)
    tasks = sorted(((ref(t.record_id), t.owner_id, t.kind, t.status)
                    for t in Task.objects.filter(pk__gt=before["task"])), key=repr)
    cursors = sorted(AssignmentRule.objects.values_list("pk", "last_assigned_id"))
    weights = sorted(AssignmentMember.objects.values_list("pk", "assigned_count"))
    return {"leads": leads, "on_record": on_record, "audit": audit, "activities": activities, "tasks": tasks,
            "cursors": cursors, "weights": weights}


def _marks() -> dict:
    def last(model):
        return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    return {"lead": last(Lead), "audit": last(AuditEntry), "activity": last(Activity), "task": last(Task)}


def _per_row(rows, actor) -> tuple[dict, dict]:
    counts = {"created": 0, "routed": 0, "refused": []}
    for key, data in rows:
        try:
            with transaction.atomic():
                result = lead_submit(data=data, channel=Channel.IMPORT, actor=actor)
        except DomainError as exc:
            counts["refused"].append((key, exc.field_errors or {"": [exc.message]}))
            continue
        counts["created" if result.created else "routed"] += 1
    return counts


def _batch(rows, actor, chunk_size, apart=False) -> dict:
    outcome = {"created": 0, "routed": 0, "refused": []}

    def on_chunk(chunk):
        outcome["refused"] += chunk.refused

    total = lead_submit_batch(rows=rows, channel=Channel.IMPORT, actor=actor, chunk_size=chunk_size, on_chunk=on_chunk,
                              apart=apart)
    outcome["created"], outcome["routed"] = total.created, total.routed
    return outcome


def _run(fn) -> tuple[dict, dict]:
    """What `fn` writes and returns, rolled back afterwards."""
    captured = {}
    try:
        with transaction.atomic():
            before = _marks()
            captured["counts"] = fn()
            captured["written"] = _written(before)
            raise _Rollback
    except _Rollback:
        pass
    return captured["counts"], captured["written"]


@pytest.mark.parametrize(("seed", "apart"), [(1, False), (2, False), (3, True)])
def test_the_batch_writes_what_lead_submit_writes_row_by_row(rules, seed, apart):
    """`apart`: the rows cleaned in a second process (the import job's pipeline), written in this one."""
    org = rules
    rng = random.Random(seed)
    on_record = []
    for _n in range(40):
        row = _person(rng)
        on_record.append(row)
        lead_submit(data=row, channel=Channel.API, actor=org.admin)
    # Half the leads on record as written before `Lead.match_key`: compared from their columns instead.
    Lead.objects.filter(pk__in=list(Lead.objects.values_list("pk", flat=True))[::2]).update(match_key="")
    rows = _rows(rng, on_record, 200)
    importer = org.marketer  # may not own leads: every row goes by the rules

    per_row_counts, per_row = _run(lambda: _per_row(rows, importer))
    batch_counts, batch = _run(lambda: _batch(rows, importer, chunk_size=60, apart=apart))

    # The generated rows exercise every branch: new, touched, flagged, refused, pooled, nurtured, each rule.
    assert per_row_counts["created"] > 80 and per_row_counts["routed"] > 10 and len(per_row_counts["refused"]) > 5
    statuses = {dict(lead)["status"] for lead in per_row["leads"]}
    assert {"assigned", "new", "nurture"} <= statuses
    assert any(dict(lead)["duplicate_of_id"] for lead in per_row["leads"])
    assert all(cursor for _pk, cursor in per_row["cursors"][1:]) and any(n for _pk, n in per_row["weights"])

    assert batch_counts == per_row_counts
    for part in per_row:
        assert batch[part] == per_row[part], (part, _first_difference(batch[part], per_row[part]))


def _first_difference(left: list, right: list):
    """The first pair of entries that differ, and in which items (a readable failure on 200-field lists)."""
    for a, b in zip(left, right, strict=False):
        if a != b:
            if isinstance(a, tuple) and isinstance(b, tuple):
                return [(x, y) for x, y in zip(a, b, strict=False) if x != y], a[:3]
            return a, b
    return len(left), len(right)
