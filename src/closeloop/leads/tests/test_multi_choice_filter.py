"""A multiple-choice custom field filters the leads list by “has any of the chosen options” (#13): per role, through
visibility and field-level permission, with the index (PostgreSQL's GIN, SQLite's side table kept by triggers) and
without it, by ids or by probes, in the page, its export and a saved view."""

import io
import random

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from closeloop.core.customfields import indexes
from closeloop.core.customfields.services import custom_field_create, custom_field_index, custom_field_update
from closeloop.core.models import Channel
from closeloop.leads.models import Lead
from closeloop.leads.services.editing import lead_update

OPTIONS = ["展会", "官网", "转介绍", "电销"]
VIEWERS = ("owner", "teammate", "manager", "other_manager", "outsider", "admin")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def interests(org):
    field = custom_field_create(target="leads.Lead", key="interests", field_type="multi_choice", actor=org.admin,
                                data={"label_zh": "意向渠道", "label_en": "Interests", "options": "\n".join(OPTIONS),
                                      "list_column": True})
    secret = custom_field_create(target="leads.Lead", key="secret_tags", field_type="multi_choice", actor=org.admin,
                                 data={"label_zh": "内部标签", "label_en": "Internal tags", "options": "甲\n乙",
                                       "view_roles": ["sales_manager"], "list_column": True})
    return field, secret


@pytest.fixture
def leads(org, make_lead, interests):
    """Leads of the owner, the teammate and the other team's rep, with every subset of two options and none."""
    made = []
    rng = random.Random(13)
    for owner in (org.owner, org.teammate, org.outsider):
        for values in ([], ["展会"], ["官网"], ["展会", "官网"], ["转介绍", "电销"], ["电销"]):
            lead = make_lead(owner=owner, custom={"interests": values, "secret_tags": rng.sample(["甲", "乙"], 1)}
                             if values else {})
            made.append(lead)
    return made


def holding(user, chosen, key="interests") -> set[int]:
    """What the filter must list: the leads `user` may see whose value holds one of `chosen`, read in Python."""
    return {lead.pk for lead in Lead.objects.visible_to(user)
            if set((lead.custom or {}).get(key) or []) & set(chosen)}


def listed(client, user, query: str) -> set[int]:
    client.force_login(user)
    response = client.get(reverse("leads:list") + "?" + query + "&page=1")
    assert response.status_code == 200
    return {lead.pk for lead in response.context["page"]["rows"]}


def exported(client, user, query: str) -> set[str]:
    client.force_login(user)
    response = client.get(reverse("leads:export") + "?" + query)
    assert response.status_code == 200
    header, *rows = load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True)
    return {row[header.index("公司名称")] for row in rows}


@pytest.mark.parametrize("indexed", [False, True], ids=["no-index", "indexed"])
@pytest.mark.parametrize("limit", [0, 10_000], ids=["probes", "ids"])
def test_each_role_lists_the_leads_it_may_see_holding_any_chosen_option(client, org, interests, leads, indexed, limit,
                                                                         monkeypatch):
    monkeypatch.setattr(indexes, "CANDIDATES_LIMIT", limit)
    if indexed:
        custom_field_index(field=interests[0], indexed=True, actor=org.admin)
    for name in VIEWERS:
        user = getattr(org, name)
        for chosen in (["展会"], ["展会", "电销"], ["官网", "转介绍"], OPTIONS):
            expected = holding(user, chosen)
            repeated = "&".join(f"cf.interests={option}" for option in chosen)
            assert listed(client, user, repeated) == expected, (name, chosen)
            assert listed(client, user, "cf.interests=" + ",".join(chosen)) == expected, (name, chosen)
        assert holding(user, ["展会", "电销"]) or name == "marketer"
    # Not an option: no filter, as a single choice's unknown value.
    assert listed(client, org.admin, "cf.interests=短信") == {lead.pk for lead in leads}


def test_the_index_follows_every_write(org, interests, leads, make_lead):
    """The side table (SQLite) or GIN index (PostgreSQL) gives what the records hold after inserts, service edits,
    bulk updates and deletes."""
    field = interests[0]
    custom_field_index(field=field, indexed=True, actor=org.admin)
    field.refresh_from_db()
    assert indexes.index_exists("leads.Lead", "interests")

    def filtered(chosen):
        return {lead.pk for lead in indexes.value_filter(Lead.objects.all(), field, chosen)}

    lead = leads[1]  # 展会
    lead_update(lead=lead, data={"custom": {"interests": ["电销"]}}, actor=org.admin, channel=Channel.WEB)
    assert lead.pk not in filtered(["展会"]) and lead.pk in filtered(["电销"])
    Lead.objects.filter(pk=leads[2].pk).update(custom={"interests": ["展会", "转介绍"]})
    assert leads[2].pk in filtered(["转介绍"]) and leads[2].pk not in filtered(["官网"])
    Lead.objects.filter(pk=leads[3].pk).update(custom=None)
    assert leads[3].pk not in filtered(OPTIONS)
    fresh = make_lead(custom={"interests": ["官网"]})
    assert fresh.pk in filtered(["官网"])
    gone = leads[4].pk
    Lead.objects.filter(pk=gone).delete()
    assert gone not in filtered(OPTIONS)
    assert filtered(OPTIONS) == {lead.pk for lead in Lead.objects.all()
                                 if set((lead.custom or {}).get("interests") or []) & set(OPTIONS)}
    # Switched off: the records' JSON answers, the same.
    custom_field_index(field=field, indexed=False, actor=org.admin)
    field.refresh_from_db()
    assert not indexes.index_exists("leads.Lead", "interests")
    assert fresh.pk in filtered(["官网"])


def test_a_field_the_viewer_may_not_see_filters_nothing_and_is_offered_to_whom_may(client, org, interests, leads):
    for field in interests:
        custom_field_index(field=field, indexed=True, actor=org.admin)
    everyone_owner_sees = {lead.pk for lead in Lead.objects.visible_to(org.owner)}
    assert listed(client, org.owner, "cf.secret_tags=甲") == everyone_owner_sees
    assert listed(client, org.manager, "cf.secret_tags=甲") == holding(org.manager, ["甲"], "secret_tags")
    client.force_login(org.owner)
    page = client.get(reverse("leads:list") + "?cf.interests=展会&cf.interests=电销").content.decode()
    assert 'name="cf.interests" value="展会" checked' in page and 'name="cf.interests" value="电销" checked' in page
    assert 'name="cf.interests" value="官网">' in page and "Interests: 展会、电销" in page
    assert "secret_tags" not in page
    client.force_login(org.manager)
    assert 'name="cf.secret_tags"' in client.get(reverse("leads:list")).content.decode()


def test_the_export_and_a_saved_view_keep_the_options(client, org, interests, leads):
    from closeloop.core.savedviews.lists import get_list, view_url
    from closeloop.core.savedviews.services import view_save

    custom_field_index(field=interests[0], indexed=True, actor=org.admin)
    for name in ("owner", "manager", "admin"):
        user = getattr(org, name)
        expected = {lead.company_name for lead in Lead.objects.filter(pk__in=holding(user, ["官网", "转介绍"]))}
        assert exported(client, user, "cf.interests=官网&cf.interests=转介绍") == expected
        assert exported(client, user, "cf.interests=官网,转介绍") == expected
    view = view_save(list_key="leads", name="官网或转介绍", shared=False, actor=org.manager,
                     filters="cf.interests=官网&cf.interests=转介绍")
    client.force_login(org.manager)
    response = client.get(view_url(get_list("leads"), view))
    assert {lead.pk for lead in response.context["page"]["rows"]} == holding(org.manager, ["官网", "转介绍"])


def test_changing_the_type_of_an_indexed_field_rebuilds_its_index(org, interests, leads):
    """A single choice made multiple keeps filtering, through the multiple choice's index."""
    single = custom_field_create(target="leads.Lead", key="grade", field_type="choice", actor=org.admin,
                                 data={"label_zh": "等级", "label_en": "Grade", "options": "A\nB"})
    custom_field_index(field=single, indexed=True, actor=org.admin)
    Lead.objects.filter(pk__in=[lead.pk for lead in leads[:4]]).update(custom={"grade": "A"})
    custom_field_update(field=single, data={}, field_type="multi_choice", actor=org.admin)
    single.refresh_from_db()
    assert single.type == "multi_choice" and Lead.objects.filter(custom__grade=["A"]).count() == 4
    assert {lead.pk for lead in indexes.value_filter(Lead.objects.all(), single, ["A"])} == {
        lead.pk for lead in leads[:4]}
