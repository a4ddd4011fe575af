"""The OpenAPI document is true for what requests may hold: every input an operation reads is of a type that takes
exactly what the document says (pydantic's lax parsing would read a date from `0`, a boolean from `1` or `yes`),
and the few operations that read a form by hand refuse what their declared form does not allow. Schemathesis finds
such gaps only where its examples happen to land (tests/robustness/test_api_fuzz.py); this walks every operation."""

import typing
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pydantic import BaseModel

from closeloop.api import api
from closeloop.contracts.tests.conftest import (  # noqa: F401 (fixtures)
    accepted_quote,
    api_auth,
    deal,
    make_contract,
    make_product,
    make_quote,
)
from closeloop.service.tests.conftest import make_ticket, service_staff, service_team  # noqa: F401 (fixtures)

# Types pydantic reads leniently from JSON or a query string; where they are inputs they need the strict types of
# core/apischema.py (StrictBool, QueryBool, IsoDate, IsoDateTime, JsonInt, int_in, decimal_in).
LENIENT = (bool, float, date, datetime, Decimal)
# Path and query parameters arrive as text: a whole number written "5" is what the document means there.
LENIENT_IN_BODIES = (*LENIENT, int)


def _arms(annotation):
    """The types a field may hold: the arms of a union, the items of a list."""
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    return [arm for arg in args for arm in _arms(arg)] if typing.get_origin(annotation) is not typing.Annotated else [annotation]


def lenient_inputs(model: type[BaseModel], in_body: bool, prefix: str = ""):
    for name, field in model.model_fields.items():
        checked = any(type(meta).__name__ in ("BeforeValidator", "PlainValidator", "Strict") for meta in field.metadata)
        for arm in _arms(field.annotation):
            if isinstance(arm, type) and issubclass(arm, BaseModel):
                yield from lenient_inputs(arm, in_body, f"{prefix}{name}.")
            elif typing.get_origin(arm) is typing.Annotated:
                continue  # a validated type of its own (StrictBool, IsoDate, JsonInt ...)
            elif arm in (LENIENT_IN_BODIES if in_body else LENIENT) and not checked:
                yield f"{prefix}{name}: {arm.__name__}"


def operations():
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                yield f"{'/'.join(operation.methods)} /api{prefix}{path}", operation


def test_every_input_is_read_as_strictly_as_the_document_says():
    lenient = []
    for label, operation in operations():
        for model in operation.signature.models:
            in_body = model.__name__.startswith("Body")
            lenient += [f"{label} {found}" for found in lenient_inputs(model, in_body)]
    assert lenient == []


def test_the_walk_sees_the_operations_and_a_lenient_field():
    assert len(list(operations())) >= 80

    class Loose(BaseModel):
        day: date | None = None
        flag: bool = False

    assert list(lenient_inputs(Loose, in_body=True)) == ["day: date", "flag: bool"]


@pytest.mark.parametrize("query", ["start=0", "end=20260101", "start=2026-1-5"])
def test_a_report_day_is_a_date_as_the_document_writes_it(client, org, api_auth, query):  # noqa: F811
    answer = client.get(f"/api/surveys/satisfaction?{query}", **api_auth(org.owner))
    assert answer.status_code == 422 and answer.json()["code"] == "request_invalid"
    assert client.get("/api/surveys/satisfaction?start=2026-01-05", **api_auth(org.owner)).status_code == 200


@pytest.mark.parametrize("query", ["answered=1", "answered=yes", "answered=on"])
def test_a_query_boolean_is_true_or_false(client, org, api_auth, query):  # noqa: F811
    assert client.get(f"/api/surveys/?{query}", **api_auth(org.owner)).status_code == 422
    assert client.get("/api/tickets/?mine=1", **api_auth(org.owner)).status_code == 422
    assert client.get("/api/surveys/?answered=false", **api_auth(org.owner)).status_code == 200
    assert client.get("/api/tickets/?mine=true", **api_auth(org.owner)).status_code == 200


def test_an_internal_note_is_said_with_a_json_boolean(client, org, api_auth, make_ticket):  # noqa: F811
    ticket = make_ticket()
    url = f"/api/tickets/{ticket.pk}/replies"
    for internal in (0, 1, "true", None):
        answer = client.post(url, {"body": "日志在附件", "internal": internal}, content_type="application/json",
                             **api_auth(org.owner))
        assert answer.status_code == 422 and answer.json()["code"] == "request_invalid", internal
    answer = client.post(url, {"body": "日志在附件", "internal": True}, content_type="application/json",
                         **api_auth(org.owner))
    assert answer.status_code == 201 and answer.json()["internal"] is True


PDF = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.mark.parametrize(("fields", "refused"), [
    ({"sign_date": ""}, "sign_date"), ({"sign_date": "明天"}, "sign_date"), ({"sign_date": "0"}, "sign_date"),
    ({"sign": "yes"}, "sign"), ({"sign": "1"}, "sign"), ({"sign": "on"}, "sign"),
])
def test_the_upload_form_refuses_what_its_declared_fields_do_not_allow(client, org, api_auth, make_contract,  # noqa: F811
                                                                        fields, refused, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    contract = make_contract()
    answer = client.post(f"/api/contracts/{contract.pk}/documents",
                         {"file": SimpleUploadedFile("扫描件.pdf", PDF, content_type="application/pdf"), **fields},
                         **api_auth(org.owner))
    assert answer.status_code == 422, answer.content
    assert answer.json()["code"] == "request_invalid" and refused in answer.json()["fields"]
    assert not contract.documents.exists()


def test_the_upload_form_takes_its_declared_fields(client, org, api_auth, make_contract, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path
    contract = make_contract()
    answer = client.post(f"/api/contracts/{contract.pk}/documents", {
        "file": SimpleUploadedFile("扫描件.pdf", PDF, content_type="application/pdf"), "sign": "false",
        "sign_date": "2026-12-01"}, **api_auth(org.owner))
    assert answer.status_code == 201, answer.content


def test_the_upload_refuses_a_body_that_is_not_a_form(client, org, api_auth, make_contract, settings,  # noqa: F811
                                                      tmp_path):
    settings.MEDIA_ROOT = tmp_path
    contract = make_contract()
    url = f"/api/contracts/{contract.pk}/documents"
    # A form without its boundary cannot be read at all; a JSON body has no file in it.
    answer = client.post(url, b'{"sign": true}', content_type="multipart/form-data", **api_auth(org.owner))
    assert answer.status_code == 422 and answer.json()["code"] == "request_invalid"
    answer = client.post(url, b'{"sign": true}', content_type="application/json", **api_auth(org.owner))
    assert answer.status_code == 422 and answer.json()["code"] == "file_refused"
    assert not contract.documents.exists()


def test_a_line_that_takes_the_quotes_totals_past_twelve_digits_is_refused(client, org, api_auth, make_quote):  # noqa: F811
    """Found by schemathesis: two lines each under the limit made a cost total the column cannot hold, and every read of
    the quote failed after it on SQLite."""
    quote = make_quote(lines=[("10000", "0")])
    url = f"/api/quotes/{quote.pk}/lines"
    line = {"name": "实施服务", "quantity": "1", "unit_price": "600000000000", "unit_cost": "500000000000"}
    assert client.post(url, line, content_type="application/json", **api_auth(org.owner)).status_code == 201
    answer = client.post(url, line, content_type="application/json", **api_auth(org.owner))
    assert answer.status_code == 422 and "quantity" in answer.json()["fields"], answer.content
    shown = client.get(f"/api/quotes/{quote.pk}", **api_auth(org.owner))
    assert shown.status_code == 200, shown.content


def test_the_lists_document_their_custom_field_filters(client, org):
    """`cf.<key>` filters are read from the query by hand (fields are data), so the document writes them when asked:
    one parameter per field of the list's record type, typed as the field's values."""
    from closeloop.core.customfields.services import custom_field_create

    custom_field_create(target="deals.Opportunity", key="channels", field_type="multi_choice", actor=org.admin,
                        data={"label_zh": "渠道", "label_en": "Channels", "options": "展会\n官网"})
    custom_field_create(target="deals.Opportunity", key="seats", field_type="integer", actor=org.admin,
                        data={"label_zh": "席位", "label_en": "Seats"})
    document = client.get("/api/openapi.json").json()
    deals = {parameter["name"]: parameter for parameter in document["paths"]["/api/deals/"]["get"]["parameters"]}
    assert deals["cf.channels"]["schema"] == {"type": "array", "maxItems": 50,
                                              "items": {"type": "string", "enum": ["展会", "官网"]}}
    assert [deals[f"cf.seats{suffix}"]["schema"] for suffix in ("", ".gte", ".lte")] == [{"type": "integer"}] * 3
    assert "422" in document["paths"]["/api/deals/"]["get"]["responses"]
    leads = document["paths"]["/api/leads/"]["get"]["parameters"]
    assert not any(parameter["name"].startswith("cf.") for parameter in leads)
