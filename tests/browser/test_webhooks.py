"""Settings → 数据推送 in a real browser on a phone (390 px), in Chinese: an administrator adds a webhook to a real
receiver on loopback, copies the secret shown once, sends a test event and reads it in the delivery log."""

import hashlib
import hmac

import pytest
from playwright.sync_api import expect

from closeloop.core.models import WebhookSubscription
from closeloop.core.tests.conftest import Receiver

pytestmark = pytest.mark.browser


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.fixture
def receiver(settings):
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = ["127.0.0.1"]
    r = Receiver()
    yield r
    r.close()


def test_an_admin_adds_a_webhook_and_sends_a_test_event_on_a_phone(org, new_page, receiver, tmp_path):
    page = new_page(user=org.admin, phone=True, locale="zh-CN")
    page.goto("/settings/webhooks/")
    expect(page.get_by_role("heading", name="数据推送")).to_be_visible()
    assert overflow(page) <= 0
    page.get_by_role("button", name="新增数据推送").click()
    page.get_by_label("名称").fill("财务系统")
    page.get_by_label("接收地址").fill(f"{receiver.url}/closeloop")
    page.locator('input[value="deal.won"]').check()
    page.locator('input[value="contract.payment_received"]').check()
    page.screenshot(path=tmp_path / "webhook-form-phone.png", full_page=True)
    assert overflow(page) <= 0
    page.get_by_role("button", name="保存").click()

    subscription = WebhookSubscription.objects.get()
    expect(page.locator("code.wrap")).to_have_text(subscription.secret)
    assert subscription.events == ["deal.won", "contract.payment_received"]
    assert overflow(page) <= 0
    page.get_by_role("button", name="已完成").click()
    expect(page.get_by_text(subscription.masked_secret)).to_be_visible()
    assert subscription.secret not in page.content()

    page.get_by_role("button", name="发送测试事件").click()
    expect(page.get_by_text("已送达 · 1 次尝试")).to_be_visible()
    assert overflow(page) <= 0
    request = receiver.requests[0]
    timestamp = request["headers"]["X-Closeloop-Timestamp"]
    expected = hmac.new(subscription.secret.encode(), f"{timestamp}.".encode() + request["raw"], hashlib.sha256)
    assert request["headers"]["X-Closeloop-Signature"] == "v1=" + expected.hexdigest()

    page.goto("/settings/webhooks/log/")
    expect(page.locator("table")).to_contain_text("webhook.test")
    page.screenshot(path=tmp_path / "webhook-log-phone.png", full_page=True)
    assert overflow(page) <= 0
