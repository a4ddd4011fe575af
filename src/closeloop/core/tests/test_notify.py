"""Notifications reach people where they chose, and group robots get each platform's real format.

Robot messages go to a real HTTP server on loopback (conftest.Receiver); email goes to Django's
test outbox. Jobs run through the same database worker `closeloop worker` uses.
"""

import base64
import hashlib
import hmac
from datetime import timedelta
from urllib.parse import unquote_plus

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from closeloop.core.delivery import MAX_ATTEMPTS, deliveries_recover, delivery_send
from closeloop.core.models import (
    DeliveryChannel,
    DeliveryStatus,
    GroupRobot,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    RobotPlatform,
    SummaryItem,
)
from closeloop.core.notify import notify
from closeloop.core.tasks import deliver_notification

MESSAGE = "新线索：上海闭环科技有限公司（张三）"


def robot_delivery():
    return NotificationDelivery.objects.get(robot__isnull=False)


def make_robot(department, platform, url, secret="", **fields):
    return GroupRobot.objects.create(name=f"{department}群", department=department, platform=platform,
                                     webhook_url=url, secret=secret, **fields)


@pytest.fixture
def tell(django_capture_on_commit_callbacks):
    """notify() inside a committed transaction, so the jobs are queued as in production."""
    def send(recipient, kind="handoff.request", message=MESSAGE, url="/leads/1/", **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                notify(recipient=recipient, kind=kind, message=message, url=url, **kwargs)
    return send


def test_wecom_gets_markdown_with_the_chinese_text_intact(org, receiver, tell, run_worker):
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/cgi-bin/webhook/send?key=abc-123")
    tell(org.owner)
    run_worker()
    [request] = receiver.requests
    assert request["path"] == "/cgi-bin/webhook/send" and request["query"] == {"key": ["abc-123"]}
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert request["json"]["msgtype"] == "markdown"
    content = request["json"]["markdown"]["content"]
    assert MESSAGE in content and "Closeloop" in content and "owner" in content
    assert "http://localhost:8000/leads/1/" in content
    assert MESSAGE.encode() in request["raw"]  # UTF-8 on the wire, not \\u escapes
    delivery = NotificationDelivery.objects.get(channel=DeliveryChannel.WECOM)
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.SENT, 1, 200)


def test_dingtalk_signs_the_url_with_timestamp_and_hmac(org, receiver, tell, run_worker):
    secret = "SEC0123456789abcdef密"
    make_robot(org.team_a, RobotPlatform.DINGTALK, f"{receiver.url}/robot/send?access_token=tok", secret=secret)
    tell(org.owner)
    run_worker()
    [request] = receiver.requests
    query = request["query"]
    assert query["access_token"] == ["tok"]
    timestamp = query["timestamp"][0]
    assert abs(int(timestamp) / 1000 - timezone.now().timestamp()) < 3600
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]
    # The sign is URL-encoded on the wire (+, / and = escaped), as DingTalk requires.
    raw_sign = request["raw_query"].split("sign=")[1].split("&")[0]
    assert unquote_plus(raw_sign) == expected and "+" not in raw_sign and "/" not in raw_sign
    body = request["json"]
    assert body["msgtype"] == "markdown"
    assert MESSAGE in body["markdown"]["title"] and MESSAGE in body["markdown"]["text"]


def test_dingtalk_without_secret_sends_no_signature(org, receiver, tell, run_worker):
    make_robot(org.team_a, RobotPlatform.DINGTALK, f"{receiver.url}/robot/send?access_token=tok")
    tell(org.owner)
    run_worker()
    assert receiver.requests[0]["query"] == {"access_token": ["tok"]}


def test_feishu_gets_text_with_the_signature_in_the_body(org, receiver, tell, run_worker):
    secret = "feishu-secret-值"
    receiver.default = (200, {"code": 0, "msg": "success", "data": {}})
    make_robot(org.team_a, RobotPlatform.FEISHU, f"{receiver.url}/open-apis/bot/v2/hook/abc", secret=secret)
    tell(org.owner)
    run_worker()
    [request] = receiver.requests
    assert request["path"] == "/open-apis/bot/v2/hook/abc" and request["query"] == {}
    body = request["json"]
    assert body["msg_type"] == "text" and MESSAGE in body["content"]["text"]
    timestamp = body["timestamp"]
    assert isinstance(timestamp, str) and abs(int(timestamp) - timezone.now().timestamp()) < 3600
    expected = base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected
    assert robot_delivery().status == DeliveryStatus.SENT


def test_a_refusal_inside_http_200_is_a_failure(org, receiver, tell, run_worker):
    receiver.default = (200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})
    make_robot(org.team_a, RobotPlatform.FEISHU, f"{receiver.url}/hook/x", secret="wrong")
    tell(org.owner)
    run_worker()
    delivery = robot_delivery()
    # A wrong secret will not fix itself: no retry.
    assert delivery.status == DeliveryStatus.FAILED and "19021" in delivery.last_error
    assert len(receiver.requests) == 1


def test_a_500_is_retried_later_and_then_delivered(org, receiver, tell, run_worker):
    receiver.script = [(500, {"errcode": -1, "errmsg": "system busy"})]
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    tell(org.owner)
    run_worker()
    delivery = robot_delivery()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.response_code == 500 and "500" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()
    retry_job = DBTaskResult.objects.get(status="READY")
    assert retry_job.run_after == delivery.next_attempt_at and retry_job.args_kwargs["args"] == [delivery.key]

    run_worker()  # not due yet: nothing happens
    assert len(receiver.requests) == 1

    # Time passes: the retry becomes due.
    NotificationDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    DBTaskResult.objects.filter(pk=retry_job.pk).update(run_after=timezone.now())
    run_worker()
    delivery.refresh_from_db()
    assert len(receiver.requests) == 2
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.last_error) == (
        DeliveryStatus.SENT, 2, 200, "")
    assert receiver.requests[0]["json"] == receiver.requests[1]["json"]


def test_it_gives_up_after_the_last_attempt(org, receiver, tell):
    receiver.default = (503, {})
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    tell(org.owner)
    key = robot_delivery().key
    later = timezone.now()
    for _attempt in range(MAX_ATTEMPTS):
        later += timedelta(hours=1)
        delivery_send(key=key, now=later)
    delivery = robot_delivery()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.FAILED, MAX_ATTEMPTS, 503)
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert delivery_send(key=key, now=later + timedelta(days=1)) == "skipped"


def test_an_unreachable_robot_is_retried(org, tell):
    make_robot(org.team_a, RobotPlatform.WECOM, "http://127.0.0.1:9/send?key=k")  # discard port: refused
    tell(org.owner)
    assert deliver_notification.call(robot_delivery().key) == DeliveryStatus.PENDING
    assert "Could not reach the robot" in robot_delivery().last_error


def test_a_job_that_runs_twice_sends_once(org, receiver, tell, run_worker):
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    tell(org.owner)
    key = robot_delivery().key
    deliver_notification.enqueue(key)  # a second job for the same delivery
    jobs = [job for job in DBTaskResult.objects.filter(status="READY") if job.args_kwargs["args"] == [key]]
    assert len(jobs) == 2
    run_worker()
    assert deliver_notification.call(key) == "skipped"
    assert len(receiver.requests) == 1
    assert robot_delivery().attempts == 1


def test_email_reaches_the_recipient_through_the_worker(org, tell, run_worker):
    tell(org.owner)
    assert mail.outbox == []  # nothing is sent in the request; the worker does it
    run_worker()
    [message] = mail.outbox
    assert message.to == ["owner@example.com"] and MESSAGE in message.subject
    assert MESSAGE in message.body and "http://localhost:8000/leads/1/" in message.body
    assert NotificationDelivery.objects.get(channel=DeliveryChannel.EMAIL).status == DeliveryStatus.SENT


def test_preferences_decide_in_app_and_email(org, tell, run_worker):
    NotificationPreference.objects.create(user=org.owner, kind="handoff.request", in_app=False, email=False)
    NotificationPreference.objects.create(user=org.outsider, kind="handoff.request", in_app=True, email=False)
    NotificationPreference.objects.create(user=org.manager, kind="lead.assigned", in_app=True, email=True)
    for person in (org.owner, org.teammate, org.outsider):
        tell(person)
    for person in (org.teammate, org.manager):
        tell(person, kind="lead.assigned")  # the daily summary by default for this kind; the manager opted in
    run_worker()
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == [
        "manager", "outsider", "teammate"]
    assert list(SummaryItem.objects.values_list("recipient__username", flat=True)) == ["teammate"]
    assert sorted(m.to[0] for m in mail.outbox) == ["manager@example.com", "teammate@example.com"]


def test_nobody_without_an_email_address_gets_an_email_delivery(org, tell):
    org.owner.email = ""
    org.owner.save()
    tell(org.owner)
    assert not NotificationDelivery.objects.filter(channel=DeliveryChannel.EMAIL).exists()


def test_robots_follow_team_tree_events_and_switch(org, receiver, tell, run_worker):
    sales = org.team_a.parent
    make_robot(sales, RobotPlatform.WECOM, f"{receiver.url}/sales?key=k")  # parent team: sees team A
    make_robot(org.team_b, RobotPlatform.WECOM, f"{receiver.url}/team-b?key=k")  # other team
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/off?key=k", is_active=False)
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/other-events?key=k", kinds=["deal.won"])
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/hand-offs?key=k", kinds=["handoff.request"])
    tell(org.owner)
    run_worker()
    assert sorted(r["path"] for r in receiver.requests) == ["/hand-offs", "/sales"]


def test_a_rollback_sends_nothing(org, receiver, run_worker):
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(recipient=org.owner, kind="handoff.request", message=MESSAGE)
        raise RuntimeError("the business write failed")
    run_worker()
    assert not Notification.objects.exists() and not NotificationDelivery.objects.exists()
    assert receiver.requests == [] and mail.outbox == []


def test_a_key_makes_notify_idempotent(org, receiver, tell, run_worker):
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    tell(org.owner, key="followup-due:42:2026-11-22")
    tell(org.owner, key="followup-due:42:2026-11-22")  # the sweep ran again
    tell(org.teammate, key="followup-due:42:2026-11-22")  # another person, same event: their own
    run_worker()
    assert Notification.objects.filter(recipient=org.owner).count() == 1
    assert len(mail.outbox) == 2 and len(receiver.requests) == 2


def test_the_recovery_sweep_requeues_lost_and_stuck_deliveries(org, receiver, run_worker):
    robot = make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    long_ago = timezone.now() - timedelta(hours=1)
    NotificationDelivery.objects.create(key="lost", channel=robot.platform, robot=robot, kind="lead.assigned",
                                        subject="丢失的", body="", created_at=long_ago)
    NotificationDelivery.objects.create(key="stuck", channel=robot.platform, robot=robot, kind="lead.assigned",
                                        subject="卡住的", body="", status=DeliveryStatus.SENDING, attempts=1,
                                        claimed_at=long_ago, created_at=long_ago)
    NotificationDelivery.objects.create(key="fresh", channel=robot.platform, robot=robot, kind="lead.assigned",
                                        subject="刚排队的", body="")
    assert deliveries_recover() == 2
    run_worker()
    assert sorted(r["json"]["markdown"]["content"].split("**")[1] for r in receiver.requests) == [
        "【Closeloop】丢失的", "【Closeloop】卡住的"]
    assert deliveries_recover() == 0


def test_assigning_a_lead_notifies_through_every_channel(org, make_lead, receiver, django_capture_on_commit_callbacks,
                                                         run_worker):
    make_robot(org.team_a, RobotPlatform.DINGTALK, f"{receiver.url}/robot/send?access_token=t", secret="SECabc")
    NotificationPreference.objects.create(user=org.owner, kind="lead.assigned", in_app=True, email=True)
    with django_capture_on_commit_callbacks(execute=True):
        lead = make_lead(owner=org.owner, company_name="杭州回路软件有限公司")
    run_worker()
    assert Notification.objects.filter(recipient=org.owner, url=lead.get_absolute_url()).exists()
    assert any("杭州回路软件" in m.subject for m in mail.outbox)
    assert any("杭州回路软件" in r["json"]["markdown"]["text"] for r in receiver.requests)


def test_someone_who_left_gets_no_email_or_robot_message(org, receiver, tell):
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    org.owner.is_active = False
    org.owner.save()
    tell(org.owner)
    assert Notification.objects.filter(recipient=org.owner).exists()
    assert not NotificationDelivery.objects.exists()


def test_notify_costs_a_fixed_number_of_queries(org, receiver, django_assert_num_queries):
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    make_robot(org.team_a.parent, RobotPlatform.FEISHU, f"{receiver.url}/hook/x")
    # preferences, in-app row, robots, team paths, delivery rows (one insert for all three)
    with transaction.atomic(), django_assert_num_queries(5):
        notify(recipient=org.owner, kind="handoff.request", message=MESSAGE)
    # Then preferences and robots come from the configuration cache: the two inserts remain.
    with transaction.atomic(), django_assert_num_queries(2):
        notify(recipient=org.owner, kind="handoff.request", message=MESSAGE)
    assert NotificationDelivery.objects.count() == 6


def test_a_changed_preference_or_robot_applies_to_the_next_notice(org, receiver):
    from closeloop.core.models import NotificationPreference

    notify(recipient=org.owner, kind="handoff.request", message=MESSAGE)  # fills the cache
    assert not NotificationDelivery.objects.filter(channel=RobotPlatform.WECOM).exists()
    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    NotificationPreference.objects.create(user=org.owner, kind="handoff.request", in_app=False, email=False)
    notify(recipient=org.owner, kind="handoff.request", message=MESSAGE)
    assert NotificationDelivery.objects.filter(channel=RobotPlatform.WECOM).count() == 1
    assert Notification.objects.filter(recipient=org.owner).count() == 1  # the second stayed out of the app


def test_in_app_only_keeps_loading_data_quiet(org, receiver, tell):
    from closeloop.core.notify import in_app_only

    make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    with in_app_only():
        tell(org.owner)
    assert Notification.objects.filter(recipient=org.owner).count() == 1
    assert not NotificationDelivery.objects.exists()
    tell(org.owner)  # outside the block, delivery is back
    assert NotificationDelivery.objects.count() == 2


def test_loading_the_demo_sends_nothing_outside_the_app(db):
    from io import StringIO

    from django.core.management import call_command

    call_command("demo", leads=20, stdout=StringIO())
    assert Notification.objects.exists()
    assert not NotificationDelivery.objects.exists()


@pytest.mark.parametrize(("platform", "url", "ok"), [
    (RobotPlatform.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", True),
    (RobotPlatform.DINGTALK, "https://oapi.dingtalk.com/robot/send?access_token=t", True),
    (RobotPlatform.FEISHU, "https://open.feishu.cn/open-apis/bot/v2/hook/x", True),
    (RobotPlatform.FEISHU, "https://open.larksuite.com/open-apis/bot/v2/hook/x", True),
    (RobotPlatform.WECOM, "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", False),  # not https
    (RobotPlatform.WECOM, "https://oapi.dingtalk.com/robot/send?access_token=t", False),  # another platform's host
    (RobotPlatform.WECOM, "http://127.0.0.1:8000/api/openapi.json", False),  # an internal address
    (RobotPlatform.DINGTALK, "http://169.254.169.254/latest/meta-data/", False),
])
def test_robots_post_only_to_their_platform(org, settings, platform, url, ok):
    from closeloop.core.services import robot_save

    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = []
    data = {"name": "群", "department": org.team_a, "platform": platform, "webhook_url": url, "kinds": [],
            "is_active": True}
    if ok:
        assert robot_save(actor=org.admin, data=data).webhook_url == url
    else:
        from closeloop.core.errors import ValidationFailed

        with pytest.raises(ValidationFailed) as caught:
            robot_save(actor=org.admin, data=data)
        assert caught.value.field_errors["webhook_url"]


def test_a_robot_stored_before_the_rules_is_not_called(org, receiver, settings):
    robot = make_robot(org.team_a, RobotPlatform.WECOM, f"{receiver.url}/send?key=k")
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = []
    from closeloop.core import robots

    result = robots.send(platform=robot.platform, webhook_url=robot.webhook_url, secret="", title="t", text="x")
    assert not result.ok and not result.retryable and "qyapi.weixin.qq.com" in result.error
    assert not receiver.requests
