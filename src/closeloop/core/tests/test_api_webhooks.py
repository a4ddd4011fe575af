"""Webhook subscriptions through the API: administrators only, the settings pages' services, guard and audit."""

import json

import pytest
from django.db import transaction

from closeloop.core.models import AuditEntry, Channel, WebhookDelivery, WebhookSubscription
from closeloop.core.services import api_token_create
from closeloop.core.webhooks import services
from closeloop.core.webhooks.models import SubscriptionStatus


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def auth():
    def make(user):
        raw, _token = api_token_create(user=user, name="t", actor=None)
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    return make


@pytest.fixture
def allow_loopback(settings):
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = ["127.0.0.1"]


@pytest.fixture
def subscription(org, receiver, allow_loopback):
    return services.webhook_subscription_save(actor=org.admin, data={
        "name": "OA 系统", "url": f"{receiver.url}/hooks", "events": ["lead.created"]})


def post(client, url, body, headers):
    return client.post(url, body, content_type="application/json", **headers)


def patch(client, url, body, headers):
    return client.patch(url, body, content_type="application/json", **headers)


@pytest.mark.parametrize("who", ["owner", "manager", "outsider"])
def test_nobody_but_an_administrator_reaches_any_route(client, org, auth, subscription, who):
    headers = auth(getattr(org, who))
    delivery = WebhookDelivery.objects.create(subscription=subscription, event="lead.created")
    base = f"/api/webhooks/{subscription.pk}"
    answers = [
        client.get("/api/webhooks/", **headers), client.get("/api/webhooks/events", **headers),
        post(client, "/api/webhooks/", {"name": "x", "url": "https://example.com/", "events": ["lead.created"]}, headers),
        client.get(base, **headers), patch(client, base, {"name": "改"}, headers),
        post(client, f"{base}/rotate-secret", {}, headers), client.get(f"{base}/deliveries", **headers),
        client.get(f"/api/webhooks/deliveries/{delivery.pk}", **headers),
        post(client, f"/api/webhooks/deliveries/{delivery.pk}/replay", {}, headers),
        client.delete(base, **headers),
        # Not even whether an id exists.
        client.get("/api/webhooks/999999", **headers),
    ]
    assert [answer.status_code for answer in answers] == [403] * len(answers)
    assert WebhookSubscription.objects.get().name == "OA 系统"
    assert WebhookDelivery.objects.count() == 1


def test_an_administrator_subscribes_and_sees_the_secret_once(client, org, auth, receiver, allow_loopback):
    headers = auth(org.admin)
    answer = post(client, "/api/webhooks/", {"name": "财务系统", "url": f"{receiver.url}/in",
                                             "events": ["deal.won", "lead.created", "lead.created"]}, headers)
    assert answer.status_code == 201, answer.content
    created = answer.json()
    saved = WebhookSubscription.objects.get()
    assert created["secret"] == saved.secret and created["events"] == ["lead.created", "deal.won"]
    assert created["status"] == "active"
    read = client.get(f"/api/webhooks/{saved.pk}", **headers).json()
    assert "secret" not in read and read["secret_hint"] == saved.masked_secret
    assert [item["id"] for item in client.get("/api/webhooks/", **headers).json()] == [saved.pk]
    entry = AuditEntry.objects.get(action="webhook.create")
    assert entry.channel == Channel.API and saved.secret not in str(entry.changes)
    rotated = post(client, f"/api/webhooks/{saved.pk}/rotate-secret", {}, headers).json()
    saved.refresh_from_db()
    assert rotated["secret"] == saved.secret != created["secret"]
    codes = [event["code"] for event in client.get("/api/webhooks/events", **headers).json()]
    assert "lead.created" in codes and "deal.won" in codes


@pytest.mark.parametrize("url", ["http://example.com/hook", "https://127.0.0.1/hook", "https://10.0.0.8/hook",
                                 "https://169.254.169.254/latest", "https://[::1]/x"])
def test_the_address_guard_refuses_what_the_pages_refuse(client, org, auth, url, settings):
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = []
    answer = post(client, "/api/webhooks/", {"name": "内网", "url": url, "events": ["lead.created"]}, auth(org.admin))
    assert answer.status_code == 422 and "url" in answer.json()["fields"], url
    assert not WebhookSubscription.objects.exists()


def test_unknown_events_are_refused(client, org, auth, receiver, allow_loopback):
    answer = post(client, "/api/webhooks/", {"name": "OA", "url": f"{receiver.url}/in", "events": ["lead.exploded"]},
                  auth(org.admin))
    assert answer.status_code == 422 and "events" in answer.json()["fields"]


def test_update_pause_resume_and_delete(client, org, auth, subscription, settings):
    headers = auth(org.admin)
    url = f"/api/webhooks/{subscription.pk}"
    answer = patch(client, url, {"events": ["lead.assigned"], "name": "OA"}, headers)
    assert answer.status_code == 200 and answer.json()["events"] == ["lead.assigned"]
    answer = patch(client, url, {"url": "https://192.168.1.5/x"}, headers)
    assert answer.status_code == 422 and "url" in answer.json()["fields"]
    answer = patch(client, url, {"active": False}, headers)
    assert answer.status_code == 200 and answer.json()["status"] == "paused"
    assert patch(client, url, {"active": False}, headers).json()["status"] == "paused"  # as it is: nothing
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAUSED
    assert patch(client, url, {"active": True}, headers).json()["status"] == "active"
    actions = list(AuditEntry.objects.filter(channel=Channel.API).order_by("id").values_list("action", flat=True))
    assert actions == ["webhook.update", "webhook.pause", "webhook.resume"]
    assert client.delete(url, **headers).status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert client.get(url, **headers).status_code == 404


def test_the_delivery_log_and_a_replay(client, org, auth, subscription, make_lead, receiver, run_worker,
                                       django_capture_on_commit_callbacks):
    headers = auth(org.admin)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        lead = make_lead(owner=False)
    run_worker()
    log = client.get(f"/api/webhooks/{subscription.pk}/deliveries", **headers).json()
    assert [(item["event"], item["record_id"], item["status"]) for item in log["items"]] == [
        ("lead.created", lead.pk, "delivered")]
    first = log["items"][0]
    assert first["response_status"] == 200 and first["attempts"] == 1
    detail = client.get(f"/api/webhooks/deliveries/{first['id']}", **headers).json()
    assert json.loads(detail["body"])["id"] == first["event_id"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(client, f"/api/webhooks/deliveries/{first['id']}/replay", {}, headers)
    assert answer.status_code == 201, answer.content
    replay = answer.json()
    assert replay["event_id"] == first["event_id"] and replay["replay_of_id"] == first["id"]
    run_worker()
    assert len(receiver.requests) == 2 and receiver.requests[1]["json"]["id"] == first["event_id"]
    assert AuditEntry.objects.get(action="webhook.replay").channel == Channel.API
    delivered = client.get(f"/api/webhooks/{subscription.pk}/deliveries?status=delivered", **headers).json()
    assert len(delivered["items"]) == 2
    assert client.get(f"/api/webhooks/{subscription.pk}/deliveries?status=lost", **headers).status_code == 422
    assert client.get(f"/api/webhooks/{subscription.pk}/deliveries?event=deal.won", **headers).json()["items"] == []
    # A test event is not replayed.
    test = WebhookDelivery.objects.create(subscription=subscription, event="webhook.test", is_test=True)
    answer = post(client, f"/api/webhooks/deliveries/{test.pk}/replay", {}, headers)
    assert answer.status_code == 409
