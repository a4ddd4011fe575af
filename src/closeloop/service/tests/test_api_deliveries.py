"""Deliveries and milestones through the API as the contract's rep, teammate, manager, service staff and outsider:
the page's services, rights and codes, and routes true in the OpenAPI document."""

from datetime import timedelta

import pytest
from django.utils import timezone

from closeloop.core.models import AuditEntry
from closeloop.service import deliveries
from closeloop.service.models import Delivery

from .conftest import milestones_done

pytestmark = pytest.mark.django_db


def post(client, url, body, auth):
    return client.post(url, body, content_type="application/json", **auth)


def patch(client, url, body, auth):
    return client.patch(url, body, content_type="application/json", **auth)


def test_the_rep_starts_a_delivery_and_service_runs_its_milestones(client, org, delivered_contract, service_staff,
                                                                  api_auth):
    contract = delivered_contract()
    today = timezone.localdate()
    owner, staff = api_auth(org.owner), api_auth(service_staff)
    started = post(client, "/api/deliveries/", {
        "contract_id": contract.pk, "owner_id": service_staff.pk, "notes": "分两期上线",
        "milestones": [{"name": "需求调研", "planned_date": str(today - timedelta(days=2))},
                       {"name": "系统部署", "planned_date": str(today + timedelta(days=5))}]}, owner)
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["owner"]["id"] == service_staff.pk and body["contract_number"] == contract.number
    assert [m["name"] for m in body["milestones"]] == ["需求调研", "系统部署"] and body["status"] == "in_progress"
    delivery_id, first = body["id"], body["milestones"][0]["id"]
    again = post(client, "/api/deliveries/", {"contract_id": contract.pk}, owner)
    assert again.status_code == 409 and again.json()["code"] == "delivery_exists"
    assert AuditEntry.objects.filter(action="delivery.create", channel="api").count() == 1

    # Who sees it: the contract's people and after-sales service; not a teammate or another team.
    for user, status in [(org.owner, 200), (org.manager, 200), (service_staff, 200), (org.teammate, 404),
                         (org.outsider, 404)]:
        assert client.get(f"/api/deliveries/{delivery_id}", **api_auth(user)).status_code == status, user
    assert [d["id"] for d in client.get("/api/deliveries/", **staff).json()["items"]] == [delivery_id]
    assert client.get("/api/deliveries/", **api_auth(org.outsider)).json()["items"] == []
    assert post(client, "/api/deliveries/", {"contract_id": contract.pk}, api_auth(org.outsider)).status_code == 404

    # Service marks the first milestone done and adds one; a date in the future is refused with its field.
    done = patch(client, f"/api/deliveries/{delivery_id}/milestones/{first}", {"done_date": str(today)}, staff)
    assert done.status_code == 200 and done.json()["done_date"] == str(today)
    future = patch(client, f"/api/deliveries/{delivery_id}/milestones/{first}",
                   {"done_date": str(today + timedelta(days=1))}, staff)
    assert future.status_code == 422 and "done_date" in future.json()["fields"]
    added = post(client, f"/api/deliveries/{delivery_id}/milestones",
                 {"name": "培训上线", "planned_date": str(today + timedelta(days=9))}, staff)
    assert added.status_code == 201 and added.json()["owner"]["id"] == service_staff.pk
    changed = patch(client, f"/api/deliveries/{delivery_id}", {"title": "一期实施", "owner_id": org.owner.pk}, staff)
    assert changed.status_code == 200 and changed.json()["title"] == "一期实施"
    assert len(changed.json()["milestones"]) == 3
    # A colleague of the rep who is not on the contract is refused the write as well as the read.
    assert patch(client, f"/api/deliveries/{delivery_id}", {"notes": "x"}, api_auth(org.teammate)).status_code == 404

    # Once accepted (on the customer's link), the delivery takes no more milestones.
    deliveries.delivery_accept_by_link(delivery=milestones_done(Delivery.objects.get(pk=delivery_id)), name="周敏", phone="13912345678")
    closed = post(client, f"/api/deliveries/{delivery_id}/milestones",
                  {"name": "回访", "planned_date": str(today)}, staff)
    assert closed.status_code == 409 and closed.json()["code"] == "delivery_status"

    document = client.get("/api/openapi.json").json()
    assert {"/api/deliveries/", "/api/deliveries/{delivery_id}", "/api/deliveries/{delivery_id}/milestones",
            "/api/deliveries/{delivery_id}/milestones/{milestone_id}"} <= set(document["paths"])
    assert "409" in document["paths"]["/api/deliveries/"]["post"]["responses"]
