"""The contracts API as owner, manager, finance and outsider; the e-signature callback with signed, forged,
stale and repeated deliveries over real HTTP-shaped requests."""

import json
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from closeloop.contracts import esign
from closeloop.contracts.config import contract_settings_save
from closeloop.contracts.models import Contract, ContractStatus, EsignEvent
from closeloop.core.models import AuditEntry

pytestmark = pytest.mark.django_db
SECRET = "e-sign-shared-secret-0123456789"


def test_a_contract_through_the_api_from_quote_to_payment(client, org, accepted_quote, finance, api_auth):
    quote = accepted_quote()
    owner = api_auth(org.owner)
    response = client.post("/api/contracts/", {"quote_id": quote.pk}, content_type="application/json", **owner)
    assert response.status_code == 201, response.content
    body = response.json()
    contract_id = body["id"]
    assert body["amount"] in ("30000.00", 30000) or D(str(body["amount"])) == D("30000.00")
    again = client.post("/api/contracts/", {"quote_id": quote.pk}, content_type="application/json", **owner)
    assert again.status_code == 409 and again.json()["code"] == "contract_exists"
    plan = {"instalments": [{"title": "首付款", "condition": "on_signing", "days_after": 7, "percentage": "40"},
                            {"title": "尾款", "condition": "on_date", "due_date": "2027-06-30", "amount": "17000"}]}
    bad = client.put(f"/api/contracts/{contract_id}/plan", plan, content_type="application/json", **owner)
    assert bad.status_code == 422 and bad.json()["code"] == "plan_invalid"
    plan["instalments"][1]["amount"] = "18000"
    assert client.put(f"/api/contracts/{contract_id}/plan", plan, content_type="application/json",
                      **owner).status_code == 200
    assert client.post(f"/api/contracts/{contract_id}/submit", {}, content_type="application/json",
                       **owner).json()["status"] == "approved"
    payment = {"amount": "12000", "received_on": timezone.localdate().isoformat(), "method": "transfer"}
    refused = client.post(f"/api/contracts/{contract_id}/payments", payment, content_type="application/json", **owner)
    assert refused.status_code in (403, 409)
    for user, status in [(org.outsider, 404), (org.teammate, 404), (finance, 200), (org.manager, 200)]:
        assert client.get(f"/api/contracts/{contract_id}", **api_auth(user)).status_code == status, user
    listed = client.get("/api/contracts/", **api_auth(org.outsider)).json()
    assert listed["count"] == 0 if "count" in listed else listed["items"] == []


def _signed_contract_ready(org, make_contract):
    from closeloop.contracts import services

    contract = make_contract()
    services.contract_submit(contract=contract, actor=org.owner)
    contract_settings_save(actor=org.admin, data={"esign_secret": SECRET})
    contract.refresh_from_db()
    return contract


def _post(client, body: bytes, headers: dict):
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post("/api/contracts/esign/callback", body, content_type="application/json", **meta)


def test_a_signed_callback_signs_the_contract_once(client, org, make_contract):
    contract = _signed_contract_ready(org, make_contract)
    body = json.dumps({"event": "sign_flow_completed", "flow_id": "FLOW-1",
                       "contract_number": contract.number}).encode()
    headers = esign.signed_headers(SECRET, body)
    response = _post(client, body, headers)
    assert response.status_code == 200 and response.json() == {"outcome": "signed", "contract": contract.number}
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SIGNED and contract.signed_via == "esign"
    assert contract.esign_flow_id == "FLOW-1"
    # The same delivery again (a retry) changes nothing.
    assert _post(client, body, headers).json()["outcome"] == "duplicate"
    # A fresh delivery of the same event is answered "already signed".
    assert _post(client, body, esign.signed_headers(SECRET, body,
                                                    at=timezone.now() + timedelta(seconds=1))).json()["outcome"] == \
        "already_signed"
    assert AuditEntry.objects.for_object(contract).filter(action="contract.sign").count() == 1
    assert EsignEvent.objects.count() == 2


def test_forged_stale_and_unsigned_callbacks_are_refused(client, org, make_contract):
    contract = _signed_contract_ready(org, make_contract)
    body = json.dumps({"event": "sign_flow_completed", "contract_number": contract.number}).encode()
    forged = esign.signed_headers("not-the-secret-at-all-000", body)
    assert _post(client, body, forged).status_code == 401
    tampered = esign.signed_headers(SECRET, body)
    other = json.dumps({"event": "sign_flow_completed", "contract_number": "HT-2099-9999"}).encode()
    assert _post(client, other, tampered).status_code == 401
    stale = esign.signed_headers(SECRET, body, at=timezone.now() - timedelta(hours=1))
    response = _post(client, body, stale)
    assert response.status_code == 401 and response.json()["code"] == "timestamp_out_of_window"
    assert _post(client, body, {}).status_code == 401
    contract.refresh_from_db()
    assert contract.status == ContractStatus.APPROVED and not EsignEvent.objects.exists()


def test_a_callback_for_an_unapproved_contract_is_a_conflict(client, org, make_contract):
    contract = make_contract()
    contract_settings_save(actor=org.admin, data={"esign_secret": SECRET})
    body = json.dumps({"event": "sign_flow_completed", "contract_number": contract.number}).encode()
    assert _post(client, body, esign.signed_headers(SECRET, body)).status_code == 409
    assert Contract.objects.get().status == ContractStatus.DRAFT


def test_the_openapi_document_lists_the_contract_routes(client):
    document = client.get("/api/openapi.json").json()
    paths = document["paths"]
    assert "/api/contracts/{contract_id}/payments" in paths and "/api/contracts/esign/callback" in paths
    assert set(paths["/api/contracts/{contract_id}/payments"]["post"]["responses"]) >= {"201", "401", "403", "404",
                                                                                        "409", "422"}
