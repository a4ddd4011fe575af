"""Scoring and assignment rules with a condition on a lead custom field (equals, contains, greater than, is set),
and the import's batch path giving the same verdicts as the per-row path."""

import random

import pytest
from django.urls import reverse

from closeloop.core.customfields.services import custom_field_create, custom_field_hide
from closeloop.core.errors import ValidationFailed
from closeloop.leads.models import Lead
from closeloop.leads.quality import AssignmentStrategy, ScoringKind
from closeloop.leads.rule_services import assignment_rule_save, scoring_rule_save
from closeloop.leads.scoring import rescore_all

# The equivalence test's machinery: generated rows, one run per path on the same database, the writes compared.
from closeloop.leads.tests.test_import_equivalence import (
    _batch,
    _first_difference,
    _per_row,
    _person,
    _rows,
    _run,
)
from closeloop.leads.tests.test_import_equivalence import rules as rules  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def fields(org):
    def make(key, field_type, label, **data):
        return custom_field_create(target="leads.Lead", key=key, field_type=field_type, actor=org.admin,
                                   data={"label_zh": label, "label_en": key, **data})

    return {
        "segment": make("segment", "choice", "细分行业", options="汽车零部件\n消费电子\n食品"),
        "seats": make("seats", "integer", "席位数"),
        "budget_cap": make("budget_cap", "money", "年度预算上限"),
        "modules": make("modules", "multi_choice", "关注模块", options="CRM\nERP\n客服"),
        "referrer": make("referrer", "text", "推荐人"),
        "notes": make("notes", "long_text", "背景"),
    }


def _rule(org, label, key, operator, value="", points=10):
    return scoring_rule_save(actor=org.admin, data={
        "kind": ScoringKind.CUSTOM, "label": label, "points": points, "position": 0, "active": True,
        "custom_key": key, "custom_operator": operator, "custom_value": value})


def test_scoring_rules_test_custom_fields_by_each_comparison(org, fields, make_lead):
    _rule(org, "汽车行业", "segment", "eq", "汽车零部件", 25)
    _rule(org, "百席以上", "seats", "gt", "100", 15)
    _rule(org, "预算超5万", "budget_cap", "gt", "5万", 7)
    _rule(org, "要CRM", "modules", "contains", "crm", 5)
    _rule(org, "有推荐人", "referrer", "set", "", 3)
    _rule(org, "提到上市", "notes", "contains", "上市", 2)
    base = make_lead().score
    lead = make_lead(custom={"segment": "汽车零部件", "seats": 120, "budget_cap": "60000", "modules": ["CRM", "客服"],
                             "referrer": "王总", "notes": "计划明年上市"})
    assert lead.score == base + 25 + 15 + 7 + 5 + 3 + 2
    reasons = {"汽车行业", "百席以上", "预算超5万", "要CRM", "有推荐人", "提到上市"}
    assert reasons <= {line["rule"] for line in lead.score_details}
    # The explanation names the rule, not the value (it is read by people who may not see the field).
    assert not any("王总" in line["reason"] for line in lead.score_details)
    # Just at the bound is not greater; another option is not equal; an empty text is not set.
    near = make_lead(custom={"segment": "食品", "seats": 100, "budget_cap": 50000, "modules": ["ERP"], "referrer": ""})
    assert near.score == base and not any(line["rule"] in reasons for line in near.score_details)


def test_a_custom_field_rule_counts_once_per_field_and_rescoring_reads_the_values(org, fields, make_lead):
    _rule(org, "千席", "seats", "gt", "1000", 30)
    _rule(org, "百席", "seats", "gt", "100", 10)
    _rule(org, "汽车", "segment", "eq", "汽车零部件", 5)
    lead = make_lead(custom={"seats": 5000, "segment": "汽车零部件"})
    assert [line["rule"] for line in lead.score_details if line["rule"] in {"千席", "百席", "汽车"}] == ["千席", "汽车"]
    Lead.objects.filter(pk=lead.pk).update(custom={"seats": 500})
    rescore_all()
    lead.refresh_from_db()
    assert [line["rule"] for line in lead.score_details if line["rule"] in {"千席", "百席", "汽车"}] == ["百席"]


def test_a_condition_that_cannot_hold_is_refused_naming_what_to_change(org, fields):
    cases = [
        ("referrer", "gt", "5", "custom_operator"),  # greater than on text
        ("segment", "contains", "汽车", "custom_operator"),  # contains on a single choice
        ("notes", "eq", "x", "custom_operator"),  # equals on long text
        ("segment", "eq", "建筑", "custom_value"),  # not one of the options
        ("seats", "gt", "很多", "custom_value"),  # not a number
        ("seats", "gt", "", "custom_value"),  # no value
        ("nothing", "eq", "1", "custom_key"),  # no such field
    ]
    for key, operator, value, where in cases:
        with pytest.raises(ValidationFailed) as refused:
            _rule(org, "x", key, operator, value)
        assert list(refused.value.field_errors) == [where], (key, operator, value)
    with pytest.raises(ValidationFailed) as no_field:
        scoring_rule_save(actor=org.admin, data={"kind": ScoringKind.CUSTOM, "label": "x", "points": 1})
    assert list(no_field.value.field_errors) == ["custom_key"]


def test_an_assignment_rule_routes_on_a_custom_field(org, fields, make_lead):
    assignment_rule_save(actor=org.admin, members=[(org.teammate, 1)], data={
        "name": "汽车组", "position": 0, "active": True, "strategy": AssignmentStrategy.ROUND_ROBIN,
        "custom_key": "segment", "custom_operator": "eq", "custom_value": "汽车零部件"})
    assignment_rule_save(actor=org.admin, members=[(org.owner, 1)], data={
        "name": "大客户", "position": 1, "active": True, "strategy": AssignmentStrategy.ROUND_ROBIN,
        "custom_key": "budget_cap", "custom_operator": "gt", "custom_value": "100000"})
    from closeloop.core.models import Channel
    from closeloop.leads.services.intake import lead_submit

    def submitted(custom):
        return lead_submit(data={"company_name": f"杭州{len(custom)}{sorted(custom)}公司", "contact_name": "张三",
                                 "mobile": f"1381234{random.randrange(10000):04d}", "source": "官网",
                                 "need": "CRM", "custom": custom}, channel=Channel.API, actor=org.admin).lead

    assert submitted({"segment": "汽车零部件"}).owner == org.teammate
    assert submitted({"segment": "食品", "budget_cap": 200000}).owner == org.owner
    assert submitted({"segment": "食品", "budget_cap": 100000}).owner is None  # not above: to the pool
    # A hidden field's condition no longer matches anything: its leads go by the other rules.
    custom_field_hide(field=fields["segment"], hidden=True, actor=org.admin)
    assert submitted({"budget_cap": 1}).owner is None


def test_the_settings_pages_offer_and_show_the_condition(client, org, fields):
    client.force_login(org.admin)
    page = client.get(reverse("leads:scoring_rule_create")).content.decode()
    assert 'name="custom_key"' in page and 'value="seats"' in page and 'value="gt"' in page
    response = client.post(reverse("leads:scoring_rule_create"), {
        "kind": "custom", "label": "百席", "points": 10, "position": 0, "active": "on",
        "custom_key": "seats", "custom_operator": "gt", "custom_value": "100"})
    assert response.status_code == 302
    assert "seats greater than 100" in client.get(reverse("leads:scoring_settings")).content.decode()
    response = client.post(reverse("leads:scoring_rule_create"), {
        "kind": "custom", "label": "坏", "points": 10, "position": 0, "active": "on",
        "custom_key": "referrer", "custom_operator": "gt", "custom_value": "1"})
    assert response.status_code == 200 and "compares numbers and amounts" in response.content.decode()


@pytest.mark.parametrize("seed", [3])
def test_the_batch_gives_the_per_row_verdicts_on_custom_field_conditions(rules, fields, seed):  # noqa: F811
    org = rules
    _rule(org, "汽车行业", "segment", "eq", "汽车零部件", 40)
    _rule(org, "百席以上", "seats", "gt", "100", 30)
    _rule(org, "要CRM", "modules", "contains", "CRM", 10)
    assignment_rule_save(actor=org.admin, members=[(org.teammate, 1), (org.owner, 2)], data={
        "name": "电子组", "position": 0, "active": True, "strategy": AssignmentStrategy.WEIGHTED,
        "custom_key": "segment", "custom_operator": "eq", "custom_value": "消费电子"})
    rng = random.Random(seed)
    on_record = [_person(rng) for _n in range(20)]
    rows = _rows(rng, on_record, 160)
    for _key, row in rows:
        row["custom"] = {"segment": rng.choice(["汽车零部件", "消费电子", "食品", ""]),
                         "seats": rng.choice([None, 50, 100, 101, 800]),
                         "modules": rng.sample(["CRM", "ERP", "客服"], rng.randrange(3))}
    per_row_counts, per_row = _run(lambda: _per_row(rows, org.marketer))
    batch_counts, batch = _run(lambda: _batch(rows, org.marketer, chunk_size=50))
    details = [dict(lead)["score_details"] for lead in per_row["leads"]]
    fired = {line["rule"] for lines in details for line in lines}
    assert {"汽车行业", "百席以上", "要CRM"} <= fired
    owners = {dict(lead)["owner_id"] for lead in per_row["leads"]}
    assert {org.teammate.pk, org.owner.pk} <= owners
    assert batch_counts == per_row_counts
    for part in per_row:
        assert batch[part] == per_row[part], (part, _first_difference(batch[part], per_row[part]))
