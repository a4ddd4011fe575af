"""Notification defaults a person would keep, and the 08:30 daily summary (issue 15)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.urls import reverse

from closeloop.core.models import (
    AuditEntry,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    SummaryItem,
)
from closeloop.core.notify import notify
from closeloop.core.schedule import SWEEPS, next_due
from closeloop.core.tests.conftest import written_mails

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def tell(django_capture_on_commit_callbacks):
    def send(recipient, kind, message, url="/leads/"):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            notify(recipient=recipient, kind=kind, message=message, url=url)
    return send


def test_a_new_lead_waits_for_the_summary_instead_of_an_unread_item(org, tell):
    tell(org.owner, "lead.assigned", "新线索：甲公司")
    assert not Notification.objects.filter(recipient=org.owner).exists()
    assert SummaryItem.objects.get(recipient=org.owner).message == "新线索：甲公司"
    # What a person must act on stays in the app, unread.
    tell(org.owner, "handoff.request", "李四请你做技术评估")
    assert Notification.objects.filter(recipient=org.owner, read_at__isnull=True).count() == 1


def test_the_summary_sweep_runs_at_half_past_eight_shanghai_time(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    sweep = SWEEPS["core.daily_summaries"]
    at_seven = datetime(2026, 12, 7, 7, 0, tzinfo=SHANGHAI)
    assert next_due(sweep, at_seven) == datetime(2026, 12, 7, 8, 30, tzinfo=SHANGHAI)


def test_the_worker_mails_one_summary_per_person_who_has_events_waiting(org, tell, run_worker, mail_dir,
                                                                       django_capture_on_commit_callbacks):
    for n in range(12):
        tell(org.owner, "lead.assigned", f"新线索：公司{n}", url=f"/leads/{n}/")
    tell(org.owner, "pool.returned", "你的 1 条线索已退回公海")
    tell(org.teammate, "lead.assigned", "新线索：乙公司")
    org.outsider.email = ""
    org.outsider.save()
    tell(org.outsider, "lead.assigned", "新线索：丙公司")

    SWEEPS["core.daily_summaries"].enqueue()  # as the scheduler does at 08:30
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()  # the sweep: one delivery per person with a mailbox, queued when it commits
    run_worker()  # the deliveries
    summaries = NotificationDelivery.objects.filter(kind="notification.summary")
    assert sorted(summaries.values_list("recipient__username", flat=True)) == ["owner", "teammate"]
    assert set(summaries.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert not SummaryItem.objects.filter(summarized_at__isnull=True).exists()

    mails = written_mails(mail_dir)
    assert sorted(m["To"] for m in mails) == ["owner@example.com", "teammate@example.com"]
    owner_mail = next(m for m in mails if m["To"] == "owner@example.com")
    assert "13" in owner_mail["Subject"]  # one mail counting every event
    body = owner_mail.get_body().get_content()
    assert "新线索：公司11" in body and "你的 1 条线索已退回公海" in body and "/leads/11/" in body
    assert "新线索：公司0" not in body  # ten lines a kind, the rest counted

    # Idempotent: a second run the same morning sends nothing more, and an event after it waits for tomorrow.
    tell(org.owner, "lead.assigned", "新线索：晚到的公司")
    SWEEPS["core.daily_summaries"].enqueue()
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run_worker()
    assert NotificationDelivery.objects.filter(kind="notification.summary").count() == 2
    assert SummaryItem.objects.get(summarized_at__isnull=True).message == "新线索：晚到的公司"


def test_a_person_chooses_the_summary_or_nothing_per_kind(client, org, tell):
    client.force_login(org.owner)
    page = client.get(reverse("notification_preferences")).content.decode()
    assert 'name="lead.assigned:summary" checked' in page and 'name="lead.assigned:in_app" checked' not in page
    assert 'name="handoff.request:in_app" checked' in page and 'name="handoff.request:summary" checked' not in page
    data = {"handoff.request:in_app": "on", "handoff.request:summary": "on"}  # a hand-off: the app and the summary
    response = client.post(reverse("notification_preferences"), data)
    assert response.status_code == 302
    stored = {p.kind: (p.in_app, p.email, p.summary) for p in NotificationPreference.objects.filter(user=org.owner)}
    assert stored["handoff.request"] == (True, False, True)
    assert stored["lead.assigned"] == (False, False, False)  # every box cleared: not at all
    tell(org.owner, "lead.assigned", "新线索：丁公司")
    assert not SummaryItem.objects.exists() and not Notification.objects.filter(kind="lead.assigned").exists()
    entry = AuditEntry.objects.get(action="notification_preferences.update")
    assert entry.changes["lead.assigned"][1] == {"in_app": False, "email": False, "summary": False}


def test_a_mail_at_once_and_the_summary_are_not_both_chosen(client, org):
    client.force_login(org.owner)
    response = client.post(reverse("notification_preferences"),
                           {"handoff.request:email": "on", "handoff.request:summary": "on"},
                           HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 200 and "“立即发邮件”和“每日摘要”请选其一" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_the_demo_leaves_each_rep_a_handful_of_meaningful_unread_items(db):
    from io import StringIO

    from django.core.management import call_command

    call_command("demo", leads=60, stdout=StringIO())
    unread = Notification.objects.filter(recipient__username__startswith="rep", read_at__isnull=True)
    assert not unread.filter(kind="lead.assigned").exists()  # Today lists them; before, one unread item each
    per_rep = {}
    for username in unread.values_list("recipient__username", flat=True):
        per_rep[username] = per_rep.get(username, 0) + 1
    assert max(per_rep.values(), default=0) <= 10, per_rep
