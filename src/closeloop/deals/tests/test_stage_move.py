"""Reordering a pipeline's stages from the settings page (issue 15): up/down buttons that work without JavaScript and
a drag (deals/stage-sort.js) posting the same place, both through stage_move, which reuses stage_save's positions."""

import pytest
from django.urls import reverse

from closeloop.core.errors import Forbidden
from closeloop.core.models import AuditEntry
from closeloop.deals.models import Stage
from closeloop.deals.services.pipelines import stage_move, stage_save

DEFAULT = ["初步接洽", "需求确认", "方案报价", "商务谈判", "赢单", "输单"]


def order(pipeline):
    return list(pipeline.stages.order_by("position", "id").values_list("name", flat=True))


def test_a_stage_goes_to_the_place_asked_and_the_others_keep_their_order(org, pipeline, stages):
    stage_move(actor=org.admin, stage=stages["商务谈判"], index=1)
    assert order(pipeline) == ["初步接洽", "商务谈判", "需求确认", "方案报价", "赢单", "输单"]
    stage_move(actor=org.admin, stage=Stage.objects.get(pipeline=pipeline, name="初步接洽"), index=3)
    assert order(pipeline) == ["商务谈判", "需求确认", "方案报价", "初步接洽", "赢单", "输单"]
    stage_move(actor=org.admin, stage=Stage.objects.get(pipeline=pipeline, name="输单"), index=4)
    assert order(pipeline) == ["商务谈判", "需求确认", "方案报价", "初步接洽", "输单", "赢单"]
    assert AuditEntry.objects.for_object(stages["赢单"]).filter(action="stage.update").exists()


def test_won_and_lost_stay_after_the_open_stages_however_they_are_moved(org, pipeline, stages):
    # Asked to go past the end, an open stage goes just before the won and lost ones.
    stage_move(actor=org.admin, stage=stages["需求确认"], index=99)
    assert order(pipeline) == ["初步接洽", "方案报价", "商务谈判", "需求确认", "赢单", "输单"]
    # Asked to go first, 赢单 stays just after the last open stage (the board never shows it mid-pipeline).
    stage_move(actor=org.admin, stage=stages["赢单"], index=0)
    stage_move(actor=org.admin, stage=stages["输单"], index=2)
    assert order(pipeline) == ["初步接洽", "方案报价", "商务谈判", "需求确认", "赢单", "输单"]
    # The stage form keeps the same line: a position among the closed ones for an open stage, or among the open
    # ones for a won stage (a new one, or one that becomes won where it is).
    stage_save(actor=org.admin, pipeline=pipeline, data={"name": "回款", "position": 99, "probability": 95})
    stage_save(actor=org.admin, pipeline=pipeline, data={"name": "框架协议", "position": 0, "is_won": True})
    assert order(pipeline) == ["初步接洽", "方案报价", "商务谈判", "需求确认", "回款", "框架协议", "赢单", "输单"]
    stage = stages["方案报价"]
    stage.refresh_from_db()
    stage_save(actor=org.admin, pipeline=pipeline, stage=stage, data={
        "name": "方案报价", "position": stage.position, "probability": 0, "is_lost": True})
    assert order(pipeline) == ["初步接洽", "商务谈判", "需求确认", "回款", "方案报价", "框架协议", "赢单", "输单"]


def test_the_settings_page_says_where_a_stage_kept_to_its_side_went(client, org, pipeline, stages):
    client.force_login(org.admin)
    page = client.get(reverse("deals:settings"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    # No button crosses the line: 商务谈判 has no ↓, 赢单 no ↑.
    assert "将“商务谈判”上移" in page and "将“商务谈判”下移" not in page
    assert "将“赢单”上移" not in page and "将“赢单”下移" in page and "将“输单”上移" in page
    url = reverse("deals:stage_move", args=[pipeline.pk, stages["赢单"].pk])
    body = client.post(url, {"index": "0"}, follow=True, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "赢单和输单阶段排在进行中的阶段之后，因此“赢单”在第 5 位。" in body
    assert order(pipeline) == DEFAULT
    # A new stage's form starts at the place before 赢单, and saving it there says nothing more.
    create = reverse("deals:stage_create", args=[pipeline.pk])
    form = client.get(create).content.decode()
    assert f'name="position" value="{stages["赢单"].position}"' in form
    body = client.post(create, {"name": "合同审批", "position": "99", "probability": "90"}, follow=True,
                       HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "“合同审批”在第 5 位" in body
    assert order(pipeline) == ["初步接洽", "需求确认", "方案报价", "商务谈判", "合同审批", "赢单", "输单"]


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider"])
def test_only_an_administrator_reorders_stages(client, org, pipeline, stages, who):
    user = getattr(org, who)
    with pytest.raises(Forbidden):
        stage_move(actor=user, stage=stages["赢单"], index=0)
    client.force_login(user)
    url = reverse("deals:stage_move", args=[pipeline.pk, stages["赢单"].pk])
    assert client.post(url, {"index": "0"}).status_code == 404
    assert order(pipeline) == DEFAULT


def test_the_settings_page_moves_a_stage_up_and_down_without_javascript(client, org, pipeline, stages):
    client.force_login(org.admin)
    page = client.get(reverse("deals:settings"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "deals/stage-sort.js" in page and "data-stage-sort" in page
    assert "将“初步接洽”下移" in page and "将“初步接洽”上移" not in page and "将“输单”下移" not in page
    url = reverse("deals:stage_move", args=[pipeline.pk, stages["方案报价"].pk])
    assert client.post(url, {"index": "1"}).status_code == 302  # ↑ on the third row
    assert order(pipeline) == ["初步接洽", "方案报价", "需求确认", "商务谈判", "赢单", "输单"]
    client.post(url, {"index": "2"})  # ↓ on what is now the second row
    assert order(pipeline) == DEFAULT
    response = client.post(url, {"index": "上"}, follow=True, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "请选择阶段要移到的位置" in response.content.decode() and order(pipeline) == DEFAULT
