from decimal import Decimal

import pytest
from django_tasks_db.models import DBTaskResult

from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry, Channel
from closeloop.followup.models import Activity, ActivityKind
from closeloop.leads.models import Lead, LeadStatus, ScoringRule
from closeloop.leads.quality import ScoringKind
from closeloop.leads.rule_services import quality_settings_update, scoring_rule_delete, scoring_rule_save
from closeloop.leads.scoring import quality_settings, rescore_all
from closeloop.leads.services.intake import lead_submit
from closeloop.leads.tasks import rescore_leads


def submit(org, **fields):
    data = {"company_name": "苏州远景机械制造有限公司", "contact_name": "王伟", "mobile": "13800138000",
            "source": "官网", **fields}
    return lead_submit(data=data, channel=Channel.API, actor=org.admin).lead


def test_it_explains_every_point_with_the_default_rules(org):
    lead = submit(org, budget="120000", title="采购经理", need="30人的销售团队要用", timeline="3个月内",
                  industry="机械制造", region="江苏", company_size="100-499人")
    lead = Lead.objects.get(pk=lead.pk)
    reasons = {d["rule"]: (d["points"], d["reason"]) for d in lead.score_details}
    assert reasons["预算10万–50万"][0] == 20 and "120,000" in reasons["预算10万–50万"][1]
    assert reasons["中层"] == (10, "Title “采购经理” contains “经理”.")
    assert reasons["有明确需求"][0] == 10
    assert reasons["3个月内"][0] == 10
    assert reasons["重点行业"][0] == 10
    assert reasons["重点区域"][0] == 10
    assert reasons["中型企业"][0] == 10
    assert reasons["主动来源"][0] == 10
    assert lead.score == sum(p for p, _r in reasons.values()) == 90
    assert lead.grade == "A"


def test_only_the_first_matching_rule_of_a_kind_counts(org):
    lead = submit(org, title="总经理")  # contains both 总经理 (decision maker) and 经理 (middle manager)
    authority = [d for d in lead.score_details if d["rule"] in ("决策人", "中层")]
    assert [d["rule"] for d in authority] == ["决策人"]


def test_a_low_score_goes_to_nurture_not_to_sales(org):
    lead = submit(org)  # only the source scores: 10 points, below the default nurture threshold of 15
    assert lead.score == 10 and lead.grade == "D"
    # Nurture is a place with an owner: 官网 has no marketer and no nurture owner is set, so the first admin.
    assert lead.status == LeadStatus.NURTURE and lead.owner == org.admin and not lead.in_pool


def test_a_rep_entering_a_low_lead_by_hand_keeps_it(org):
    lead = lead_submit(data={"company_name": "某公司", "contact_name": "张三", "mobile": "13800138000",
                             "source": "广告"}, channel=Channel.WEB, actor=org.owner).lead
    assert lead.score == 5 and lead.owner == org.owner and lead.status == LeadStatus.ASSIGNED


def test_grade_thresholds_and_nurture_threshold_are_configurable(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        quality_settings_update(data={"grade_a_min": 15, "grade_b_min": 10, "grade_c_min": 5, "nurture_below": 0},
                                actor=org.admin)
    lead = submit(org)
    assert lead.grade == "B" and lead.status != LeadStatus.NURTURE
    assert AuditEntry.objects.filter(action="settings.lead_quality").exists()
    # A change of grades queues a rescore of every lead.
    assert DBTaskResult.objects.filter(task_path__endswith="rescore_leads").count() == 1


def test_grades_must_descend(org):
    with pytest.raises(ValidationFailed):
        quality_settings_update(data={"grade_a_min": 10, "grade_b_min": 20}, actor=org.admin)
    assert quality_settings().grade_a_min == 80


def test_only_admins_change_rules(org):
    with pytest.raises(Forbidden):
        scoring_rule_save(data={"kind": ScoringKind.NEED, "label": "x", "points": 5}, actor=org.manager)


def test_rule_changes_rescore_every_lead_in_the_background(org, django_capture_on_commit_callbacks):
    lead = submit(org, industry="新能源汽车")
    before = Lead.objects.get(pk=lead.pk).score
    with django_capture_on_commit_callbacks(execute=True):
        rule = scoring_rule_save(data={"kind": ScoringKind.INDUSTRY, "label": "汽车", "keywords": "汽车，整车",
                                       "points": 25, "position": 0}, actor=org.admin)
    job = DBTaskResult.objects.get(task_path__endswith="rescore_leads")
    assert job.status == "READY"
    assert Lead.objects.get(pk=lead.pk).score == before  # not yet: the job has not run
    rescore_leads.call()
    lead = Lead.objects.get(pk=lead.pk)
    assert lead.score == before - 10 + 25  # 汽车 comes first and replaces 重点行业 (新能源) for the industry kind
    assert any(d["rule"] == "汽车" and "汽车" in d["reason"] for d in lead.score_details)
    scoring_rule_delete(rule=rule, actor=org.admin)
    assert rescore_all() == 1
    assert Lead.objects.get(pk=lead.pk).score == before


def test_repeated_touches_score(org):
    lead = submit(org, need="要演示")
    for _n in range(3):
        Activity.objects.create(record=lead, kind=ActivityKind.TOUCH, channel=Channel.FORM)
    Activity.objects.create(record=lead, kind=ActivityKind.CALL, actor=org.owner)
    rescore_all()
    lead = Lead.objects.get(pk=lead.pk)
    assert {"rule": "多次接触（3次以上）", "points": 15, "reason": "3 repeated touches (at least 3)."} in lead.score_details


def test_rescoring_many_leads_uses_batched_queries(org, django_assert_max_num_queries):
    quality_settings()
    Lead.objects.bulk_create([
        Lead(company_name=f"公司{n}", source=org.sources["展会"], created_via=Channel.IMPORT,
             budget=Decimal(n * 1000)) for n in range(300)
    ])
    with django_assert_max_num_queries(12):
        assert rescore_all() == 300
    assert Lead.objects.filter(score__isnull=True).count() == 0
    assert Lead.objects.get(company_name="公司150").score == 20 + 10


def test_scoring_rules_are_validated(org):
    with pytest.raises(ValidationFailed) as excinfo:
        scoring_rule_save(data={"kind": ScoringKind.BUDGET, "label": "x", "points": 5, "min_amount": Decimal(10),
                                "max_amount": Decimal(5)}, actor=org.admin)
    assert "max_amount" in excinfo.value.field_errors
    with pytest.raises(ValidationFailed) as excinfo:
        scoring_rule_save(data={"kind": ScoringKind.REGION, "label": "x", "points": 5, "keywords": " , "},
                          actor=org.admin)
    assert "keywords" in excinfo.value.field_errors
    assert not ScoringRule.objects.filter(label="x").exists()


def test_a_repeated_submission_raises_the_score_of_the_lead_on_record(org):
    first = submit(org, need="要演示")
    again = lead_submit(data={"company_name": "苏州远景机械制造有限公司", "contact_name": "王伟", "mobile": "138-0013-8000",
                              "source": "官网"}, channel=Channel.FORM, actor=None).lead
    assert again.pk == first.pk
    lead = Lead.objects.get(pk=first.pk)
    assert lead.score == first.score + 5
    assert any(d["rule"] == "再次接触" for d in lead.score_details)
    entry = AuditEntry.objects.for_object(lead).get(action="lead.touch")
    assert entry.changes["score"] == [first.score, first.score + 5]


def test_editing_a_lead_rescores_it(org):
    from closeloop.leads.services.editing import lead_update

    lead = submit(org, need="要演示")
    assert (lead.score, lead.status) == (20, LeadStatus.NEW)
    lead_update(lead=lead, data={"budget": "800000"}, actor=org.admin, channel=Channel.WEB)
    lead = Lead.objects.get(pk=lead.pk)
    assert (lead.score, lead.status) == (10 + 10 + 30, LeadStatus.NEW)  # rescored; the status is the rep's
    assert AuditEntry.objects.for_object(lead).get(action="lead.update").changes["score"] == [20, 50]


def test_the_api_shows_the_score_explanation(client, org):
    from closeloop.core.models import ApiToken, hash_token

    raw = ApiToken.generate()
    ApiToken.objects.create(user=org.admin, prefix=raw[:8], token_hash=hash_token(raw))
    lead = submit(org, need="要演示", product_interest="CRM标准版")
    body = client.get(f"/api/leads/{lead.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["product_interest"] == "CRM标准版"
    assert {"rule": "有明确需求", "points": 10, "reason": "A need is described."} in body["score_details"]


def test_nurture_is_a_place_with_an_owner_and_a_re_check_date(org):
    from closeloop.followup.models import Task
    from closeloop.followup.services import follow_up_time

    # 展会 is run by the marketer: its low-score leads are theirs to nurture.
    lead = submit(org, source="展会")
    assert lead.status == LeadStatus.NURTURE and lead.owner == org.marketer and not lead.in_pool
    assert lead.next_follow_up_at == follow_up_time(30)
    assert not Task.objects.for_record(lead).exists()  # re-checked on its date, not on the first-contact SLA
    # A source nobody in marketing runs: the nurture owner of the settings.
    quality_settings_update(data={"nurture_owner": org.manager, "nurture_recheck_days": 14}, actor=org.admin)
    lead = submit(org, company_name="无锡小天鹅电器有限公司", mobile="13800138001")
    assert lead.owner == org.manager and lead.next_follow_up_at == follow_up_time(14)
    assert lead in Lead.objects.visible_to(org.manager)
