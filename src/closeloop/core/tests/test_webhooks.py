"""Outbound webhooks against a real HTTP receiver on loopback (conftest.Receiver), sent by the real worker.

Loopback is refused to webhooks unless the settings allow the host (CLOSELOOP_ROBOT_EXTRA_HOSTS), as the tests
do; `test_the_address_guard_*` checks the refusal itself."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from closeloop.core.errors import Conflict, ValidationFailed
from closeloop.core.models import AuditEntry, Notification, WebhookDelivery, WebhookSubscription
from closeloop.core.webhooks import services
from closeloop.core.webhooks.models import SubscriptionStatus, WebhookDeliveryStatus
from closeloop.core.webhooks.sending import deliveries_recover


@pytest.fixture
def allow_loopback(settings):
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = ["127.0.0.1"]


@pytest.fixture
def subscribe(org, receiver, allow_loopback):
    def make(events=("lead.created",), **data):
        return services.webhook_subscription_save(actor=org.admin, data={
            "name": "OA 系统", "url": f"{receiver.url}/hooks", "events": list(events), **data})
    return make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a write in a committed transaction, so its deliveries get their bodies and jobs as in production."""
    def run(write):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return write()
    return run


def make_due():
    """Move every waiting retry (its job and its row) to now, as if the pause had passed."""
    past = timezone.now() - timedelta(seconds=1)
    WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING).update(next_attempt_at=past)
    DBTaskResult.objects.filter(status="READY").update(run_after=past)


def verify(secret: str, request: dict) -> bool:
    """What a receiver does (the README's snippet): HMAC-SHA256 over "<timestamp>.<body>" with the secret."""
    timestamp = request["headers"]["X-Closeloop-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["raw"], hashlib.sha256).hexdigest()
    return hmac.compare_digest("v1=" + expected, request["headers"]["X-Closeloop-Signature"])


def test_a_new_lead_is_posted_signed_with_the_record_as_the_api_shows_it(org, make_lead, subscribe, committed,
                                                                          receiver, run_worker):
    subscription = subscribe()
    lead = committed(lambda: make_lead(owner=False, company_name="上海推送科技有限公司"))
    run_worker()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == "/hooks"
    assert verify(subscription.secret, request)
    assert not verify(subscription.secret + "x", request)
    body = request["json"]
    delivery = WebhookDelivery.objects.get()
    assert body["version"] == 1 and body["event"] == "lead.created" and body["id"] == str(delivery.event_id)
    assert body["data"]["id"] == lead.pk and body["data"]["company_name"] == "上海推送科技有限公司"
    assert body["data"]["source"] == "官网" and "custom" in body["data"]
    assert request["headers"]["X-Closeloop-Event"] == "lead.created"
    assert request["headers"]["X-Closeloop-Delivery"] == body["id"]
    assert delivery.status == WebhookDeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.response_status == 200 and "errcode" in delivery.response_excerpt


def test_no_subscription_no_delivery_and_only_chosen_events(org, make_lead, subscribe, committed, run_worker, receiver):
    committed(lambda: make_lead(owner=False))
    assert not WebhookDelivery.objects.exists()
    subscribe(events=["lead.converted"])
    committed(lambda: make_lead(owner=False))
    assert not WebhookDelivery.objects.exists()
    subscribe(events=["lead.assigned"])
    committed(lambda: make_lead(owner=org.owner))
    run_worker()
    assert {r["json"]["event"] for r in receiver.requests} == {"lead.assigned"}
    assert receiver.requests[-1]["json"]["data"]["owner"] == "owner"


def test_a_rolled_back_change_sends_nothing(org, make_lead, subscribe):
    subscribe()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_lead(owner=False)
        raise RuntimeError
    assert not WebhookDelivery.objects.exists()


def test_a_500_is_retried_after_a_growing_pause(org, make_lead, subscribe, committed, receiver, run_worker):
    subscribe()
    receiver.script = [(500, {"error": "数据库维护中"}), (503, {})]
    committed(lambda: make_lead(owner=False))
    run_worker()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.response_status == 500 and '"error"' in delivery.response_excerpt
    first_pause = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=59) < first_pause <= timedelta(minutes=1, seconds=1)
    run_worker()  # not due yet
    assert len(receiver.requests) == 1
    make_due()
    run_worker()
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at - delivery.last_attempt_at > timedelta(minutes=4)
    make_due()
    run_worker()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED and delivery.attempts == 3
    assert len({r["json"]["id"] for r in receiver.requests}) == 1  # the same event each time
    assert WebhookSubscription.objects.get().failure_streak == 0


def test_a_later_event_of_the_same_record_waits_for_the_earlier(org, make_lead, subscribe, committed, receiver,
                                                                 run_worker):
    from closeloop.leads.services.editing import lead_assign

    subscribe(events=["lead.created", "lead.assigned"])
    receiver.script = [(500, {})]
    lead = committed(lambda: make_lead(owner=False))  # created, and assigned by the intake
    other = committed(lambda: make_lead(owner=False))

    def sent(record):
        return [r["json"]["event"] for r in receiver.requests if r["json"]["data"]["id"] == record.pk]

    run_worker()  # the first lead's creation fails and holds its assignment back; the second lead's go out
    assert sent(lead) == ["lead.created"] and sent(other) == ["lead.created", "lead.assigned"]
    committed(lambda: lead_assign(lead=lead, owner=org.owner, actor=org.admin))
    run_worker()  # the new assignment waits too
    assert sent(lead) == ["lead.created"]
    make_due()
    run_worker()
    assert sent(lead) == ["lead.created", "lead.created", "lead.assigned", "lead.assigned"]
    assert receiver.requests[-1]["json"]["data"]["owner"] == "owner"
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {WebhookDeliveryStatus.DELIVERED}


def test_repeated_failures_pause_the_subscription_and_tell_the_admins(org, make_lead, subscribe, committed, receiver,
                                                                      run_worker, settings):
    settings.CLOSELOOP_WEBHOOK_PAUSE_AFTER = 3
    subscription = subscribe()
    receiver.default = (500, {})
    committed(lambda: make_lead(owner=False))
    committed(lambda: make_lead(owner=False))
    run_worker()
    make_due()
    run_worker()
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAUSED and subscription.failure_streak >= 3
    assert "HTTP 500" in subscription.paused_reason
    notice = Notification.objects.get(recipient=org.admin, kind="webhook.paused")
    assert "OA 系统" in notice.message and notice.url == f"/settings/webhooks/{subscription.pk}/"
    assert AuditEntry.objects.filter(action="webhook.pause", actor=None).count() == 1
    # Paused: nothing more is sent, new events wait.
    sent = len(receiver.requests)
    committed(lambda: make_lead(owner=False))
    make_due()
    run_worker()
    assert len(receiver.requests) == sent
    # Resumed: the waiting deliveries go out, oldest first.
    receiver.default = (200, {"ok": True})
    committed(lambda: services.webhook_subscription_resume(actor=org.admin, subscription=subscription))
    run_worker()
    assert WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.DELIVERED).count() == 3


def test_a_delivery_is_given_up_after_the_last_attempt(org, make_lead, subscribe, committed, receiver, run_worker):
    subscribe()
    receiver.default = (500, {})
    committed(lambda: make_lead(owner=False))
    for _ in range(6):
        run_worker()
        make_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.FAILED and delivery.attempts == 6
    assert len(receiver.requests) == 6


def test_replay_sends_the_same_event_again(org, make_lead, subscribe, committed, receiver, run_worker):
    subscribe()
    committed(lambda: make_lead(owner=False))
    run_worker()
    first = WebhookDelivery.objects.get()
    replay = committed(lambda: services.webhook_delivery_replay(actor=org.admin, delivery=first))
    run_worker()
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["raw"] == receiver.requests[1]["raw"]
    replay.refresh_from_db()
    assert replay.status == WebhookDeliveryStatus.DELIVERED and replay.replay_of == first
    assert AuditEntry.objects.filter(action="webhook.replay").exists()


def test_a_test_event_is_sent_at_once(org, subscribe, receiver):
    subscription = subscribe()
    delivery = services.webhook_send_test(actor=org.admin, subscription=subscription)
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    assert receiver.requests[0]["json"]["event"] == "webhook.test"
    assert verify(subscription.secret, receiver.requests[0])


def test_a_lost_job_is_queued_again_by_the_recovery_sweep(org, make_lead, subscribe, receiver, run_worker):
    subscribe()
    with transaction.atomic():  # committed, but its on-commit work (bodies, jobs) lost as in a crash
        make_lead(owner=False)
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert deliveries_recover() == 1
    run_worker()
    assert receiver.requests[0]["json"]["data"]["company_name"]


def test_the_recovery_sweep_leaves_what_waits_for_an_earlier_event(org, make_lead, subscribe, committed, receiver,
                                                                   run_worker):
    subscribe(events=["lead.created", "lead.assigned"])
    receiver.default = (500, {})
    committed(lambda: make_lead(owner=False))  # created fails and waits for its retry; assigned waits for it
    run_worker()
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(minutes=10),
                                   next_attempt_at=timezone.now() - timedelta(minutes=10))
    created, assigned = WebhookDelivery.objects.order_by("id")
    assert created.event == "lead.created" and assigned.event == "lead.assigned"
    assert deliveries_recover() == 1  # the creation's retry, not the assignment behind it


def test_rotating_the_secret_signs_with_the_new_one(org, subscribe, receiver):
    subscription = subscribe()
    old = subscription.secret
    subscription = services.webhook_subscription_rotate_secret(actor=org.admin, subscription=subscription)
    assert subscription.secret != old
    services.webhook_send_test(actor=org.admin, subscription=subscription)
    assert verify(subscription.secret, receiver.requests[0])
    entry = AuditEntry.objects.get(action="webhook.rotate_secret")
    assert old not in json.dumps(entry.changes) and subscription.secret not in json.dumps(entry.changes)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hooks", "https://127.0.0.1/hooks", "https://10.0.0.8/x",
                                 "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://localhost/x",
                                 "ftp://example.com/x", "https://192.168.1.20/x"])
def test_the_address_guard_refuses_loopback_private_and_link_local(org, url, settings):
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = []
    with pytest.raises(ValidationFailed) as refused:
        services.webhook_subscription_save(actor=org.admin, data={"name": "x", "url": url, "events": ["lead.created"]})
    assert "url" in refused.value.field_errors


def test_a_guard_that_narrowed_since_stops_the_send(org, make_lead, subscribe, committed, run_worker, settings,
                                                    receiver):
    subscribe()
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = []
    committed(lambda: make_lead(owner=False))
    run_worker()
    delivery = WebhookDelivery.objects.get()
    assert not receiver.requests and "https" in delivery.error


def test_only_administrators_manage_webhooks(org, subscribe):
    subscription = subscribe()
    for person in (org.owner, org.manager, org.outsider):
        with pytest.raises(Exception) as refused:
            services.webhook_subscription_pause(actor=person, subscription=subscription)
        assert refused.value.code == "forbidden"
    services.webhook_subscription_pause(actor=org.admin, subscription=subscription)
    with pytest.raises(Conflict):
        services.webhook_subscription_pause(actor=org.admin, subscription=subscription)


def test_unknown_or_no_events_are_refused(org, allow_loopback, receiver):
    for events in ([], ["lead.exploded"]):
        with pytest.raises(ValidationFailed) as refused:
            services.webhook_subscription_save(actor=org.admin, data={"name": "x", "url": receiver.url,
                                                                       "events": events})
        assert "events" in refused.value.field_errors


def test_the_retention_sweep_deletes_finished_deliveries_older_than_the_setting(org, subscribe, settings):
    from closeloop.core.schedule import SWEEPS
    from closeloop.core.webhooks.sending import deliveries_prune

    settings.CLOSELOOP_WEBHOOK_LOG_DAYS = 30
    subscription = subscribe()
    now = timezone.now()
    rows = {}
    for name, age, status in [("old_delivered", 40, "delivered"), ("old_failed", 31, "failed"),
                              ("old_pending", 45, "pending"), ("young_delivered", 29, "delivered"),
                              ("older_again", 35, "delivered"), ("new_failed", 0, "failed")]:
        rows[name] = WebhookDelivery.objects.create(subscription=subscription, event="lead.created",
                                                    status=status, created_at=now - timedelta(days=age))
    # A replay made today of a delivery that is deleted keeps its row; only its link goes.
    replay = WebhookDelivery.objects.create(subscription=subscription, event="lead.created", status="delivered",
                                            replay_of=rows["old_failed"])
    # Rows are written in time order in life; "older_again" came after a young one (a clock set back): kept until the
    # young ones before it go, never deleted early.
    assert deliveries_prune(now=now, batch=1) == 2
    left = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert left == {rows[name].pk for name in ("old_pending", "young_delivered", "older_again", "new_failed")} | {
        replay.pk}
    replay.refresh_from_db()
    assert replay.replay_of is None
    assert deliveries_prune(now=now) == 0  # nothing more to do, and idempotent
    # A month later the rest of what was finished then goes; what still waits stays.
    assert deliveries_prune(now=now + timedelta(days=31), batch=2) == 4
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [rows["old_pending"].pk]
    settings.CLOSELOOP_WEBHOOK_LOG_DAYS = 0
    WebhookDelivery.objects.filter(pk=rows["old_pending"].pk).update(status="failed")
    assert deliveries_prune(now=now + timedelta(days=400)) == 0  # 0 keeps the log for ever
    assert "core.prune_webhook_deliveries" in SWEEPS
