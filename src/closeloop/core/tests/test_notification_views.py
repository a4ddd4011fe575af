"""Pages for notifications: the inbox, personal settings, and the admin's group robots and delivery log."""

import pytest
from django.urls import reverse

from closeloop.core.models import AuditEntry, DeliveryStatus, GroupRobot, Notification, NotificationPreference
from closeloop.core.models import RobotPlatform as P

PEOPLE = ["owner", "teammate", "manager", "outsider"]
SECRET = "SECverysecretvalue0123456789"
TOKEN = "access_token=0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def robot(org, receiver):
    return GroupRobot.objects.create(name="一组钉钉群", department=org.team_a, platform=P.DINGTALK,
                                     webhook_url=f"{receiver.url}/robot/send?{TOKEN}", secret=SECRET)


def admin_pages(robot):
    return [reverse("robot_list"), reverse("robot_create"), reverse("robot_edit", args=[robot.pk]),
            reverse("robot_delete", args=[robot.pk]), reverse("delivery_list")]


@pytest.mark.parametrize("who", PEOPLE)
def test_robot_pages_are_hidden_from_non_admins(client, org, robot, receiver, who):
    client.force_login(getattr(org, who))
    for url in admin_pages(robot):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("robot_test", args=[robot.pk])).status_code == 404
    assert client.post(reverse("robot_delete", args=[robot.pk])).status_code == 404
    assert receiver.requests == [] and GroupRobot.objects.filter(pk=robot.pk).exists()


def test_robot_pages_never_show_the_secret_or_the_token(client, org, robot):
    client.force_login(org.admin)
    for url in admin_pages(robot):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert SECRET not in html and "0f1e2d3c4b5a69788796a5b4c3d2e1f0" not in html, url


def test_admin_adds_a_robot_and_the_trail_keeps_only_masks(client, org, receiver):
    client.force_login(org.admin)
    response = client.post(reverse("robot_create"), {
        "name": "一组飞书群", "department": org.team_a.pk, "platform": P.FEISHU, "is_active": "on",
        "webhook_url": f"{receiver.url}/open-apis/bot/v2/hook/abcdef123456", "secret": SECRET,
        "kinds": ["lead.assigned"],
    })
    robot = GroupRobot.objects.get(name="一组飞书群")
    assert response.status_code == 302 and robot.secret == SECRET and robot.kinds == ["lead.assigned"]
    entry = AuditEntry.objects.for_object(robot).get()
    assert entry.action == "robot.create" and SECRET not in str(entry.changes)
    assert "abcdef123456" not in str(entry.changes)


def test_a_robot_needs_an_http_url(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("robot_create"), {
        "name": "x", "department": org.team_a.pk, "platform": P.WECOM, "webhook_url": "ftp://example.com/x",
    })
    assert response.status_code == 200 and "webhook_url" in response.context["form"].errors
    assert not GroupRobot.objects.exists()


def test_blank_fields_keep_the_stored_credentials_and_clearing_removes_the_secret(client, org, robot):
    client.force_login(org.admin)
    url = robot.webhook_url
    data = {"name": "改名了", "department": org.team_a.pk, "platform": P.DINGTALK, "is_active": "on",
            "webhook_url": "", "secret": ""}
    assert client.post(reverse("robot_edit", args=[robot.pk]), data).status_code == 302
    robot.refresh_from_db()
    assert (robot.name, robot.webhook_url, robot.secret) == ("改名了", url, SECRET)
    client.post(reverse("robot_edit", args=[robot.pk]), {**data, "clear_secret": "on"})
    robot.refresh_from_db()
    assert robot.secret == "" and robot.webhook_url == url


def test_the_test_button_posts_a_signed_message_now(client, org, robot, receiver):
    client.force_login(org.admin)
    response = client.post(reverse("robot_test", args=[robot.pk]), follow=True)
    [request] = receiver.requests
    assert "sign" in request["query"] and request["json"]["msgtype"] == "markdown"
    assert robot.deliveries.get().status == DeliveryStatus.SENT
    assert "delivered" in response.content.decode()


def test_the_test_button_reports_a_refusal(client, org, robot, receiver):
    receiver.default = (200, {"errcode": 310000, "errmsg": "sign not match"})
    client.force_login(org.admin)
    response = client.post(reverse("robot_test", args=[robot.pk]), follow=True)
    assert "310000 sign not match" in response.content.decode()
    assert robot.deliveries.get().status == DeliveryStatus.FAILED


def test_deleting_a_robot_asks_first(client, org, robot):
    client.force_login(org.admin)
    assert client.get(reverse("robot_delete", args=[robot.pk])).status_code == 200
    assert GroupRobot.objects.filter(pk=robot.pk).exists()
    assert client.post(reverse("robot_delete", args=[robot.pk])).status_code == 302
    assert not GroupRobot.objects.filter(pk=robot.pk).exists()
    assert AuditEntry.objects.filter(action="robot.delete").exists()


def defaults(**changes):
    """The settings form as it comes, with some boxes changed: {"lead.assigned:email": False}."""
    from closeloop.core.notify import KINDS, default_channels

    data = {}
    for kind in KINDS.values():
        for channel, on in default_channels(kind)._asdict().items():
            data[f"{kind.kind}:{channel}"] = on
    data.update({name.replace("__", ":"): value for name, value in changes.items()})
    return {name: "on" for name, value in data.items() if value}


@pytest.mark.parametrize("who", PEOPLE)
def test_everyone_sets_their_own_preferences(client, org, who):
    person = getattr(org, who)
    client.force_login(person)
    page = client.get(reverse("notification_preferences"))
    html = page.content.decode()
    assert page.status_code == 200 and 'name="handoff.request:email" checked' in html
    assert 'name="lead.assigned:email" checked' not in html and 'name="lead.assigned:summary" checked' in html
    response = client.post(reverse("notification_preferences"), defaults(**{"handoff.request__email": False}))
    assert response.status_code == 302
    choice = NotificationPreference.objects.get(user=person, kind="handoff.request")
    assert (choice.in_app, choice.email) == (True, False)
    assert NotificationPreference.objects.count() == 1  # nobody else's choices changed
    entry = AuditEntry.objects.get(action="notification_preferences.update")
    assert entry.changes["handoff.request"] == [{"in_app": True, "email": True, "summary": False},
                                                {"in_app": True, "email": False, "summary": False}]


def test_saving_unchanged_preferences_writes_nothing(client, org):
    client.force_login(org.owner)
    client.post(reverse("notification_preferences"), defaults())
    assert not NotificationPreference.objects.exists()
    assert not AuditEntry.objects.filter(action="notification_preferences.update").exists()


@pytest.fixture
def inbox(org):
    return {who: Notification.objects.create(recipient=getattr(org, who), kind="lead.assigned",
                                             message=f"给{who}的通知", url="/leads/") for who in PEOPLE}


@pytest.mark.parametrize("who", PEOPLE)
def test_one_can_mark_only_ones_own_notification_read(client, org, inbox, who):
    client.force_login(getattr(org, who))
    others = [n for w, n in inbox.items() if w != who]
    for notification in others:
        assert client.post(reverse("notification_read", args=[notification.pk])).status_code in (302, 404)
        assert client.post(reverse("notification_read", args=[notification.pk]), HTTP_HX_REQUEST="true").status_code == 404
        assert client.get(reverse("notification_open", args=[notification.pk])).status_code == 404
    assert Notification.objects.filter(read_at__isnull=False).count() == 0
    mine = inbox[who]
    assert client.post(reverse("notification_read", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_marking_read_with_htmx_swaps_the_row_and_refreshes_the_badge(client, org, inbox):
    client.force_login(org.owner)
    assert 'class="badge">1<' in client.get(reverse("notification_badge")).content.decode()
    response = client.post(reverse("notification_read", args=[inbox["owner"].pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "notificationsChanged"
    assert "给owner的通知" in response.content.decode() and "Mark as read" not in response.content.decode()
    assert 'class="badge"' not in client.get(reverse("notification_badge")).content.decode()


def test_opening_a_notification_marks_it_read_and_follows_only_local_links(client, org, inbox):
    client.force_login(org.owner)
    response = client.get(reverse("notification_open", args=[inbox["owner"].pk]))
    assert response.status_code == 302 and response["Location"] == "/leads/"
    inbox["owner"].refresh_from_db()
    assert inbox["owner"].read_at is not None
    evil = Notification.objects.create(recipient=org.owner, kind="x", message="m", url="https://evil.example/")
    assert client.get(reverse("notification_open", args=[evil.pk]))["Location"] == reverse("notifications")


def test_the_inbox_lists_only_ones_own(client, org, inbox):
    client.force_login(org.teammate)
    html = client.get(reverse("notifications")).content.decode()
    assert "给teammate的通知" in html and "给owner的通知" not in html


def test_every_kind_sent_shows_up_in_the_settings(client, org):
    Notification.objects.create(recipient=org.owner, kind="quote.approved", message="报价已批准")
    client.force_login(org.owner)
    html = client.get(reverse("notification_preferences")).content.decode()
    assert 'name="quote.approved:in_app" checked' in html and 'name="reminder.escalation:email" checked' in html
    client.post(reverse("notification_preferences"), defaults(**{"quote.approved__email": True}))
    choice = NotificationPreference.objects.get(user=org.owner, kind="quote.approved")
    assert (choice.in_app, choice.email) == (False, True)  # the in-app box was not in the post
    assert NotificationPreference.objects.count() == 1


def test_every_kind_the_code_sends_has_a_label():
    # An unregistered kind still reaches people, but their settings list it by its raw key ("lead.duplicate").
    import re
    from pathlib import Path

    from closeloop.core.notify import KINDS

    root = Path(__file__).resolve().parents[2]
    sent = set()
    for path in root.rglob("*.py"):
        if "tests" not in path.parts and "migrations" not in path.parts:
            sent |= set(re.findall(r'notify\([^)]*?kind="([a-z_.]+)"', path.read_text(), re.S))
    assert {"lead.duplicate", "lead.touch", "lead.merged", "handoff.request"} <= sent
    assert sorted(sent - set(KINDS)) == []


def test_a_duplicate_lead_notification_is_named_in_the_settings(client, org):
    Notification.objects.create(recipient=org.owner, kind="lead.duplicate", message="有一条相似线索")
    client.force_login(org.owner)
    html = client.get(reverse("notification_preferences")).content.decode()
    assert "lead.duplicate</" not in html and "Someone entered a lead that looks like mine" in html
