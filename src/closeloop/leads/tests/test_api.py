"""The leads API: intake with idempotency, the error shape, and the OpenAPI document."""

import pytest

from closeloop.core.models import AuditEntry, Channel
from closeloop.core.services import api_token_create
from closeloop.leads.models import Lead

PAYLOAD = {"company_name": "杭州远景科技有限公司", "contact_name": "李娜", "mobile": "+86 139-1234-0001", "source": "官网"}


@pytest.fixture
def auth(org):
    raw, _token = api_token_create(user=org.owner, name="t", actor=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, auth, payload=PAYLOAD, key=None):
    headers = dict(auth)
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post("/api/leads/", payload, content_type="application/json", **headers)


def test_it_creates_a_lead_through_the_intake_service(client, org, auth):
    response = post(client, auth)
    assert response.status_code == 201
    body = response.json()
    lead = Lead.objects.get(pk=body["lead"]["id"])
    assert lead.mobile_key == "+8613912340001" and lead.created_via == Channel.API
    assert AuditEntry.objects.for_object(lead).get().channel == Channel.API


def test_a_retried_request_with_the_same_key_returns_the_first_answer(client, org, auth):
    first = post(client, auth, key="retry-1")
    second = post(client, auth, key="retry-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Lead.objects.count() == 1


def test_a_reused_key_with_another_body_is_a_conflict(client, org, auth):
    post(client, auth, key="retry-2")
    response = post(client, auth, {**PAYLOAD, "contact_name": "王强"}, key="retry-2")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Lead.objects.count() == 1


def test_keys_belong_to_their_user(client, org, auth):
    post(client, auth, key="shared-key")
    raw, _token = api_token_create(user=org.teammate, name="t", actor=None)
    response = post(client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}, {**PAYLOAD, "mobile": "13912340002"}, key="shared-key")
    assert response.status_code == 201
    assert Lead.objects.count() == 2


def test_invalid_values_come_back_field_by_field(client, org, auth):
    response = post(client, auth, {**PAYLOAD, "mobile": "12", "email": "nope"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert set(body["fields"]) == {"mobile", "email"}
    assert not Lead.objects.exists()


def test_a_doubled_country_code_is_refused_with_what_to_type_instead(client, org, auth):
    # What the intake bench's 422s were: a +86 number pasted after another +86.
    response = post(client, {**auth, "HTTP_ACCEPT_LANGUAGE": "zh-hans"}, {**PAYLOAD, "mobile": "+86 +86 139 1234 0001"},
                    key="twice")
    assert response.status_code == 422
    assert response.json()["fields"]["mobile"] == ["“+86 +86 139 1234 0001”中国家代码 86 写了两遍；只写一遍：+86 139 1234 0001。"]
    assert post(client, auth, {**PAYLOAD, "mobile": "+86 139 1234 0001"}, key="once").status_code == 201


def test_schema_errors_use_the_same_shape_with_their_own_code(client, org, auth):
    response = post(client, auth, {"company_name": "x" * 500})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "request_invalid" and "company_name" in body["fields"] and "source" in body["fields"]


@pytest.mark.parametrize(("change", "field"), [
    ({"assign_to_me": 1}, "assign_to_me"), ({"assign_to_me": "true"}, "assign_to_me"),
    ({"budget": ""}, "budget"), ({"budget": 12.345}, "budget"), ({"budget": True}, "budget"),
])
def test_values_the_document_calls_invalid_are_refused_not_coerced(client, org, auth, change, field):
    response = post(client, auth, {**PAYLOAD, **change})
    assert response.status_code == 422 and field in response.json()["fields"]


def test_a_body_that_is_not_an_object_or_not_json_is_refused(client, org, auth):
    listed = client.post("/api/leads/", "[1, 2]", content_type="application/json", **auth)
    assert listed.status_code == 422 and listed.json()["code"] == "request_invalid"
    garbage = client.post("/api/leads/", "{nope", content_type="application/json", **auth)
    assert garbage.status_code == 400 and garbage.json()["code"] == "malformed_request"


def test_a_date_filter_takes_only_a_date(client, org, auth):
    assert client.get("/api/leads/?created_to=0", **auth).status_code == 422
    assert client.get("/api/leads/?created_to=2026-01-31", **auth).status_code == 200


def test_every_operation_declares_the_errors_any_request_may_meet(client, db):
    schema = client.get("/api/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            if operation.get("security"):  # a token route; a signed callback (e-signature) has none
                assert {"401", "429"} <= codes, (method, path)
            if operation.get("requestBody"):
                assert {"400", "422"} <= codes, (method, path)


@pytest.mark.parametrize("header", ["", "Bearer nope", "Token abc"])
def test_it_requires_a_valid_token(client, org, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post("/api/leads/", PAYLOAD, content_type="application/json", **extra)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_a_revoked_token_stops_working(client, org):
    from closeloop.core.services import api_token_revoke

    raw, token = api_token_create(user=org.owner, name="t", actor=None)
    api_token_revoke(token=token, actor=org.owner)
    assert client.get("/api/leads/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_list_filters_and_pages(client, org, auth, make_lead):
    for _ in range(3):
        make_lead(city="苏州")
    make_lead(city="杭州", status="qualified")
    response = client.get("/api/leads/?page_size=2&page=1", **auth)
    body = response.json()
    assert len(body["items"]) == 2 and body["has_next"] is True
    body = client.get("/api/leads/?page_size=2&page=2", **auth).json()
    assert len(body["items"]) == 2 and body["has_next"] is False
    found = client.get("/api/leads/?q=13912340001", **auth).json()["items"]
    assert [item["mobile"] for item in found] == ["13912340001"]


def test_patch_is_audited_with_the_api_channel(client, org, auth, make_lead):
    lead = make_lead()
    response = client.patch(f"/api/leads/{lead.pk}", {"city": "南京", "status": "contacting"},
                            content_type="application/json", **auth)
    assert response.status_code == 200
    assert response.json()["city"] == "南京"
    entry = AuditEntry.objects.for_object(lead).filter(action="lead.update").get()
    assert entry.channel == Channel.API and entry.changes["status"] == ["assigned", "contacting"]


def test_the_openapi_document_declares_every_answer(client, db):
    spec = client.get("/api/openapi.json").json()
    create = spec["paths"]["/api/leads/"]["post"]
    assert {"201", "401", "409", "422"} <= set(create["responses"])
    detail = spec["paths"]["/api/leads/{lead_id}"]
    assert {"200", "401", "404"} <= set(detail["get"]["responses"])
    assert {"200", "401", "404", "422"} <= set(detail["patch"]["responses"])


def test_the_api_says_where_a_lead_without_owner_went_and_a_rep_may_keep_it(client, org, auth):
    body = {"company_name": "成都天成电子有限公司", "contact_name": "周杰", "mobile": "13800138111", "need": "需要CRM",
            "budget": "200000", "source": "展会"}
    pooled = client.post("/api/leads/", data=body, content_type="application/json", **auth).json()
    assert pooled["lead"]["owner"] is None
    assert any("public pool" in message for message in pooled["messages"])
    kept = client.post("/api/leads/", data={**body, "mobile": "13800138112", "company_name": "杭州远景实业有限公司",
                                            "assign_to_me": True},
                       content_type="application/json", **auth).json()
    assert kept["lead"]["owner"] == org.owner.username and kept["messages"] == []


@pytest.mark.parametrize("text", ["Acme\x00", "Acme\ud800"])
def test_text_the_database_cannot_store_is_refused_in_body_and_query(client, org, auth, text):
    response = post(client, auth, {**PAYLOAD, "company_name": text})
    assert response.status_code == 422 and "company_name" in response.json()["fields"]
    assert not Lead.objects.exists()
    if "\x00" in text:
        listed = client.get("/api/leads/", {"q": text}, **auth)
        assert listed.status_code == 422 and listed.json()["code"] == "validation_failed"


def test_sources_list_the_values_a_lead_may_name(client, org, auth):
    org.sources["广告"].active = False
    org.sources["广告"].save()
    names = [source["name"] for source in client.get("/api/leads/sources", **auth).json()]
    assert names == ["展会", "官网", "朋友介绍", "电话", "微信"]


@pytest.mark.parametrize(("who", "seen"), [("marketer", ["春季展会"]), ("admin", ["官网投放", "春季展会"]),
                                           ("owner", []), ("manager", []), ("outsider", [])])
def test_campaigns_are_listed_as_their_pages_show_them(client, org, who, seen):
    from closeloop.leads.models import Campaign

    Campaign.objects.create(name="春季展会", source=org.sources["展会"])
    Campaign.objects.create(name="官网投放", source=org.sources["官网"])
    raw, _token = api_token_create(user=getattr(org, who), name="t", actor=None)
    body = client.get("/api/leads/campaigns", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert [item["name"] for item in body["items"]] == seen


@pytest.mark.parametrize(("who", "read", "log"), [("owner", 200, 201), ("manager", 200, 201), ("teammate", 404, 404),
                                                  ("outsider", 404, 404)])
def test_a_leads_follow_ups_are_read_and_logged_as_on_its_page(client, org, make_lead, who, read, log):
    from closeloop.followup.models import Activity

    lead = make_lead()
    raw, _token = api_token_create(user=getattr(org, who), name="t", actor=None)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    logged = client.post(f"/api/leads/{lead.pk}/activities", {"kind": "call", "content": "电话沟通需求"},
                         content_type="application/json", **auth)
    assert logged.status_code == log
    listed = client.get(f"/api/leads/{lead.pk}/activities", **auth)
    assert listed.status_code == read
    if log == 201:
        assert [item["content"] for item in listed.json()["items"]] == ["电话沟通需求"]
        activity = Activity.objects.for_record(lead).get()
        assert activity.channel == Channel.API and activity.actor == getattr(org, who)
        lead.refresh_from_db()
        assert lead.status == "contacting"
        assert AuditEntry.objects.for_object(lead).filter(action="activity.log", channel=Channel.API).exists()
