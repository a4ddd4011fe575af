"""Follow-up templates (issue 15): an administrator names what a call or a visit must record; the log form offers
the kind's skeleton and refuses a log that leaves a required field empty, naming every problem at once and keeping
what was typed; as owner, teammate, manager, outsider and administrator."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry
from closeloop.core.services import api_token_create
from closeloop.followup.activity_templates import activity_template_save, skeleton, values_in
from closeloop.followup.models import Activity, ActivityTemplate
from closeloop.followup.services import activity_log

CALL = {"fields": "通话对象*\n客户需求*\n下一步*\n备注", "text": "本次通话要点"}
SETTINGS = "followup:activity_templates"


@pytest.fixture
def call_template(org):
    return activity_template_save(kind="call", data=CALL, actor=org.admin)


def due():
    return (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider"])
def test_only_an_administrator_sets_templates(client, org, who):
    user = getattr(org, who)
    with pytest.raises(Forbidden):
        activity_template_save(kind="call", data=CALL, actor=user)
    client.force_login(user)
    assert client.get(reverse(SETTINGS)).status_code == 404
    assert client.post(reverse(SETTINGS), {"kind": "call", "call-fields": "通话对象*"}).status_code == 404
    assert not ActivityTemplate.objects.exists()


def test_the_administrator_sets_changes_and_removes_a_template(client, org):
    client.force_login(org.admin)
    page = client.get(reverse(SETTINGS), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "跟进模板" in page and 'name="visit-fields"' in page
    response = client.post(reverse(SETTINGS), {"kind": "visit", "visit-fields": "拜访对象*\n现场情况：*\n竞争对手",
                                               "visit-text": ""})
    assert response.status_code == 302
    template = ActivityTemplate.objects.get(kind="visit")
    assert template.fields == [{"label": "拜访对象", "required": True}, {"label": "现场情况", "required": True},
                               {"label": "竞争对手", "required": False}]
    assert "拜访对象*\n现场情况*\n竞争对手" in client.get(reverse(SETTINGS)).content.decode()
    client.post(reverse(SETTINGS), {"kind": "visit", "visit-fields": "", "visit-text": ""})
    assert not ActivityTemplate.objects.exists()
    assert list(AuditEntry.objects.filter(action__startswith="activity_template.").values_list("action", flat=True)
                .order_by("pk")) == ["activity_template.save", "activity_template.delete"]


def test_a_wrong_template_is_refused_with_every_problem_and_kept_as_typed(client, org):
    client.force_login(org.admin)
    typed = "通话对象*\n客户需求*\n通话对象\n下一步：后续安排\n" + "很长" * 11
    body = client.post(reverse(SETTINGS), {"kind": "call", "call-fields": typed, "call-text": "要点"},
                       HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "“通话对象”重复了。" in body and "字段名不能包含冒号" in body and "超过 20 个字" in body
    assert "很长很长" in body and "要点</textarea>" in body
    assert not ActivityTemplate.objects.exists()
    with pytest.raises(ValidationFailed):
        activity_template_save(kind="email", data=CALL, actor=org.admin)  # a ticket's reply is logged as email


def test_a_fields_value_runs_to_the_next_fields_line(call_template):
    content = "本次通话要点\n通话对象: 王总\n客户需求：\n  30人销售团队\n  要移动端\n下一步："
    assert values_in(call_template, content) == {"通话对象": "王总", "客户需求": "30人销售团队\n  要移动端",
                                                 "下一步": "", "备注": ""}
    assert skeleton(call_template) == "本次通话要点\n通话对象：\n客户需求：\n下一步：\n备注："


@pytest.mark.parametrize("who", ["owner", "manager"])
def test_the_log_form_offers_the_skeleton_and_names_every_missing_field(client, org, make_lead, call_template, who):
    lead = make_lead(owner=org.owner)
    client.force_login(getattr(org, who))
    page = client.get(lead.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "本次通话要点\n通话对象：\n客户需求：\n下一步：\n备注：</textarea>" in page
    assert "data-templates=" in page and "电话 — 通话对象*、客户需求*、下一步*、备注" in page
    typed = "本次通话要点\n通话对象：王总\n客户需求：\n下一步：\n备注："
    url = reverse("followup:activity_create", args=["lead", lead.pk])
    # The next follow-up left empty too: one round names it with both of the template's empty fields.
    body = client.post(url, {"kind": "call", "content": typed, "next_follow_up_at": ""},
                       HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "电话模板要求填写“客户需求”" in body and "电话模板要求填写“下一步”" in body
    assert "备注”" not in body and "通话对象”" not in body
    assert "未关闭的记录必须有下一步" in body
    assert "通话对象：王总" in body  # what was typed stays
    assert not Activity.objects.exists()
    done = typed.replace("客户需求：", "客户需求：CRM 30人").replace("下一步：", "下一步：周五演示")
    assert client.post(url, {"kind": "call", "content": done, "next_follow_up_at": due()}).status_code == 302
    assert Activity.objects.get().content == done


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_who_may_not_follow_up_the_record_meets_no_form(client, org, make_lead, call_template, who):
    lead = make_lead(owner=org.owner)
    client.force_login(getattr(org, who))
    url = reverse("followup:activity_create", args=["lead", lead.pk])
    assert client.post(url, {"kind": "call", "content": "通话对象：王总", "next_follow_up_at": due()}).status_code == 404


def test_the_service_and_the_api_refuse_what_the_form_refuses(client, org, make_lead, call_template):
    lead = make_lead(owner=org.owner)
    with pytest.raises(ValidationFailed) as refused:
        activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "打过电话，没人接"})
    assert len(refused.value.field_errors["content"]) == 3
    raw, _token = api_token_create(user=org.owner, name="t", actor=None)
    response = client.post(f"/api/deals/leads/{lead.pk}/activities", {"kind": "call", "content": "通话对象：王总"},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 422 and len(response.json()["fields"]["content"]) == 2  # 客户需求, 下一步
    # A kind without a template logs as before.
    activity_log(actor=org.owner, record=lead, data={"kind": "wechat", "content": "发了资料"})
    assert Activity.objects.filter(kind="wechat").exists()


def test_templates_are_read_once_and_a_change_shows_at_once(client, org, make_lead, call_template):
    lead = make_lead(owner=org.owner)
    client.force_login(org.owner)
    client.get(lead.get_absolute_url())  # loads the cache
    with CaptureQueriesContext(connection) as queries:
        client.get(lead.get_absolute_url())
        activity_log(actor=org.owner, record=lead, data={
            "kind": "call", "content": "通话对象：王总\n客户需求：CRM\n下一步：演示", "next_follow_up_at": due()})
    assert not [query for query in queries if "followup_activitytemplate" in query["sql"]]
    activity_template_save(kind="call", data={"fields": "通话对象*\n预算*"}, actor=org.admin)
    with pytest.raises(ValidationFailed) as refused:
        activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "通话对象：王总"})
    assert "预算" in refused.value.field_errors["content"][0]
    activity_template_save(kind="call", data={}, actor=org.admin)
    activity_log(actor=org.owner, record=lead, data={"kind": "call", "content": "打过电话，没人接"})


def test_the_demo_sets_templates_for_calls_and_visits(org):
    from closeloop.core.hooks import DemoContext
    from closeloop.followup.demo import load_demo

    ctx = DemoContext(rng=None, now=timezone.now(), admin=org.admin)
    load_demo(ctx)
    assert set(ActivityTemplate.objects.values_list("kind", flat=True)) == {"call", "visit"}
    assert AuditEntry.objects.filter(action="activity_template.save").count() == 2
