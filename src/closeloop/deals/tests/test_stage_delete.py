"""Admins delete stages: refused while deals are in them unless they move, never the last won/lost/open stage."""

import pytest
from django.urls import reverse

from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry
from closeloop.deals.models import Opportunity, Stage, StageHistory
from closeloop.deals.services.customers import contact_create
from closeloop.deals.services.opportunities import opportunity_move_stage, opportunity_update
from closeloop.deals.services.pipelines import stage_delete, stage_save


def test_an_empty_stage_is_deleted_and_audited(org, stages):
    stage = stages["需求确认"]
    assert stage_delete(actor=org.admin, stage=stage) == 0
    assert not Stage.objects.filter(pk=stage.pk).exists()
    entry = AuditEntry.objects.get(action="stage.delete")
    assert entry.actor == org.admin and entry.changes["name"] == ["需求确认", None]


def test_a_stage_with_deals_is_refused_without_a_target(org, stages, make_deal):
    make_deal()
    with pytest.raises(Conflict) as excinfo:
        stage_delete(actor=org.admin, stage=stages["初步接洽"])
    assert excinfo.value.code == "stage_has_deals" and "1 deal is in “初步接洽”" in excinfo.value.message
    assert Stage.objects.filter(pk=stages["初步接洽"].pk).exists()


def test_deals_move_with_their_history_and_the_old_history_keeps_the_name(org, stages, make_deal):
    deal = make_deal(need="CRM")
    opportunity_move_stage(opportunity=deal, stage=stages["需求确认"], actor=org.owner)
    other = make_deal(need="ERP")
    opportunity_move_stage(opportunity=other, stage=stages["需求确认"], actor=org.owner)
    moved = stage_delete(actor=org.admin, stage=stages["需求确认"], move_to=stages["初步接洽"])
    assert moved == 2
    deal.refresh_from_db()
    assert deal.stage == stages["初步接洽"] and deal.probability == stages["初步接洽"].probability
    history = list(StageHistory.objects.filter(opportunity=deal).order_by("entered_at", "id"))
    assert [h.stage_name for h in history] == ["初步接洽", "需求确认", "初步接洽"]
    assert history[1].stage is None and history[1].exited_at is not None and history[2].exited_at is None
    assert AuditEntry.objects.for_object(deal).filter(action="opportunity.stage", changes__stage=["需求确认", "初步接洽"]).exists()
    assert "2 deals moved" in AuditEntry.objects.get(action="stage.delete").note


def test_a_deal_that_passed_through_a_deleted_stage_still_shows_its_history(client, org, stages, make_deal):
    deal = make_deal(need="CRM")
    opportunity_move_stage(opportunity=deal, stage=stages["需求确认"], actor=org.owner)
    stage_delete(actor=org.admin, stage=stages["需求确认"], move_to=stages["初步接洽"])
    client.force_login(org.owner)
    response = client.get(deal.get_absolute_url())
    assert response.status_code == 200
    assert "需求确认" in response.content.decode()


def test_the_target_must_meet_its_gate_and_be_of_the_same_kind(org, stages, make_deal):
    make_deal()
    with pytest.raises(ValidationFailed) as excinfo:
        stage_delete(actor=org.admin, stage=stages["初步接洽"], move_to=stages["方案报价"])
    assert "budget" in excinfo.value.field_errors["move_to"][0]
    with pytest.raises(ValidationFailed):
        stage_delete(actor=org.admin, stage=stages["初步接洽"], move_to=stages["赢单"])
    assert Opportunity.objects.filter(stage=stages["初步接洽"]).count() == 1


def test_the_last_won_lost_or_open_stage_stays(org, stages, pipeline):
    with pytest.raises(Conflict) as excinfo:
        stage_delete(actor=org.admin, stage=stages["赢单"])
    assert excinfo.value.code == "last_stage_of_kind" and "only won stage" in excinfo.value.message
    with pytest.raises(Conflict):
        stage_delete(actor=org.admin, stage=stages["输单"])
    # With a second lost stage, the first one may go.
    stage_save(actor=org.admin, pipeline=pipeline, data={"name": "放弃", "position": 9, "is_lost": True})
    stage_delete(actor=org.admin, stage=stages["输单"])
    for name in ["初步接洽", "需求确认", "方案报价"]:
        stage_delete(actor=org.admin, stage=stages[name])
    with pytest.raises(Conflict) as excinfo:
        stage_delete(actor=org.admin, stage=stages["商务谈判"])
    assert "only open stage" in excinfo.value.message


def test_only_admins_delete_stages(org, stages):
    with pytest.raises(Forbidden):
        stage_delete(actor=org.manager, stage=stages["需求确认"])


def test_the_page_asks_for_confirmation_and_a_target(client, org, stages, make_deal):
    deal = make_deal()
    url = reverse("deals:stage_delete", args=[stages["初步接洽"].pipeline_id, stages["初步接洽"].pk])
    for who in ("owner", "manager", "outsider"):
        client.force_login(getattr(org, who))
        assert client.get(url).status_code == 404
        assert client.post(url, {"confirm": "1"}).status_code == 404
    client.force_login(org.admin)
    page = client.get(url).content.decode()
    assert "1 deal is in this stage" in page and "需求确认" in page and "赢单" not in page
    assert client.post(url, {"move_to": stages["需求确认"].pk}).status_code == 422  # not confirmed
    response = client.post(url, {"confirm": "1"})
    assert response.status_code == 422 and "Choose where the deals" in response.content.decode()
    response = client.post(url, {"confirm": "1", "move_to": stages["方案报价"].pk})
    assert response.status_code == 422 and "Choose an earlier stage" in response.content.decode()
    assert Stage.objects.filter(pk=stages["初步接洽"].pk).exists()
    # 需求确认 requires a need; this deal has one only once it is filled in.
    opportunity_update(opportunity=deal, data={"need": "CRM"}, actor=org.owner)
    response = client.post(url, {"confirm": "1", "move_to": stages["需求确认"].pk})
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=deal.pk).stage == stages["需求确认"]
    assert reverse("deals:stage_delete", args=[stages["赢单"].pipeline_id, stages["赢单"].pk]) in \
        client.get(reverse("deals:settings")).content.decode()


def test_the_page_explains_why_the_last_won_stage_stays(client, org, stages):
    client.force_login(org.admin)
    url = reverse("deals:stage_delete", args=[stages["赢单"].pipeline_id, stages["赢单"].pk])
    response = client.post(url, {"confirm": "1"})
    assert response.status_code == 422 and "only won stage" in response.content.decode()
    assert Stage.objects.filter(pk=stages["赢单"].pk).exists()


def test_a_contacts_gate_on_the_target_is_checked_in_sql(org, stages, pipeline, make_deal):
    gated = stage_save(actor=org.admin, pipeline=pipeline,
                                data={"name": "联系人确认", "position": 1, "required_fields": ["contacts"]})
    deal = make_deal(need="CRM")
    with pytest.raises(ValidationFailed) as excinfo:
        stage_delete(actor=org.admin, stage=stages["初步接洽"], move_to=gated)
    assert deal.name in excinfo.value.field_errors["move_to"][0]
    contact = contact_create(customer=deal.customer, data={"name": "王伟"}, actor=org.owner)
    opportunity_update(opportunity=deal, data={"contacts": [contact.pk]}, actor=org.owner)
    assert stage_delete(actor=org.admin, stage=stages["初步接洽"], move_to=gated) == 1
