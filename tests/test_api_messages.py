"""A request that does not match the API document is answered in the person's language (zh-hans by default, English
on Accept-Language: en), each message naming the field and the limit it broke: pydantic's own messages are English
only ("String should have at most 200 characters") and say neither which field nor, in Chinese, anything at all."""

import pytest
from django.utils import translation

from closeloop.core.apischema import request_errors
from closeloop.core.services import api_token_create

LEAD = {"company_name": "杭州远景科技有限公司", "contact_name": "李娜", "mobile": "13912340001", "source": "官网"}


@pytest.fixture(autouse=True)
def site_in_chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"  # the site's default (the test settings use English)


@pytest.fixture
def auth(org):
    raw, _token = api_token_create(user=org.owner, name="t", actor=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def refused(response) -> dict[str, list[str]]:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "request_invalid"
    return body["fields"]


def test_a_too_long_field_and_a_missing_one_are_named_with_their_limit_in_chinese(client, org, auth):
    fields = refused(client.post("/api/leads/", {"company_name": "长" * 300, "contact_name": "李娜"},
                                 content_type="application/json", **auth))
    assert fields["company_name"] == ["“company_name”最多 200 个字符，请缩短。"]
    assert fields["source"] == ["“source”为必填项。"]


def test_english_on_request(client, org, auth):
    fields = refused(client.post("/api/leads/", {**LEAD, "company_name": "x" * 300}, content_type="application/json",
                                 HTTP_ACCEPT_LANGUAGE="en", **auth))
    assert fields == {"company_name": ["“company_name” may have at most 200 characters; shorten it."]}


@pytest.mark.parametrize(("change", "field", "expected"), [
    ({"budget": "12.345"}, "budget", "最多 2 位小数"),
    ({"budget": True}, "budget", "请填写数字"),
    ({"assign_to_me": 1}, "assign_to_me", "true 或 false"),
    ({"source": ""}, "source", "“source”不能为空。"),
    ({"company_name": 5}, "company_name", "“company_name”必须是文本。"),
])
def test_every_kind_of_refusal_reads_in_chinese(client, org, auth, change, field, expected):
    fields = refused(client.post("/api/leads/", {**LEAD, **change}, content_type="application/json", **auth))
    assert expected in fields[field][0] and f"“{field}”" in fields[field][0], fields
    assert not any(word in fields[field][0] for word in ("should", "Input", "Give")), fields


def test_query_bounds_and_dates_name_the_limit(client, org, auth):
    fields = refused(client.get("/api/leads/?page_size=1000", **auth))
    assert fields == {"page_size": ["“page_size”不能大于 200。"]}
    fields = refused(client.get("/api/surveys/satisfaction?start=2026-1-5", **auth))
    assert fields["start"] == ["“start”：请按 YYYY-MM-DD 填写日期，例如 2026-03-01。"]
    fields = refused(client.get("/api/surveys/satisfaction?start=2026-1-5", HTTP_ACCEPT_LANGUAGE="en", **auth))
    assert fields["start"] == ["“start”: Give a date as YYYY-MM-DD."]


def test_a_choice_lists_what_may_be_chosen(client, org, auth):
    fields = refused(client.post("/api/deals/handoffs/1/answer", {"answer": "maybe"}, content_type="application/json",
                                 **auth))
    assert fields["answer"] == ["“answer”只能是以下之一：'accept', 'decline', 'done'。"]


def test_an_unknown_kind_of_error_still_names_the_field():
    with translation.override("en"):
        fields = request_errors([
            {"type": "some_new_type", "loc": ("body", "payload", "lines", 0, "quantity"), "msg": "Odd"},
            {"type": "string_too_long", "loc": ("query", "q"), "msg": "too long", "ctx": {}},
            {"loc": ("request",), "msg": "Send the form as multipart/form-data."},
        ])
    assert fields == {"lines.0.quantity": ["“lines.0.quantity” is not valid: Odd"],
                      "q": ["“q” is not valid: too long"], "request": ["Send the form as multipart/form-data."]}
