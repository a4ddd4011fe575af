"""Custom fields on leads: the manual form, the edit form, the detail page and the public web form, validated by
type with every error at once, field-level permission, and the trail labelling each change."""

import pytest
from django.urls import reverse

from closeloop.core.audit import audit_trail
from closeloop.core.customfields.services import custom_field_create
from closeloop.core.errors import ValidationFailed
from closeloop.core.models import Channel
from closeloop.leads.models import Campaign, Lead
from closeloop.leads.services.editing import lead_update
from closeloop.leads.services.intake import lead_submit

BASE = {"company_name": "杭州云帆网络科技有限公司", "contact_name": "周敏", "mobile": "13812345678", "source": "官网"}


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def fields(org):
    industry = custom_field_create(
        target="leads.Lead", key="sub_industry", field_type="choice", actor=org.admin,
        data={"label_zh": "细分行业", "label_en": "Sub-industry", "options": "汽车零部件\n电子\n医药",
              "required_channels": ["web"], "section": "Profile", "public": True})
    headcount = custom_field_create(target="leads.Lead", key="headcount", field_type="integer", actor=org.admin,
                                    data={"label_zh": "员工人数", "label_en": "Headcount", "default": "10"})
    limit = custom_field_create(target="leads.Lead", key="credit_limit", field_type="money", actor=org.admin,
                                data={"label_zh": "授信额度", "label_en": "Credit limit",
                                      "view_roles": ["sales_manager"], "edit_roles": ["sales_manager"]})
    return industry, headcount, limit


def test_intake_stores_typed_values_with_defaults_and_audits_them_by_label(org, fields):
    lead = lead_submit(data={**BASE, "custom": {"sub_industry": "电子"}}, channel=Channel.WEB, actor=org.owner).lead
    lead.refresh_from_db()
    assert lead.custom == {"sub_industry": "电子", "headcount": 10}
    entry = audit_trail(lead).get(action="lead.create")
    assert entry.changes["custom.sub_industry"] == [None, "电子"]


def test_every_problem_is_reported_at_once_with_the_built_in_ones(org, fields):
    with pytest.raises(ValidationFailed) as refused:
        lead_submit(data={**BASE, "mobile": "123", "custom": {"headcount": "很多", "credit_limit": "5万"}},
                    channel=Channel.WEB, actor=org.owner)
    assert set(refused.value.field_errors) == {"mobile", "custom.headcount", "custom.credit_limit",
                                               "custom.sub_industry"}
    assert "whole number" in refused.value.field_errors["custom.headcount"][0]
    # The API is not the web: the field is required on the web only, and a manager may set the credit limit.
    lead = lead_submit(data={**BASE, "custom": {"credit_limit": "5万"}}, channel=Channel.API, actor=org.manager).lead
    assert lead.custom["credit_limit"] == 50000


def test_an_edit_keeps_what_it_does_not_send_and_refuses_a_field_the_editor_may_not_change(org, fields, make_lead):
    lead = make_lead(custom={"sub_industry": "电子"}, actor=org.manager, channel=Channel.API)
    lead_update(lead=lead, data={"custom": {"headcount": "250"}}, actor=org.owner, channel=Channel.WEB)
    lead.refresh_from_db()
    assert lead.custom == {"sub_industry": "电子", "headcount": 250}
    with pytest.raises(ValidationFailed) as refused:
        lead_update(lead=lead, data={"custom": {"credit_limit": "1000"}}, actor=org.owner, channel=Channel.WEB)
    assert list(refused.value.field_errors) == ["custom.credit_limit"]
    with pytest.raises(ValidationFailed):
        lead_update(lead=lead, data={"custom": {"sub_industry": ""}}, actor=org.owner, channel=Channel.WEB)
    entry = audit_trail(lead).filter(action="lead.update").first()
    assert entry.changes == {"custom.headcount": [10, 250]}


def test_manual_form_shows_the_fields_the_user_may_edit_and_saves_them(client, org, fields):
    client.force_login(org.owner)
    page = client.get(reverse("leads:create")).content.decode()
    assert 'name="custom.sub_industry"' in page and 'name="custom.headcount"' in page
    assert 'name="custom.credit_limit"' not in page
    response = client.post(reverse("leads:create"), {**BASE, "source": org.sources["官网"].pk,
                                                     "custom.sub_industry": "", "custom.headcount": "abc"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in body and "is not a whole number" in body
    response = client.post(reverse("leads:create"), {**BASE, "source": org.sources["官网"].pk,
                                                     "custom.sub_industry": "医药", "custom.headcount": "30"})
    assert response.status_code == 302
    lead = Lead.objects.get(company_name=BASE["company_name"])
    assert lead.custom == {"sub_industry": "医药", "headcount": 30}


def test_detail_page_and_timeline_show_only_the_fields_the_viewer_may_see(client, org, fields, make_lead):
    lead = make_lead(custom={"sub_industry": "电子", "credit_limit": "20万"}, actor=org.manager, channel=Channel.API)
    client.force_login(org.owner)
    page = client.get(lead.get_absolute_url()).content.decode()
    assert "Sub-industry" in page and "电子" in page
    assert "Credit limit" not in page and "200,000" not in page
    client.force_login(org.manager)
    page = client.get(lead.get_absolute_url()).content.decode()
    assert "Credit limit" in page and "¥200,000.00" in page
    client.force_login(org.outsider)
    assert client.get(lead.get_absolute_url()).status_code == 404


def test_edit_form_prefills_and_saves(client, org, fields, make_lead):
    lead = make_lead(custom={"sub_industry": "电子"}, actor=org.manager, channel=Channel.API)
    client.force_login(org.owner)
    page = client.get(reverse("leads:edit", args=[lead.pk])).content.decode()
    assert '<option value="电子" selected>' in page
    form = {name: getattr(lead, name) or "" for name in ["company_name", "contact_name", "mobile"]}
    response = client.post(reverse("leads:edit", args=[lead.pk]), {
        **form, "source": lead.source_id, "status": lead.status, "custom.sub_industry": "医药",
        "custom.headcount": "12"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.custom == {"sub_industry": "医药", "headcount": 12}


def test_public_form_shows_public_fields_only(client, org, fields):
    campaign = Campaign.objects.create(name="工博会", source=org.sources["展会"])
    url = reverse("public_form", args=[campaign.form_key])
    page = client.get(url).content.decode()
    assert 'name="custom.sub_industry"' in page and 'name="custom.headcount"' not in page
    response = client.post(url, {"company_name": "宁波某汽配有限公司", "contact_name": "王", "mobile": "13912345670",
                                 "custom.sub_industry": "汽车零部件", "custom.headcount": "99"})
    assert "There is no custom field" not in response.content.decode()
    lead = Lead.objects.get(company_name="宁波某汽配有限公司")
    # The visitor's value for a field not on the form is not taken; the default is.
    assert lead.custom == {"sub_industry": "汽车零部件", "headcount": 10}


@pytest.fixture
def token(org):
    from closeloop.core.services import api_token_create

    def make(user):
        raw, _token = api_token_create(user=user, name="t", actor=None)
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return make


def test_api_takes_typed_custom_values_and_refuses_bad_ones_with_every_error(client, org, fields, token):
    auth = token(org.manager)
    body = {**BASE, "mobile": "12", "custom": {"sub_industry": "航天", "headcount": 1.5, "nope": 1}}
    response = client.post("/api/leads/", body, content_type="application/json", **auth)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"mobile", "custom.sub_industry", "custom.headcount", "custom.nope"}
    body = {**BASE, "custom": {"sub_industry": "电子", "headcount": 40, "credit_limit": 200000.5}}
    response = client.post("/api/leads/", body, content_type="application/json", **auth)
    assert response.status_code == 201, response.json()
    answer = response.json()["lead"]["custom"]
    assert answer == {"sub_industry": "电子", "headcount": 40, "credit_limit": "200000.50"}
    lead_id = response.json()["lead"]["id"]
    from closeloop.leads.services.editing import lead_assign

    lead_assign(lead=Lead.objects.get(pk=lead_id), owner=org.owner, actor=org.admin)
    # The owner may not see the credit limit: it is not in their answers.
    owner_auth = token(org.owner)
    read = client.get(f"/api/leads/{lead_id}", **owner_auth).json()
    assert read["custom"] == {"sub_industry": "电子", "headcount": 40}
    listed = client.get("/api/leads/", **owner_auth).json()["items"][0]
    assert "credit_limit" not in listed["custom"]
    patched = client.patch(f"/api/leads/{lead_id}", {"custom": {"headcount": 41}}, content_type="application/json",
                           **owner_auth)
    assert patched.status_code == 200 and patched.json()["custom"]["headcount"] == 41
    refused = client.patch(f"/api/leads/{lead_id}", {"custom": {"credit_limit": 1}}, content_type="application/json",
                           **owner_auth)
    assert refused.status_code == 422 and list(refused.json()["fields"]) == ["custom.credit_limit"]


def test_definitions_endpoint_and_openapi_document_describe_the_fields(client, org, fields, token):
    auth = token(org.owner)
    listed = client.get("/api/custom-fields/?target=leads.Lead", **auth).json()
    assert [f["key"] for f in listed] == ["headcount", "sub_industry"] or {f["key"] for f in listed} == {
        "headcount", "sub_industry"}
    assert client.get("/api/custom-fields/?target=nope.Nope", **auth).status_code == 404
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    out = schemas["LeadOut"]["properties"]["custom"]
    assert out["additionalProperties"] is False
    assert out["properties"]["sub_industry"]["anyOf"][0]["enum"] == ["汽车零部件", "电子", "医药"]
    assert out["properties"]["headcount"]["anyOf"][0] == {"type": "integer"}
    assert out["properties"]["credit_limit"]["anyOf"][0]["type"] == "string"
    created = schemas["LeadIn"]["properties"]["custom"]
    assert created["anyOf"][0]["properties"]["credit_limit"]["anyOf"][0]["anyOf"][0] == {"type": "number"}


@pytest.fixture
def tier(org):
    from closeloop.core.customfields.services import custom_field_index

    field = custom_field_create(target="leads.Lead", key="tier", field_type="choice", actor=org.admin,
                                data={"label_zh": "客户分级", "label_en": "Tier", "options": "金\n银\n铜",
                                      "list_column": True})
    custom_field_index(field=field, indexed=True, actor=org.admin)
    return field


@pytest.mark.django_db(transaction=True)
def test_list_shows_the_column_and_filters_on_it(client, org, fields, tier, make_lead):
    gold = make_lead(company_name="金牌客户有限公司", custom={"tier": "金", "credit_limit": "1"}, actor=org.manager,
                     channel=Channel.API)
    make_lead(company_name="银牌客户有限公司", custom={"tier": "银"})
    client.force_login(org.owner)
    page = client.get(reverse("leads:list") + "?cf.tier=金").content.decode()
    assert "金牌客户有限公司" in page and "银牌客户有限公司" not in page
    assert 'name="cf.tier"' in page and ">Tier</th>" in page
    # A filter on a field the viewer may not see is ignored, not an oracle of its values.
    page = client.get(reverse("leads:list") + "?cf.credit_limit=1").content.decode()
    assert "银牌客户有限公司" in page
    assert gold.pk


def test_export_has_the_custom_columns_the_viewer_may_see(client, org, fields, make_lead):
    import csv
    import io

    make_lead(custom={"sub_industry": "医药", "credit_limit": "30000"}, actor=org.manager, channel=Channel.API)
    client.force_login(org.owner)
    body = b"".join(client.get(reverse("leads:export") + "?format=csv").streaming_content).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(body)))[:2]
    assert "Sub-industry" in header and "Credit limit" not in header
    assert row[header.index("Sub-industry")] == "医药"
    client.force_login(org.manager)
    body = b"".join(client.get(reverse("leads:export") + "?format=csv").streaming_content).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(body)))[:2]
    assert row[header.index("Credit limit")] == "¥30,000.00"


def test_import_maps_custom_columns_by_label_and_refuses_bad_values(org, fields, settings, tmp_path,
                                                                     django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from closeloop.core.tests.sheets import xlsx_bytes
    from closeloop.leads.models import ImportRefusal
    from closeloop.leads.services.importing import import_job_create, import_job_run, import_job_start

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    rows = [["上海甲科技有限公司", "张三", "13912345678", "电子", "120"],
            ["北京乙公司", "李四", "13912345679", "航天", "很多"]]
    data = xlsx_bytes(rows, headers=["公司名称", "联系人", "手机", "细分行业", "Headcount"])
    job = import_job_create(upload=SimpleUploadedFile("leads.xlsx", data), actor=org.owner)
    assert job.mapping == ["company_name", "contact_name", "mobile", "custom.sub_industry", "custom.headcount"]
    import_job_start(job=job, mapping=job.mapping, actor=org.owner, default_source=org.sources["展会"],
                     merge_duplicates=False)
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_run(job_id=job.pk)
    assert (job.imported_rows, job.refused_rows) == (1, 1)
    assert Lead.objects.get(contact_name="张三").custom == {"sub_industry": "电子", "headcount": 120}
    refusal = ImportRefusal.objects.get(job=job)
    assert set(refusal.errors) == {"custom.sub_industry", "custom.headcount"}


def test_an_import_row_is_refused_with_every_problem_at_once_as_on_other_channels(org, fields):
    """A row with a bad phone and a bad custom value names both, as lead_submit and the import's preview do:
    fixing the phone alone would only have it refused again."""
    from closeloop.leads.services.batch import lead_submit_batch

    refused = []
    row = {**BASE, "mobile": "123", "custom": {"headcount": "很多"}}
    lead_submit_batch(rows=[(1, row)], channel=Channel.IMPORT, actor=org.owner,
                      on_chunk=lambda outcome: refused.extend(outcome.refused))
    assert [(key, set(errors)) for key, errors in refused] == [(1, {"mobile", "custom.headcount"})]


def test_a_person_column_costs_the_list_one_query_however_many_rows(client, org, make_lead):
    """A person field shown in the list names each row's person from one read of the page's people, not a query
    per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    custom_field_create(target="leads.Lead", key="presales", field_type="user", actor=org.admin,
                        data={"label_zh": "售前", "label_en": "Pre-sales", "list_column": True})
    people = [org.owner, org.teammate, org.manager]

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("leads:list")).content.decode()
        assert all(str(person) in page for person in people)
        return len(captured)

    for person in people:
        make_lead(custom={"presales": person.username})
    client.force_login(org.admin)
    few = queries()
    for person in people * 3:
        make_lead(custom={"presales": person.username})
    assert queries() == few


def test_the_api_answer_without_pydantic_is_what_lead_out_gives(org, fields):
    """`api._serialize` builds the intake's answer by hand: it must equal LeadOut's, value for value and in
    order, for a lead fresh from the intake (in memory), reloaded, on a touch, with a campaign and a budget,
    with custom values a reader may or may not see."""
    from types import SimpleNamespace

    from closeloop.leads.api import LeadOut, _serialize
    from closeloop.leads.models import Campaign, LeadSource

    campaign = Campaign.objects.create(name="春季展会", source=LeadSource.objects.get(name="官网"))
    submitted = [
        lead_submit(data={**BASE, "budget": "50000.5", "title": "采购经理", "need": "需要CRM",
                          "custom": {"sub_industry": "电子", "headcount": 40, "credit_limit": 200000.5}},
                    channel=Channel.API, actor=org.manager, campaign=campaign),
        lead_submit(data={**BASE, "mobile": "13812345679", "company_name": "某某", "email": "a@b.cn"},
                    channel=Channel.API, actor=org.admin),
        # The same contact again: a touch on the lead on record, rescored.
        lead_submit(data={**BASE, "budget": "50000.5"}, channel=Channel.API, actor=org.admin),
    ]
    leads = [result.lead for result in submitted]
    leads += [Lead.objects.get(pk=lead.pk) for lead in leads]
    assert not submitted[2].created and any(lead.campaign_id for lead in leads)
    assert any(lead.budget is not None and lead.score_details for lead in leads)
    for user in (org.admin, org.owner, org.manager):
        request = SimpleNamespace(user=user)
        for lead in leads:
            expected = LeadOut.model_validate(lead, context={"request": request}).model_dump(mode="json")
            assert list(_serialize(lead, request).items()) == list(expected.items())
