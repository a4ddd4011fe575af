"""The intake's prepared statements (`core.fastsql`, `leads.services.intake_fast`) read and write exactly
what the ORM statements they replace read and write."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from closeloop.core import fastsql
from closeloop.core.audit import creation_changes
from closeloop.core.models import ApiToken, AuditEntry, Channel, Notification
from closeloop.core.services import _live_token, api_token_create, api_token_revoke
from closeloop.followup.models import Activity, ActivityKind, Task
from closeloop.leads.models import IdempotencyRecord, Lead, LeadStatus
from closeloop.leads.services import intake_fast

NOW = timezone.now().replace(microsecond=123456)
KEYS = itertools.count()


def _row(instance, skip=("id", "updated_at")) -> dict:
    row = type(instance).objects.filter(pk=instance.pk).values().get()
    return {k: v for k, v in row.items() if k not in skip}


def _pair(make):
    """The same new record saved by the ORM and by `fastsql.insert`; their rows, without the id."""
    by_orm, by_fast = make(), make()
    by_orm.save()
    fastsql.insert(by_fast)
    assert by_fast.pk is not None and by_fast.pk != by_orm.pk and not by_fast._state.adding
    return _row(by_orm), _row(by_fast)


def _lead(org, **extra):
    return Lead(company_name="杭州远景科技有限公司", contact_name="李娜", mobile="13912340001",
                mobile_key="+8613912340001", email="li@yj.cn", email_key="li@yj.cn", budget=Decimal("50000.00"),
                source=org.sources["官网"], owner=org.owner, status=LeadStatus.ASSIGNED, assigned_at=NOW,
                next_follow_up_at=NOW + timedelta(hours=4), score=72, grade="B", created_via=Channel.API,
                custom={"行业细分": "SaaS", "n": 3}, created_at=NOW, **extra)


def test_an_insert_writes_the_row_save_writes(org):
    orm, fast = _pair(lambda: _lead(org))
    assert orm == fast
    assert fast["budget"] == Decimal("50000.00") and fast["custom"] == {"行业细分": "SaaS", "n": 3}
    orm, fast = _pair(lambda: Lead(company_name="无主公司", status=LeadStatus.NEW, in_pool=True, pooled_at=NOW,
                                   source=org.sources["展会"], created_at=NOW))
    assert orm == fast and fast["owner_id"] is None


def test_an_insert_gives_auto_now_its_time(org):
    lead = fastsql.insert(_lead(org))
    assert abs(Lead.objects.get(pk=lead.pk).updated_at - timezone.now()) < timedelta(minutes=1)


def test_the_other_rows_of_an_intake_match_too(org):
    lead = fastsql.insert(_lead(org))
    lead_type = ContentType.objects.get_for_model(Lead)
    pairs = [
        lambda: AuditEntry(actor=org.admin, channel=Channel.API, action="lead.create", target_type=lead_type,
                           target_id=str(lead.pk), target_repr=str(lead), changes=creation_changes(lead),
                           note="Matches lead #1: 手机号", created_at=NOW),
        lambda: Task(owner=org.owner, kind="first_contact", due_at=NOW, record_type=lead_type, record_id=lead.pk,
                     created_at=NOW),
        lambda: Notification(recipient=org.owner, kind="lead.assigned", message="新线索：杭州远景", url="/leads/1/",
                             created_at=NOW),
        lambda: Activity(kind=ActivityKind.TOUCH, content="通过 API 再次提交：杭州远景", feedback="要上线CRM",
                         actor=org.admin, channel=Channel.API, record_type=lead_type, record_id=lead.pk,
                         payload={"mobile": "13912340001", "match_reasons": ["mobile"]}, created_at=NOW),
        lambda: IdempotencyRecord(user=org.admin, key=f"k-{next(KEYS)}", request_hash="ab" * 32,
                                  status_code=201, response_body={"lead": {"id": 1, "公司": "远景"}, "created": True},
                                  created_at=NOW),
    ]
    for make in pairs:
        orm, fast = _pair(make)
        if type(make()) is IdempotencyRecord:  # the key is unique per user
            orm.pop("key"), fast.pop("key")
        assert orm == fast, type(make())


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_the_matched_lead_is_read_as_the_orm_reads_it(org):
    lead = fastsql.insert(_lead(org, duplicate_of=None))
    fast, orm = intake_fast.lead_with_owner(lead.pk), Lead.objects.select_related("owner").get(pk=lead.pk)
    assert _fields(fast) == _fields(orm)
    assert _fields(fast.owner) == _fields(orm.owner)
    pooled = Lead.objects.create(company_name="无主公司", in_pool=True, source=org.sources["展会"], created_at=NOW)
    assert intake_fast.lead_with_owner(pooled.pk).owner is None
    assert _fields(intake_fast.lead_with_owner(pooled.pk)) == _fields(Lead.objects.get(pk=pooled.pk))
    assert intake_fast.lead_with_owner(pooled.pk + 1000) is None


def test_a_touch_counts_and_saves_the_score_as_rescore_lead_does(org):
    from closeloop.leads import scoring

    by_orm, by_fast = fastsql.insert(_lead(org)), fastsql.insert(_lead(org))
    lead_type = ContentType.objects.get_for_model(Lead)
    for lead in (by_orm, by_fast):
        assert intake_fast.touch_count(lead) == scoring.touch_count(lead) == 0
        for kind in (ActivityKind.TOUCH, ActivityKind.TOUCH, ActivityKind.CALL):
            fastsql.insert(Activity(kind=kind, content="再次提交", actor=org.admin, channel=Channel.API,
                                    record_type=lead_type, record_id=lead.pk, created_at=NOW))
        assert intake_fast.touch_count(lead) == scoring.touch_count(lead) == 2
    Lead.objects.filter(pk__in=[by_orm.pk, by_fast.pk]).update(updated_at=NOW - timedelta(days=1))
    scoring.rescore_lead(by_orm)
    scoring.score_lead(by_fast, touches=intake_fast.touch_count(by_fast))
    intake_fast.save_score(by_fast)
    orm, fast = _row(by_orm, skip=()), _row(by_fast, skip=())
    assert (fast["score"], fast["grade"], fast["score_details"]) == (orm["score"], orm["grade"], orm["score_details"])
    assert fast["score_details"] and fast["score"] == by_fast.score and fast["score"] != 72
    # Both stamp the row (an API client syncing on updated_at hears of the new score), not the instance.
    assert abs(fast["updated_at"] - orm["updated_at"]) < timedelta(minutes=1) and fast["updated_at"] > NOW
    assert by_orm.updated_at < orm["updated_at"] and by_fast.updated_at < fast["updated_at"]


def test_a_token_and_a_stored_answer_are_read_as_the_orm_reads_them(org):
    raw, token = api_token_create(user=org.owner, name="t", actor=None)
    fast = _live_token(token.token_hash)
    orm = ApiToken.objects.select_related("user").get(pk=token.pk)
    assert _fields(fast) == _fields(orm) and _fields(fast.user) == _fields(orm.user)
    api_token_revoke(token=orm, actor=org.owner)
    assert _live_token(token.token_hash) is None
    assert _live_token("0" * 64) is None

    stored = IdempotencyRecord.objects.create(user=org.admin, key="retry-1", request_hash="c" * 64, status_code=200,
                                              response_body={"created": False, "messages": ["已有"]})
    assert _fields(intake_fast.idempotency_record(user_id=org.admin.pk, key="retry-1")) == _fields(stored)
    assert intake_fast.idempotency_record(user_id=org.owner.pk, key="retry-1") is None


@pytest.fixture
def auth(org):
    raw, _token = api_token_create(user=org.admin, name="t", actor=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_an_api_intake_writes_the_lead_its_audit_entry_task_and_stored_answer(client, org, auth):
    from closeloop.leads.quality import AssignmentRule, AssignmentStrategy
    from closeloop.leads.rule_services import assignment_rule_save

    assignment_rule_save(actor=org.admin, members=[(org.owner, 1)], data={
        "name": "全部", "position": 0, "active": True, "strategy": AssignmentStrategy.ROUND_ROBIN})
    counts = {model: model.objects.count() for model in (Lead, AuditEntry, Task, IdempotencyRecord)}
    response = client.post("/api/leads/", {"company_name": "杭州远景科技有限公司", "contact_name": "李娜",
                                           "mobile": "13912340001", "budget": "50000", "source": "官网"},
                           content_type="application/json", HTTP_IDEMPOTENCY_KEY="once", **auth)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["lead"]["id"])
    assert lead.owner == org.owner and lead.budget == Decimal("50000")
    assert {model: model.objects.count() - n for model, n in counts.items()} == {
        Lead: 1, AuditEntry: 1, Task: 1, IdempotencyRecord: 1}
    entry = AuditEntry.objects.for_object(lead).get()
    # The entry records the row as it reads back from the table, field by field.
    assert entry.action == "lead.create" and entry.actor == org.admin
    assert entry.changes == {k: [None, v[1]] for k, v in creation_changes(lead).items()}
    assert Task.objects.for_record(lead).get().owner == org.owner
    assert AssignmentRule.objects.get().last_assigned == org.owner
    again = client.post("/api/leads/", {"company_name": "杭州远景科技有限公司", "contact_name": "李娜",
                                        "mobile": "13912340001", "budget": "50000", "source": "官网"},
                        content_type="application/json", HTTP_IDEMPOTENCY_KEY="once", **auth)
    assert again.status_code == 201 and again.json() == response.json()
