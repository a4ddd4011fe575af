"""Follow-up pages: logging on any record's page and inline on Today, the Today page's sections, people,
hand-offs and comments on every record type as owner, teammate, manager and outsider."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.core.models import Channel
from closeloop.deals.models import Opportunity
from closeloop.followup.models import Activity, Comment, Handoff, HandoffStatus, Participant
from closeloop.followup.services import activity_log, follow_up_time
from closeloop.leads.models import LeadStatus
from closeloop.leads.services.editing import lead_update


@pytest.fixture
def qualified(org):
    def qualify(lead):
        return lead_update(lead=lead, data={"status": LeadStatus.QUALIFIED}, actor=org.admin, channel=Channel.WEB)

    return qualify


def test_log_follow_up_on_the_lead_page(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    assert 'id="log-follow-up"' in client.get(lead.get_absolute_url()).content.decode()
    due = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("followup:activity_create", args=["lead", lead.pk]), {
        "kind": "call", "content": "第一次电话", "next_follow_up_at": due})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.next_follow_up_at is not None and lead.status == LeadStatus.CONTACTING
    assert "第一次电话" in client.get(lead.get_absolute_url()).content.decode()


def test_today_lists_due_items_and_logs_inline(client, org, make_deal, make_lead):
    deal = make_deal()
    activity_log(actor=org.owner, record=deal, data={
        "kind": "call", "content": "x", "next_follow_up_at": timezone.now() + timedelta(minutes=5)})
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=timezone.now() - timedelta(hours=1))
    new_lead = make_lead()
    client.force_login(org.owner)
    body = client.get("/").content.decode()
    assert deal.name in body and "Overdue follow-up" in body and str(new_lead) in body
    url = reverse("followup:activity_create", args=["opportunity", deal.pk])
    form = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<form" in form and "<html" not in form
    # The inline form proposes the next follow-up from the pipeline's interval; the person keeps it.
    proposed = timezone.localtime(follow_up_time(7)).strftime("%Y-%m-%d %H:%M")
    assert f'value="{proposed}"' in form
    response = client.post(url, {"kind": "visit", "content": "上门拜访", "next_follow_up_at": proposed},
                           HTTP_HX_REQUEST="true")
    assert "Follow-up logged" in response.content.decode()
    assert Activity.objects.filter(opportunity=deal, kind="visit").exists()
    assert deal.name not in client.get("/").content.decode()


def test_an_inline_follow_up_confirms_the_new_next_follow_up_time(client, org, make_deal, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    deal = make_deal()
    old = timezone.now() + timedelta(days=1)
    activity_log(actor=org.owner, record=deal, data={"kind": "call", "content": "x", "next_follow_up_at": old})
    client.force_login(org.owner)
    new = (timezone.localtime() + timedelta(days=3)).replace(second=0, microsecond=0)
    response = client.post(reverse("followup:activity_create", args=["opportunity", deal.pk]),
                           {"kind": "visit", "content": "上门拜访", "next_follow_up_at": new.strftime("%Y-%m-%dT%H:%M")},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert f"Next follow-up: {new:%Y-%m-%d %H:%M}" in body
    assert f"{timezone.localtime(old):%Y-%m-%d %H:%M}" not in body


# People, hand-offs and comments on every record type, as the people who see it and those who do not.
WHO_SEES = {"owner": True, "teammate": False, "manager": True, "outsider": False}


@pytest.fixture
def records(org, make_lead, make_customer, make_deal):
    return {"lead": make_lead(), "customer": make_customer(), "opportunity": make_deal()}


@pytest.mark.parametrize("record_type", ["lead", "customer", "opportunity"])
@pytest.mark.parametrize(("who", "sees"), WHO_SEES.items())
def test_every_record_page_has_the_follow_up_family_for_those_who_see_it(client, org, records, record_type, who,
                                                                           sees):
    record = records[record_type]
    client.force_login(getattr(org, who))
    page = client.get(record.get_absolute_url())
    assert page.status_code == (200 if sees else 404)
    if sees:
        body = page.content.decode()
        for part in ('id="log-follow-up"', 'id="comments"', "Add a collaborator", "Request a hand-off"):
            assert part in body, part
    for name, data in (("followup:participant_add", {"user": org.teammate.pk, "role": "presales"}),
                       ("followup:handoff_create", {}), ("followup:comment_create", {"body": "看一下"})):
        response = client.post(reverse(name, args=[record_type, record.pk]), data)
        # An incomplete hand-off comes back as its form, with what is missing marked.
        assert response.status_code == ((200 if name == "followup:handoff_create" else 302) if sees else 404), name
    assert client.get(reverse("followup:activity_create", args=[record_type, record.pk])).status_code == (
        200 if sees else 404)
    if sees:
        assert Participant.objects.for_record(record).filter(user=org.teammate, role="presales").exists()
        assert Comment.objects.for_record(record).get().body == "看一下"
    else:
        assert not Participant.objects.exists() and not Comment.objects.exists()


def test_an_unknown_record_type_is_a_404(client, org):
    client.force_login(org.admin)
    assert client.get(reverse("followup:activity_create", args=["user", org.owner.pk])).status_code == 404


def test_a_handoff_on_a_lead_lets_the_receiver_see_and_answer_it(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    due = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("followup:handoff_create", args=["lead", lead.pk]),
                {"assignee": org.outsider.pk, "title": "核实资质", "role": "presales", "due_at": due})
    handoff = Handoff.objects.for_record(lead).get()
    client.force_login(org.outsider)
    assert "核实资质" in client.get("/").content.decode()  # Today: a hand-off to confirm
    assert client.get(lead.get_absolute_url()).status_code == 200
    client.post(reverse("followup:handoff_respond", args=[handoff.pk]), {"answer": "decline", "note": "不是我"})
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.DECLINED
    assert client.get(lead.get_absolute_url()).status_code == 404
    # Someone who never saw the record cannot answer for it either.
    client.force_login(org.teammate)
    response = client.post(reverse("followup:handoff_respond", args=[handoff.pk]), {"answer": "accept"})
    assert response.status_code == 404


def test_the_handoff_shows_what_is_asked_where_it_is_answered(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    due = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("followup:handoff_create", args=["lead", lead.pk]), {
        "assignee": org.outsider.pk, "title": "技术评估", "role": "presales", "due_at": due,
        "details": "请评估对接 ERP 的可行性\n客户用的是用友"})
    client.force_login(org.outsider)
    html = client.get(lead.get_absolute_url()).content.decode()
    handoffs = html.split('id="comments"')[0].rsplit("</h2>", 1)[-1]  # the hand-off list, before the comments
    assert "Accept" in handoffs and "请评估对接 ERP 的可行性<br>客户用的是用友" in handoffs


def test_a_refused_handoff_keeps_what_was_typed(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    response = client.post(reverse("followup:handoff_create", args=["lead", lead.pk]), {
        "assignee": org.owner.pk, "title": "技术评估", "role": "presales", "due_at": "明天",
        "details": "写了很久的一段说明"})
    html = response.content.decode()
    assert response.status_code == 200 and "写了很久的一段说明</textarea>" in html
    assert "Hand the task to someone else." in html and not Handoff.objects.exists()
    response = client.post(reverse("followup:handoff_create", args=["lead", lead.pk]), {"details": "只写了说明"})
    assert "只写了说明</textarea>" in response.content.decode() and "Please correct the marked fields." in response.content.decode()


def test_the_lead_page_shows_what_deals_adds(client, org, make_lead, qualified):
    lead = make_lead()
    client.force_login(org.owner)
    assert "Convert to deal" not in client.get(lead.get_absolute_url()).content.decode()
    lead = qualified(lead)
    body = client.get(lead.get_absolute_url()).content.decode()
    assert "Convert to deal" in body and reverse("deals:convert", args=[lead.pk]) in body


def test_today_has_a_section_per_source_and_each_record_once(client, org, make_lead, make_deal):
    from closeloop.followup.today import end_of_day

    deal = make_deal()
    # Due later today whatever the hour the test runs (an hour from now is tomorrow after 23:00 local time).
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=end_of_day(timezone.now()).replace(microsecond=0))
    new_lead = make_lead()
    client.force_login(org.owner)
    body = client.get(reverse("followup:today")).content.decode()
    assert 'id="today-new_leads"' in body and 'id="today-follow_ups"' in body
    # The new lead's first contact is its follow-up and its task: listed once, as a new lead.
    assert body.count(f'href="{new_lead.get_absolute_url()}"') == 1
    assert body.index('id="today-new_leads"') < body.index(str(new_lead)) < body.index('id="today-follow_ups"')
    assert "Follow-up due" in body and deal.name in body


def test_the_follow_up_form_proposes_the_next_one_and_will_not_empty_it(client, org, make_lead):
    from closeloop.followup.services import follow_up_time

    lead = make_lead()
    client.force_login(org.owner)
    proposed = timezone.localtime(follow_up_time(3)).strftime("%Y-%m-%d %H:%M")
    page = client.get(lead.get_absolute_url()).content.decode()
    assert f'name="next_follow_up_at" value="{proposed}"' in page
    before = lead.next_follow_up_at
    response = client.post(reverse("followup:activity_create", args=["lead", lead.pk]), {
        "kind": "call", "content": "打过电话，没人接", "next_follow_up_at": ""})
    # Asked again, with what was typed kept; the lead's next follow-up is untouched.
    assert response.status_code == 200
    body = response.content.decode()
    assert "an open record always has a next step" in body and "打过电话，没人接" in body
    lead.refresh_from_db()
    assert lead.next_follow_up_at == before and not Activity.objects.exists()


def test_a_follow_up_takes_the_next_date_as_people_write_it(client, org, make_deal, settings):
    """Issue 15: 下周一 下午3点 in the next follow-up is next Monday at 15:00, 下周一 alone its morning."""
    settings.TIME_ZONE = "Asia/Shanghai"
    deal = make_deal()
    client.force_login(org.owner)
    url = reverse("followup:activity_create", args=["opportunity", deal.pk])
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    client.post(url, {"kind": "call", "content": "约好下周一再聊", "next_follow_up_at": "下周一 下午3点"})
    deal.refresh_from_db()
    assert timezone.localtime(deal.next_follow_up_at).strftime("%Y-%m-%d %H:%M") == f"{monday:%Y-%m-%d} 15:00"
    client.post(url, {"kind": "call", "content": "改到上午", "next_follow_up_at": "下周一"})
    deal.refresh_from_db()
    assert timezone.localtime(deal.next_follow_up_at).strftime("%Y-%m-%d %H:%M") == f"{monday:%Y-%m-%d} 10:00"


def test_a_follow_up_names_the_date_it_did_not_understand_and_keeps_the_text(client, org, make_deal):
    deal = make_deal()
    client.force_login(org.owner)
    response = client.post(reverse("followup:activity_create", args=["opportunity", deal.pk]),
                           {"kind": "call", "content": "打过电话", "next_follow_up_at": "2月30日"},
                           HTTP_ACCEPT_LANGUAGE="zh-CN")
    body = response.content.decode()
    assert "“2月30日”不是日历上的日子" in body and 'value="2月30日"' in body
    assert not deal.activities.exists()


def test_the_date_echo_shows_what_a_typed_date_will_be_saved_as(client, org):
    client.force_login(org.owner)
    url = reverse("date_echo")
    tomorrow = timezone.localdate() + timedelta(days=1)
    body = client.get(url, {"field": "next_follow_up_at", "as": "datetime", "echo": "id_next_follow_up_at_echo",
                            "next_follow_up_at": "明天 下午3点"}, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'id="id_next_follow_up_at_echo"' in body and f"{tomorrow:%Y-%m-%d}" in body and "15:00" in body
    body = client.get(url, {"field": "from", "bound": "start", "from": "2026年3月"}).content.decode()
    assert "2026-03-01" in body
    body = client.get(url, {"field": "to", "to": "2026年3月"}).content.decode()
    assert "2026-03-31" in body
    # The weekday in the language's own brackets: full-width ones in Chinese, plain ones in English.
    body = client.get(url, {"field": "from", "bound": "start", "from": "2026-03-01"},
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "→ 2026-03-01 (Sunday)" in body
    body = client.get(url, {"field": "from", "bound": "start", "from": "2026-03-01"},
                      HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "→ 2026-03-01（星期日）" in body
    body = client.get(url, {"field": "due", "due": "下周八"}, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "看不懂日期“下周八”" in body and "error" in body
    assert client.get(url, {"field": "x", "echo": "\"><script>"}).status_code == 404
    client.logout()
    assert client.get(url, {"field": "x"}).status_code == 302


def test_the_log_form_asks_for_its_echo_while_typing(client, org, make_deal):
    deal = make_deal()
    client.force_login(org.owner)
    body = client.get(deal.get_absolute_url()).content.decode()
    assert 'hx-get="/inputs/date/?field=next_follow_up_at' in body and 'id="id_next_follow_up_at_echo"' in body
