"""Settings → 数据推送: administrators only (everyone else meets a 404), through the real pages."""

import pytest
from django.urls import reverse

from closeloop.core.models import AuditEntry, WebhookDelivery, WebhookSubscription
from closeloop.core.webhooks import services
from closeloop.core.webhooks.models import SubscriptionStatus


@pytest.fixture
def subscription(org, receiver, settings):
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = ["127.0.0.1"]
    return services.webhook_subscription_save(actor=org.admin, data={
        "name": "财务系统", "url": f"{receiver.url}/in", "events": ["lead.created", "deal.won"]})


@pytest.fixture
def delivered(org, subscription):
    return services.webhook_send_test(actor=org.admin, subscription=subscription)


PAGES = [("webhook_list", None), ("webhook_create", None), ("webhook_edit", "subscription"),
         ("webhook_deliveries", None), ("webhook_delivery", "delivered"), ("webhook_delete", "subscription")]
POSTS = ["webhook_pause", "webhook_rotate", "webhook_test", "webhook_delete"]


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider"])
def test_it_is_not_there_for_anyone_but_administrators(client, org, subscription, delivered, who):
    client.force_login(getattr(org, who))
    records = {"subscription": subscription, "delivered": delivered}
    for name, record in PAGES:
        url = reverse(name, args=[records[record].pk]) if record else reverse(name)
        assert client.get(url).status_code == 404, name
    for name in POSTS:
        assert client.post(reverse(name, args=[subscription.pk])).status_code == 404, name
    assert client.post(reverse("webhook_replay", args=[delivered.pk])).status_code == 404
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE and WebhookSubscription.objects.count() == 1


def test_it_lists_creates_and_shows_the_secret_once(client, org, receiver, settings):
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = ["127.0.0.1"]
    client.force_login(org.admin)
    page = client.get(reverse("webhook_create"))
    assert page.status_code == 200
    assert 'value="lead.created"' in page.text and 'value="ticket.resolved"' in page.text
    answer = client.post(reverse("webhook_create"), {"name": "OA", "url": f"{receiver.url}/oa",
                                                     "events": ["lead.created", "contract.payment_received"]})
    subscription = WebhookSubscription.objects.get()
    assert answer.status_code == 200 and subscription.secret in answer.text
    assert subscription.events == ["lead.created", "contract.payment_received"]
    edit = client.get(reverse("webhook_edit", args=[subscription.pk]))
    assert subscription.secret not in edit.text and subscription.masked_secret in edit.text
    assert "OA" in client.get(reverse("webhook_list")).text
    assert AuditEntry.objects.filter(action="webhook.create").exists()


def test_it_refuses_a_private_address_on_the_form(client, org, settings):
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = []
    client.force_login(org.admin)
    answer = client.post(reverse("webhook_create"), {"name": "OA", "url": "https://192.168.0.10/hook",
                                                     "events": ["lead.created"]})
    assert answer.status_code == 200 and not WebhookSubscription.objects.exists()
    assert "192.168.0.10" in answer.text


def test_it_pauses_resumes_tests_and_replays(client, org, subscription, receiver):
    client.force_login(org.admin)
    client.post(reverse("webhook_pause", args=[subscription.pk]))
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAUSED
    client.post(reverse("webhook_resume", args=[subscription.pk]))
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    answer = client.post(reverse("webhook_test", args=[subscription.pk]))
    test = WebhookDelivery.objects.get()
    assert answer.url == reverse("webhook_delivery", args=[test.pk])
    detail = client.get(answer.url)
    assert "webhook.test" in detail.text and "Send again" not in detail.text
    assert receiver.requests[0]["json"]["event"] == "webhook.test"


def test_the_log_filters_and_pages(client, org, subscription, make_lead, django_capture_on_commit_callbacks):
    for _ in range(3):
        make_lead(owner=False)
    services.webhook_send_test(actor=org.admin, subscription=subscription)
    client.force_login(org.admin)
    url = reverse("webhook_deliveries")
    assert client.get(url).text.count("lead.created</code>") == 3
    assert client.get(url, {"event": "lead.created"}).text.count("webhook.test</code>") == 0
    assert client.get(url, {"status": "delivered"}).text.count("lead.created</code>") == 0
    assert client.get(url, {"subscription": "99999999999999999999", "page": "x"}).status_code == 200
    lead_delivery = WebhookDelivery.objects.filter(event="lead.created").first()
    answer = client.post(reverse("webhook_replay", args=[lead_delivery.pk]))
    assert answer.status_code == 302
    assert WebhookDelivery.objects.filter(replay_of=lead_delivery).exists()
