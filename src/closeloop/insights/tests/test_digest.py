"""The weekly digest (每周复盘): the real sweep, the worker's deliveries to the development mailer's files and to a
group robot on loopback, one digest per manager and week however many workers run it, and only the manager's team.

The week: this week (Monday to Sunday), where the tests' records are made today; the sweep runs on the Monday after.
Team A (manager: owner and teammate) wins ¥10,000 from the website (官网) and loses a deal on price (价格过高); team B
(other_manager: outsider) wins ¥777,777 from an advert (广告) and loses one to a competitor (选择了竞争对手).
"""

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.core.models import DeliveryStatus, Notification, NotificationDelivery, NotificationPreference
from closeloop.core.schedule import SWEEPS
from closeloop.core.tests.conftest import at_once, written_mails
from closeloop.deals.services.opportunities import opportunity_move_stage
from closeloop.insights.digest import DIGEST_KIND, digests_send, due_week, week_of
from closeloop.insights.models import WeeklyDigest
from closeloop.insights.services import digest_settings_save

DEAL_FIELDS = {"need": "上线CRM", "budget": "50000", "authority": "总经理", "expected_close_date": "2027-01-15"}
THIS_WEEK = week_of(timezone.localdate())
MONDAY_AFTER = THIS_WEEK + timedelta(days=7)


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def mails(folder) -> dict:
    """{recipient: the parsed message} of every mail the development mailer wrote."""
    return {message["To"]: message for message in written_mails(folder)}


def parts(message) -> tuple[str, str]:
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())


@pytest.fixture
def week(org, make_lead, make_deal, stages):
    """Both teams' week (see the module's docstring)."""
    for _n in range(2):
        make_lead(owner=org.owner, source="官网")
    make_lead(owner=org.outsider, source="广告")
    for owner, amount, reason in ((org.owner, "10000", "价格过高"), (org.outsider, "777777", "选择了竞争对手")):
        won = make_deal(owner=owner, amount=amount, **DEAL_FIELDS)
        for name in ("需求确认", "方案报价", "赢单"):
            opportunity_move_stage(opportunity=won, stage=stages[name], actor=owner)
        lost = make_deal(owner=owner, amount="8000")
        opportunity_move_stage(opportunity=lost, stage=stages["输单"], actor=owner, fields={"lost_reason": reason})


def test_the_digest_is_due_from_monday_at_the_set_time_for_the_week_before(org):
    assert due_week(at(MONDAY_AFTER, 7, 59)) is None
    assert due_week(at(MONDAY_AFTER, 8, 0)) == THIS_WEEK
    assert due_week(at(MONDAY_AFTER + timedelta(days=2), 3)) == THIS_WEEK  # a late run still sends it
    digest_settings_save(actor=org.admin, send_at=time(9, 30))
    assert due_week(at(MONDAY_AFTER, 9, 29)) is None
    assert due_week(at(MONDAY_AFTER, 9, 30)) == THIS_WEEK
    assert SWEEPS["insights.weekly_digests"].every_seconds


def test_the_worker_mails_each_manager_their_own_teams_week(org, week, run_worker, mail_dir, settings,
                                                           django_capture_on_commit_callbacks):
    settings.LANGUAGE_CODE = "zh-hans"  # the site's (the tests' is English)
    assert digests_send(now=at(MONDAY_AFTER, 7, 55)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send(now=at(MONDAY_AFTER, 8, 5)) == 2  # the two managers; the admin has no team
    run_worker()
    assert set(NotificationDelivery.objects.filter(kind=DIGEST_KIND).values_list("status", flat=True)) == {
        DeliveryStatus.SENT}
    sent = mails(mail_dir)
    assert sorted(sent) == ["manager@example.com", "other_manager@example.com"]

    text, html = parts(sent["manager@example.com"])
    for body in (text, html):
        assert "官网" in body and "¥10,000.00" in body and "价格过高" in body
        # Nothing of team B's: its source, its amount, its reason.
        assert "广告" not in body and "777,777" not in body and "选择了竞争对手" not in body
    assert "<table" in html and "<script" not in html and ".digest .bar" in html  # the stylesheet, in its head
    week_link = f"/insights/?period=custom&amp;start={THIS_WEEK}&amp;end={THIS_WEEK + timedelta(days=6)}"
    assert week_link in html
    assert week_link.replace("&amp;", "&") in text

    text, html = parts(sent["other_manager@example.com"])
    assert "广告" in html and "777,777" in html and "选择了竞争对手" in html
    assert "官网" not in html and "价格过高" not in html
    # In the site's language (Chinese) unless the manager chose another.
    assert sent["other_manager@example.com"]["Subject"].startswith("[Closeloop] 每周复盘")


def test_a_manager_who_chose_english_reads_it_in_english(client, org, week, run_worker, mail_dir, settings,
                                                         django_capture_on_commit_callbacks):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(org.manager)
    response = client.post(reverse("notification_preferences"), {f"{DIGEST_KIND}:email": "on", "language": "en"})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        digests_send(now=at(MONDAY_AFTER, 8, 5))
    run_worker()
    message = mails(mail_dir)["manager@example.com"]
    assert message["Subject"].startswith("[Closeloop] Weekly review")
    assert "New leads by source" in parts(message)[1]


def test_the_team_robot_gets_a_markdown_summary(org, week, receiver, run_worker, settings,
                                                django_capture_on_commit_callbacks):
    from closeloop.core.models import GroupRobot

    settings.LANGUAGE_CODE = "zh-hans"
    GroupRobot.objects.create(name="一组群", department=org.team_a, platform="wecom",
                              webhook_url=f"{receiver.url}/cgi-bin/webhook/send?key=a")
    # A robot that takes other events only hears nothing of it.
    GroupRobot.objects.create(name="二组群", department=org.team_b, platform="wecom", kinds=["lead.assigned"],
                              webhook_url=f"{receiver.url}/cgi-bin/webhook/send?key=b")
    with django_capture_on_commit_callbacks(execute=True):
        digests_send(now=at(MONDAY_AFTER, 8, 5))
    run_worker()
    assert [request["query"]["key"] for request in receiver.requests] == [["a"]]
    content = receiver.requests[0]["json"]["markdown"]["content"]
    assert "每周复盘" in content and "manager" in content and "¥10,000.00" in content
    assert "777,777" not in content
    assert f"start={THIS_WEEK}" in content


def test_a_second_run_sends_nothing_and_a_manager_may_turn_it_off(org, week, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=org.other_manager, kind=DIGEST_KIND, in_app=False, email=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send(now=at(MONDAY_AFTER, 8, 5)) == 2
        assert digests_send(now=at(MONDAY_AFTER, 8, 10)) == 0
    assert list(NotificationDelivery.objects.filter(kind=DIGEST_KIND).values_list("recipient__username", flat=True)) == [
        "manager"]
    assert WeeklyDigest.objects.filter(week=THIS_WEEK).count() == 2  # turned off: claimed, nothing sent
    notice = Notification.objects.get(recipient=org.manager, kind=DIGEST_KIND)
    assert notice.url == f"{reverse('insights:digest')}?manager={org.manager.pk}&week={THIS_WEEK}"


def test_an_administrator_with_a_team_gets_the_whole_subtree(org, week, django_capture_on_commit_callbacks):
    org.admin.department = org.team_a.parent  # 销售部: both teams
    org.admin.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send(now=at(MONDAY_AFTER, 8, 5)) == 3
    body = NotificationDelivery.objects.get(recipient=org.admin, kind=DIGEST_KIND).html
    assert "官网" in body and "广告" in body and "¥787,777.00" in body


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_digest_per_manager(org):
    results = at_once(lambda: digests_send(now=at(MONDAY_AFTER, 8, 5)))
    assert sum(results) == 2
    assert WeeklyDigest.objects.count() == 2
    assert NotificationDelivery.objects.filter(kind=DIGEST_KIND).count() == 2


def test_the_preview_shows_a_manager_their_own_and_an_administrator_anyones(client, org, week):
    url = reverse("insights:digest") + f"?week={THIS_WEEK}"
    client.force_login(org.manager)
    page = client.get(url + f"&manager={org.other_manager.pk}")  # not theirs: their own instead
    assert page.status_code == 200
    assert "官网" in page.text and "广告" not in page.text and "777,777" not in page.text
    client.force_login(org.admin)
    page = client.get(url + f"&manager={org.other_manager.pk}")
    assert "广告" in page.text and "官网" not in page.text
    for name in ("owner", "teammate", "outsider", "marketer"):
        client.force_login(getattr(org, name))
        assert client.get(url).status_code == 403


def test_only_an_administrator_sets_the_time(client, org):
    client.force_login(org.manager)
    assert client.get(reverse("insights:digest_settings")).status_code == 403
    client.force_login(org.admin)
    response = client.post(reverse("insights:digest_settings"), {"send_at": "09:15"})
    assert response.status_code == 302
    assert due_week(at(MONDAY_AFTER, 9, 14)) is None and due_week(at(MONDAY_AFTER, 9, 15)) == THIS_WEEK


def test_the_digest_shows_each_radar_kind_against_a_week_earlier(org, make_lead):
    """The radar's counts now against the last recount of the week before the one reviewed, in the mail (HTML and
    text) and the robot's message with the records broken longest; "no data" when the worker did not recount then."""
    from closeloop.insights import radar
    from closeloop.insights.digest import digest_build, digest_render
    from closeloop.leads.models import Lead

    def overdue(owner):
        lead = make_lead(owner=owner)
        Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=30))
        return lead

    overdue(org.owner)
    overdue(org.outsider)  # another team's: not in the manager's figures
    radar.recount(at(THIS_WEEK - timedelta(days=3), 12))  # the week before the reviewed one: one broken of team A
    first = digest_build(org.manager, THIS_WEEK - timedelta(days=7), at(THIS_WEEK, 8, 5))
    assert first.radar_before is None  # the week before that one had no recount: no data, not 0
    assert "a week earlier: no data" in digest_render(first)["text"]
    for owner in (org.owner, org.teammate, org.teammate):
        overdue(owner)
    radar.recount(at(MONDAY_AFTER, 8))
    digest = digest_build(org.manager, THIS_WEEK, at(MONDAY_AFTER, 8, 5))
    rows = {kind.key: (n, was, change) for kind, n, was, change in digest.radar}
    assert rows["leads.first_contact_overdue"] == (4, 1, 3)
    assert digest.radar_before == 1 and digest.radar_total >= 4
    content = digest_render(digest)
    assert "First contact overdue: 4 (a week earlier: 1, +3)" in content["text"]
    assert ">A week earlier</th>" in content["html"] and '<td class="num">+3</td>' in content["html"]
    assert f"Breakpoints: {digest.radar_total} (a week earlier: 1)" in content["markdown"]
    assert "  - First contact overdue: 4 (+3)" in content["markdown"]
    assert "Broken longest" in content["markdown"] and digest.worst
    worst = digest.worst[0]
    assert f"[{worst.record}](http" in content["markdown"] and worst.url in content["markdown"]
    # A kind that went down shows a negative change, and stays listed while it was broken a week earlier.
    Lead.objects.filter(owner__in=[org.owner, org.teammate]).delete()
    radar.recount(at(MONDAY_AFTER, 9))
    again = digest_build(org.manager, THIS_WEEK, at(MONDAY_AFTER, 9, 5))
    rows = {kind.key: (n, was, change) for kind, n, was, change in again.radar}
    assert rows["leads.first_contact_overdue"] == (0, 1, -1)
    assert "First contact overdue: 0 (a week earlier: 1, -1)" in digest_render(again)["text"]
    assert all(n or was for n, was, _change in rows.values())  # a kind broken in neither week is left out


def test_a_lead_of_the_week_converted_after_it_reads_as_no_contradiction(org, make_lead, stages):
    """The source table counts the week's new leads that became a deal by now; the conversion line counts the deals
    created in the week. A lead of the week converted on the Monday after is 1 in the first and 0 in the second:
    both figures say what they count, in English and in Chinese (not "转为商机 1" beside "新建商机 0")."""
    from django.utils import translation

    from closeloop.deals.models import Opportunity
    from closeloop.deals.services.conversion import lead_convert
    from closeloop.insights.digest import digest_build, digest_render
    from closeloop.leads.models import Lead, LeadStatus

    lead = make_lead(owner=org.owner)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.QUALIFIED, created_at=at(THIS_WEEK - timedelta(days=5), 10))
    deal = lead_convert(lead=lead, actor=org.owner).opportunity
    Opportunity.objects.filter(pk=deal.pk).update(created_at=at(THIS_WEEK, 9))  # the Monday after the reviewed week
    digest = digest_build(org.manager, THIS_WEEK - timedelta(days=7), at(THIS_WEEK, 10))
    assert digest.sources["total"]["deals"] == 1 and digest.funnel["total"] == 0
    content = digest_render(digest)
    assert "became a deal and were won by now" in content["text"]
    assert "Became a deal 1 (100.0%)" in content["text"]
    assert "0 deals created in the week (converted leads included), 0 won and 0 lost of them so far." in content["text"]
    with translation.override("zh-hans"):
        content = digest_render(digest_build(org.manager, THIS_WEEK - timedelta(days=7), at(THIS_WEEK, 10)))
    for part in (content["text"], content["html"]):
        assert "转为商机" not in part
        assert "本周新建的线索，及其中至今已认定、已转商机、已赢单的数量" in part
        assert "本周新建商机 0 个（含线索转化的），其中至今赢单 0 个、输单 0 个。" in part
    assert "已转商机 1" in content["text"] and '<th class="num">已转商机</th>' in content["html"]
