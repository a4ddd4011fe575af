"""Custom fields: the types' parsing table, the definitions' audited services, conversion, permissions, the
expression index on both databases, and the settings pages as an administrator and as everyone else."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.urls import reverse

from closeloop.core.audit import audit_trail
from closeloop.core.audit_labels import labelled_changes
from closeloop.core.customfields import indexes, registry, types
from closeloop.core.customfields.services import (
    custom_field_create,
    custom_field_hide,
    custom_field_index,
    custom_field_update,
)
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import CustomField
from closeloop.core.models import CustomFieldType as T


def definition(field_type, options=()):
    return CustomField(target="leads.Lead", key="k", label_zh="字段", type=field_type, options=list(options))


@pytest.mark.parametrize(("field_type", "raw", "stored"), [
    (T.TEXT, "  华东区 ", "华东区"),
    (T.INTEGER, "１２０", 120),
    (T.INTEGER, "1,200", 1200),
    (T.INTEGER, 7.0, 7),
    (T.DECIMAL, "3.50", 3.5),
    (T.DECIMAL, "12", 12),
    (T.MONEY, "5万", 50000),
    (T.MONEY, "1,234.5", 1234.5),
    (T.DATE, "2026/1/5", "2026-01-05"),
    (T.DATE, "2026年12月31日", "2026-12-31"),
    (T.DATETIME, "2026-12-01 08:30", "2026-12-01T00:30:00Z"),
    (T.BOOLEAN, "是", True),
    (T.BOOLEAN, "no", False),
    (T.BOOLEAN, False, False),
    (T.PHONE, "139 1234 5678", "+8613912345678"),
    (T.PHONE, "021-62345678", "+862162345678"),
    (T.EMAIL, "Li@Example.COM", "li@example.com"),
    (T.URL, "example.com/a", "https://example.com/a"),
    (T.CHOICE, "b", "B"),
    (T.MULTI_CHOICE, "C、A", ["A", "C"]),
    (T.MULTI_CHOICE, ["A", "A"], ["A"]),
    (T.TEXT, "", None),
    (T.MULTI_CHOICE, [], None),
])
def test_it_parses_each_type_to_its_stored_form(field_type, raw, stored):
    assert types.parse(definition(field_type, ["A", "B", "C"]), raw) == stored


@pytest.mark.parametrize(("field_type", "raw", "words"), [
    (T.INTEGER, "12.5", "whole number"),
    (T.INTEGER, True, "whole number"),
    (T.DECIMAL, "abc", "not a number"),
    (T.MONEY, "很多", "not an amount"),
    (T.DATE, "2026-13-01", "not a date"),
    (T.DATETIME, "tomorrow", "not a date and time"),
    (T.BOOLEAN, "maybe", "yes or no"),
    (T.PHONE, "12345", "not a valid phone number"),
    (T.EMAIL, "li@", "not a valid email"),
    (T.URL, "ftp://x", "not a web address"),
    (T.CHOICE, "D", "not one of the options"),
    (T.MULTI_CHOICE, "A, D", "Not among the options: D"),
    (T.TEXT, "x" * 501, "at most 500"),
])
def test_it_refuses_what_is_not_of_the_type_in_words_a_person_can_act_on(field_type, raw, words, settings):
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"), pytest.raises(types.ValueProblem, match=words):
        types.parse(definition(field_type, ["A", "B", "C"]), raw)


def test_it_shows_stored_values_as_people_read_them():
    assert types.display(definition(T.MONEY), 50000) == "¥50,000.00"
    assert types.display(definition(T.DATETIME), "2026-12-01T00:30:00Z") == "2026-12-01 08:30"
    assert types.display(definition(T.MULTI_CHOICE), ["A", "C"]) == "A、C"
    assert types.api_value(definition(T.MONEY), 1234.5) == "1234.50"
    assert types.display(definition(T.TEXT), None) == ""


@pytest.fixture
def field(org):
    return custom_field_create(target="leads.Lead", key="sub_industry", field_type=T.CHOICE, actor=org.admin,
                               data={"label_zh": "细分行业", "label_en": "Sub-industry", "options": "制造\n零售\n服务",
                                     "required_channels": ["web"], "section": "画像"})


def test_it_adds_a_field_audited_and_refuses_a_bad_one_with_every_problem(org, field):
    assert field.options == ["制造", "零售", "服务"]
    entry = audit_trail(field).get()
    assert entry.action == "custom_field.create" and entry.changes["key"] == [None, "sub_industry"]
    with pytest.raises(ValidationFailed) as refused:
        custom_field_create(target="leads.Lead", key="Sub Industry", field_type=T.CHOICE, actor=org.admin,
                            data={"label_zh": "", "options": "", "default": "x"})
    assert set(refused.value.field_errors) >= {"key", "label_zh", "options"}
    with pytest.raises(ValidationFailed) as taken:
        custom_field_create(target="leads.Lead", key="sub_industry", field_type=T.TEXT, actor=org.admin,
                            data={"label_zh": "又一个"})
    assert "key" in taken.value.field_errors
    with pytest.raises(ValidationFailed) as wrong_default:
        custom_field_create(target="leads.Lead", key="headcount", field_type=T.INTEGER, actor=org.admin,
                            data={"label_zh": "人数", "default": "很多"})
    assert "default" in wrong_default.value.field_errors


def test_only_administrators_manage_fields(org, field):
    for person in (org.manager, org.owner):
        with pytest.raises(Forbidden):
            custom_field_create(target="leads.Lead", key="x", field_type=T.TEXT, data={"label_zh": "x"}, actor=person)
        with pytest.raises(Forbidden):
            custom_field_hide(field=field, hidden=True, actor=person)


def test_a_type_change_converts_what_it_can_and_refuses_with_count_and_examples(org, field, make_lead):
    amount = custom_field_create(target="leads.Lead", key="volume", field_type=T.TEXT, actor=org.admin,
                                 data={"label_zh": "采购量"})
    leads = [make_lead(custom={"volume": text}) for text in ["120", "3000", "很多", "不详"]]
    with pytest.raises(ValidationFailed) as refused:
        custom_field_update(field=amount, field_type=T.INTEGER, data={}, actor=org.admin)
    assert refused.value.details["count"] == 2
    assert "“很多”" in refused.value.message and "“不详”" in refused.value.message
    amount.refresh_from_db()
    assert amount.type == T.TEXT
    leads[0].refresh_from_db()
    assert leads[0].custom["volume"] == "120"

    for lead in leads[2:]:
        lead.custom = {}
        lead.save(update_fields=["custom"])
    custom_field_update(field=amount, field_type=T.INTEGER, data={}, actor=org.admin)
    leads[1].refresh_from_db()
    assert leads[1].custom["volume"] == 3000
    entry = audit_trail(amount).first()
    assert entry.action == "custom_field.convert" and entry.changes["type"] == ["text", "integer"]
    assert "2" in entry.note


def test_dropping_an_option_in_use_is_refused(org, field, make_lead):
    make_lead(custom={"sub_industry": "零售"})
    with pytest.raises(ValidationFailed, match="1"):
        custom_field_update(field=field, data={"options": "制造\n服务"}, actor=org.admin)
    custom_field_update(field=field, data={"options": "制造\n零售\n服务\n物流"}, actor=org.admin)
    field.refresh_from_db()
    assert field.options[-1] == "物流"


def test_hiding_keeps_values_and_history(org, field, make_lead):
    lead = make_lead(custom={"sub_industry": "制造"})
    custom_field_hide(field=field, hidden=True, actor=org.admin)
    assert registry.definitions("leads.Lead") == []
    lead.refresh_from_db()
    assert lead.custom == {"sub_industry": "制造"}
    rows = labelled_changes([audit_trail(lead).filter(action="lead.create").get()])
    assert any(row["label"] == field.label and row["new"] == "制造" for row in next(iter(rows.values())))
    custom_field_hide(field=field, hidden=False, actor=org.admin)
    assert [f.key for f in registry.definitions("leads.Lead")] == ["sub_industry"]


def test_clean_custom_reports_every_problem_and_honours_edit_rights(org, field):
    secret = custom_field_create(target="leads.Lead", key="credit_limit", field_type=T.MONEY, actor=org.admin,
                                 data={"label_zh": "授信额度", "view_roles": ["sales_manager"],
                                       "edit_roles": ["sales_manager"]})
    values, errors = registry.clean_custom("leads.Lead", {"sub_industry": "航天", "nope": 1, "credit_limit": "5万"},
                                           channel="web", actor=org.owner, creating=True)
    assert set(errors) == {"custom.sub_industry", "custom.nope", "custom.credit_limit"}
    values, errors = registry.clean_custom("leads.Lead", {"credit_limit": "5万"}, channel="api",
                                           actor=org.manager, creating=True)
    assert values == {"credit_limit": 50000} and errors == {}
    values, errors = registry.clean_custom("leads.Lead", {}, channel="web", actor=org.owner, creating=True)
    assert errors == {"custom.sub_industry": ["This field is required."]} or "custom.sub_industry" in errors
    assert registry.visible_values("leads.Lead", {"credit_limit": 1, "sub_industry": "制造"}, org.owner) == {
        "sub_industry": "制造"}
    assert registry.may_see(secret, org.admin) and not registry.may_see(secret, org.owner)


@pytest.mark.django_db(transaction=True)
def test_the_filter_index_serves_the_list_filter(org, make_lead):
    field = custom_field_create(target="leads.Lead", key="tier", field_type=T.CHOICE, actor=org.admin,
                                data={"label_zh": "等级", "options": ["金", "银"]})
    gold = make_lead(custom={"tier": "金"})
    make_lead(custom={"tier": "银"})
    make_lead()
    custom_field_index(field=field, indexed=True, actor=org.admin)
    assert indexes.index_exists("leads.Lead", "tier")
    from closeloop.leads.models import Lead

    narrowed = indexes.value_filter(Lead.objects.all(), field, "金")
    assert list(narrowed) == [gold]
    sql, params = narrowed.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row) for row in cursor.fetchall())
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = on")
    assert indexes.index_name(Lead, "tier") in plan
    custom_field_index(field=field, indexed=False, actor=org.admin)
    assert not indexes.index_exists("leads.Lead", "tier")


def test_ranges_filter_numbers_and_dates_in_order(org, make_lead):
    from closeloop.leads.models import Lead

    size = custom_field_create(target="leads.Lead", key="headcount", field_type=T.INTEGER, actor=org.admin,
                               data={"label_zh": "人数"})
    since = custom_field_create(target="leads.Lead", key="since", field_type=T.DATETIME, actor=org.admin,
                                data={"label_zh": "起始"})
    small = make_lead(custom={"headcount": "9", "since": "2026-01-02 10:00"})
    big = make_lead(custom={"headcount": "100", "since": "2025-12-31 10:00"})
    assert list(indexes.value_filter(Lead.objects.all(), size, 10, "gte")) == [big]
    moment = types.parse(since, datetime(2026, 1, 1, tzinfo=UTC))
    assert list(indexes.value_filter(Lead.objects.all(), since, moment, "gte")) == [small]


def test_settings_pages_for_the_administrator_only(client, org, field):
    for person in (org.manager, org.owner):
        client.force_login(person)
        assert client.get(reverse("custom_field_list")).status_code == 404
    client.force_login(org.admin)
    page = client.get(reverse("custom_field_list") + "?target=leads.Lead")
    assert field.label in page.content.decode()
    # The field's name column is not the scoring rules' "规则名称" (rule name) it once borrowed.
    body = client.get(reverse("custom_field_list") + "?target=leads.Lead", HTTP_ACCEPT_LANGUAGE="zh-hans").content
    assert "<th>字段名称</th>" in body.decode() and "规则名称" not in body.decode()
    response = client.post(reverse("custom_field_create"), {
        "target": "leads.Lead", "key": "budget_year", "label_zh": "预算年度", "type": "integer", "position": "5"})
    assert response.status_code == 302
    created = CustomField.objects.get(key="budget_year")
    response = client.post(reverse("custom_field_edit", args=[created.pk]), {
        "label_zh": "预算年份", "type": "integer", "position": "5", "view_roles": ["sales_manager"]})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.label_zh == "预算年份" and created.view_roles == ["sales_manager"] and created.key == "budget_year"
    page = client.post(reverse("custom_field_edit", args=[created.pk]), {"label_zh": "", "type": "integer"})
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    client.post(reverse("custom_field_hide", args=[created.pk]), {"hidden": "1"})
    created.refresh_from_db()
    assert created.hidden


def test_a_person_column_names_its_people_in_one_query_for_the_whole_page(client, org, make_lead):
    """A list's column of a person field: its cells' names are read once for the page, not once a row."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    custom_field_create(target="leads.Lead", key="presales", field_type=T.USER, actor=org.admin,
                        data={"label_zh": "售前", "list_column": True})
    people = [org.owner, org.manager, org.admin, org.teammate]
    client.force_login(org.admin)

    def queries_for_the_list() -> int:
        with CaptureQueriesContext(db) as captured:
            page = client.get(reverse("leads:list"))
        assert page.status_code == 200
        return len(captured)

    make_lead(custom={"presales": org.owner.pk})
    one = queries_for_the_list()
    for person in people[1:]:
        make_lead(custom={"presales": person.pk})
    page = client.get(reverse("leads:list")).content.decode()
    assert all(str(person) in page for person in people)
    assert queries_for_the_list() == one


def test_the_trail_shows_every_custom_change_naming_people_in_one_query(org, make_lead, django_assert_num_queries):
    """A key ending in `_key` is a custom field like any other (only built-in `*_key` columns are internal), and
    the people a person field held are named in one query for the whole timeline."""
    custom_field_create(target="leads.Lead", key="license_key", field_type=T.TEXT, actor=org.admin,
                        data={"label_zh": "许可证号"})
    custom_field_create(target="leads.Lead", key="presales", field_type=T.USER, actor=org.admin,
                        data={"label_zh": "售前"})
    leads = [make_lead(custom={"license_key": f"LIC-{n}", "presales": person.pk})
             for n, person in enumerate([org.owner, org.manager, org.teammate])]
    entries = [audit_trail(lead).filter(action="lead.create").get() for lead in leads]
    with django_assert_num_queries(2):  # the leads' source, and the people
        rows = labelled_changes(entries)
    for entry, person in zip(entries, [org.owner, org.manager, org.teammate], strict=True):
        shown = {row["label"]: row["new"] for row in rows[entry.pk]}
        assert shown["许可证号"].startswith("LIC-") and shown["售前"] == str(person)


@pytest.mark.django_db(transaction=True)
def test_the_filter_index_gives_the_list_its_page_in_order(org, make_lead):
    """The index holds the list's order after the value: a filtered list's page is read from it in order, not by
    scanning the newest records for matches (a rare value's 20th page) nor by sorting every match."""
    from closeloop.leads.models import Lead
    from closeloop.leads.selectors import LeadFilters, lead_list

    field = custom_field_create(target="leads.Lead", key="tier", field_type=T.CHOICE, actor=org.admin,
                                data={"label_zh": "等级", "options": ["金", "银"]})
    leads = [make_lead(custom={"tier": "金" if n % 2 else "银"}) for n in range(6)]
    custom_field_index(field=field, indexed=True, actor=org.admin)
    listed = lead_list(user=org.admin, filters=LeadFilters(custom=((field, "eq", "金", "金"),)))
    assert list(listed) == sorted((lead for lead in leads if lead.custom == {"tier": "金"}),
                                  key=lambda lead: (lead.created_at, lead.pk), reverse=True)
    sql, params = listed.all()[:25].query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = on")
    assert indexes.index_name(Lead, "tier") in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
