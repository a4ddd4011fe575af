"""Every free text has a limit, enforced by the services for every channel: the manual form, the public form
(which refuses a body far too large before reading it), the API, follow-ups and deals. A too-long value
gets a message naming the limit, and the form keeps what was typed."""

import os
import subprocess
import sys
import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from closeloop.contracts.fields import texts
from closeloop.contracts.services import contract_create_from_deal
from closeloop.core.errors import ValidationFailed
from closeloop.core.services import api_token_create
from closeloop.deals.models import LostReason, Opportunity
from closeloop.deals.services.opportunities import opportunity_update
from closeloop.followup.models import Activity, Comment, Participant, ParticipantRole
from closeloop.followup.services import comment_add, handoff_request, participant_add
from closeloop.leads.models import Campaign, Lead

LONG_NEED = "需" * 5001
LIMIT_MESSAGE = "Ensure this value has at most 5000 characters (it has 5001)."


@pytest.fixture
def auth(org):
    raw, _token = api_token_create(user=org.owner, name="t", actor=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_the_manual_form_names_the_limit_and_keeps_the_text(client, org):
    client.force_login(org.owner)
    response = client.post(reverse("leads:create"), {
        "company_name": "苏州长文本科技有限公司", "contact_name": "李", "mobile": "13912345678",
        "source": org.sources["官网"].pk, "need": LONG_NEED,
    })
    body = response.content.decode()
    assert response.status_code == 200 and LIMIT_MESSAGE in body
    assert LONG_NEED in body and "苏州长文本科技有限公司" in body
    assert 'maxlength="5000"' in body
    assert not Lead.objects.exists()


def test_the_edit_form_refuses_a_megabyte(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    response = client.post(reverse("leads:edit", args=[lead.pk]), {
        "company_name": lead.company_name, "contact_name": lead.contact_name, "mobile": lead.mobile,
        "source": lead.source_id, "status": lead.status, "need": "x" * 1_000_000,
    })
    assert response.status_code == 200 and "Ensure this value has at most 5000 characters (it has 1000000)." in response.content.decode()
    lead.refresh_from_db()
    assert lead.need == ""


@pytest.fixture
def campaign(org):
    cache.clear()  # the public form's rate limit counts in the shared cache
    return Campaign.objects.create(name="2026上海工博会", source=org.sources["展会"])


def test_the_public_form_names_the_limit_and_keeps_the_text(client, campaign):
    response = client.post(reverse("public_form", args=[campaign.form_key]), {
        "company_name": "杭州云帆网络科技有限公司", "contact_name": "周敏", "mobile": "13812345678", "need": LONG_NEED,
    })
    body = response.content.decode()
    assert response.status_code == 200 and LIMIT_MESSAGE in body and LONG_NEED in body
    assert not Lead.objects.exists()


def test_the_public_form_refuses_five_megabytes_quickly_with_a_page(client, campaign):
    started = time.monotonic()
    response = client.post(reverse("public_form", args=[campaign.form_key]), {
        "company_name": "杭州云帆网络科技有限公司", "contact_name": "周敏", "mobile": "13812345678",
        "need": "x" * (5 * 1024 * 1024),
    })
    assert time.monotonic() - started < 5
    assert response.status_code == 413 and "Your message is too long" in response.content.decode()
    assert not Lead.objects.exists()


def test_a_body_over_the_site_limit_gets_the_bad_request_page(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    response = client.post(reverse("leads:edit", args=[lead.pk]), {"need": "x" * (6 * 1024 * 1024)})
    assert response.status_code == 400
    assert "The request could not be read" in response.content.decode()


def test_the_api_refuses_a_long_need_with_the_field_named(client, org, auth):
    payload = {"company_name": "杭州远景科技有限公司", "contact_name": "李娜", "mobile": "13912340001",
               "source": "官网", "need": LONG_NEED}
    response = client.post("/api/leads/", payload, content_type="application/json", **auth)
    assert response.status_code == 422 and "need" in response.json()["fields"]
    assert not Lead.objects.exists()


def test_a_follow_up_names_the_limit_on_the_form_and_keeps_the_text(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    response = client.post(reverse("followup:activity_create", args=["lead", lead.pk]), {
        "kind": "call", "content": "谈" * 5001, "next_follow_up_at": "2099-01-01T10:00",
    })
    body = response.content.decode()
    assert response.status_code == 200 and "5000" in body and "谈" * 5001 in body
    assert not Activity.objects.exists()


def test_a_follow_up_through_the_api_is_bounded(client, org, auth, make_deal):
    deal = make_deal()
    response = client.post(f"/api/deals/{deal.pk}/activities", {"kind": "call", "content": "x" * 5001},
                           content_type="application/json", **auth)
    assert response.status_code == 422
    assert not Activity.objects.filter(content__startswith="xxx").exists()


def test_services_refuse_long_text_whatever_the_channel(org, make_deal):
    deal = make_deal()
    with pytest.raises(ValidationFailed) as refused:
        opportunity_update(opportunity=deal, data={"need": LONG_NEED}, actor=org.owner)
    assert refused.value.field_errors == {"need": [LIMIT_MESSAGE]}
    with pytest.raises(ValidationFailed) as refused:
        comment_add(record=deal, actor=org.owner, body="评" * 5001)
    assert refused.value.field_errors == {"body": [LIMIT_MESSAGE]}
    with pytest.raises(ValidationFailed) as refused:
        handoff_request(record=deal, assignee=org.teammate, title="技术评估", due_at="2099-01-01 10:00",
                        details="细" * 5001, actor=org.owner)
    assert refused.value.field_errors == {"details": [LIMIT_MESSAGE]}
    assert not Comment.objects.exists()
    assert Opportunity.objects.get(pk=deal.pk).need == ""


def test_the_deal_form_names_the_limit(client, org, make_deal):
    deal = make_deal()
    client.force_login(org.owner)
    response = client.post(reverse("deals:edit", args=[deal.pk]), {"name": deal.name, "need": LONG_NEED})
    body = response.content.decode()
    assert response.status_code == 200 and LONG_NEED in body and LIMIT_MESSAGE in body


def test_a_lost_note_through_the_api_is_bounded(client, org, auth, make_deal, stages):
    deal = make_deal()
    lost = next(stage for stage in stages.values() if stage.is_lost)
    response = client.post(f"/api/deals/{deal.pk}/stage", {"stage_id": lost.pk, "lost_reason": LostReason.objects.first().name,
                                                   "lost_note": "x" * 5001},
                           content_type="application/json", **auth)
    assert response.status_code == 422 and "lost_note" in response.json()["fields"]
    assert Opportunity.objects.get(pk=deal.pk).lost_note == ""


def test_a_too_long_comment_comes_back_in_the_box_with_the_error(client, org, make_deal):
    deal = make_deal()
    client.force_login(org.owner)
    long_comment = "这段评论太长了。" * 700  # 5,600 characters: the box's maxlength stops a browser, not a script
    response = client.post(reverse("followup:comment_create", args=["opportunity", deal.pk]), {"body": long_comment},
                           follow=True)
    page = response.content.decode()
    assert "Ensure this value has at most 5000 characters (it has 5600)." in page
    assert f">{long_comment}</textarea>" in page
    assert not Comment.objects.exists()
    # Shown once: the next visit starts with an empty box.
    assert long_comment not in client.get(deal.get_absolute_url()).content.decode()


def test_a_collaborator_note_over_its_limit_is_refused_not_cut(org, make_deal):
    deal = make_deal()
    with pytest.raises(ValidationFailed) as refused:
        participant_add(record=deal, user=org.teammate, role=ParticipantRole.SALES, note="备" * 101, actor=org.owner)
    assert refused.value.field_errors == {"note": ["Ensure this value has at most 100 characters (it has 101)."]}
    assert not Participant.objects.exists()
    participant_add(record=deal, user=org.teammate, role=ParticipantRole.SALES, note="备" * 100, actor=org.owner)
    assert Participant.objects.get().note == "备" * 100


def test_contract_texts_say_their_limit_as_every_other_field():
    """Payments' and invoice requests' texts (contracts.fields.texts) speak core.inputs' words for a limit."""
    errors = {}
    assert texts({"note": " 备注 "}, {"note": 300}, errors) == {"note": "备注"} and errors == {}
    texts({"note": "备" * 301, "reference": "ok"}, {"note": 300, "reference": 100}, errors)
    assert errors == {"note": ["Ensure this value has at most 300 characters (it has 301)."]}


def test_a_contract_title_says_its_limit_as_every_other_field(org, make_deal):
    deal = make_deal(amount="50000")
    with pytest.raises(ValidationFailed) as refused:
        contract_create_from_deal(opportunity=deal, actor=org.owner, data={"amount": "50000", "title": "合" * 201})
    assert refused.value.field_errors["title"] == ["Ensure this value has at most 200 characters (it has 201)."]


def test_the_public_form_body_limit_is_a_setting(client, campaign, settings):
    settings.CLOSELOOP_PUBLIC_FORM_MAX_BYTES = 1024
    response = client.post(reverse("public_form", args=[campaign.form_key]), {
        "company_name": "杭州云帆网络科技有限公司", "contact_name": "周敏", "mobile": "13812345678", "need": "需" * 400})
    assert response.status_code == 413 and not Lead.objects.exists()


def test_the_body_limits_come_from_the_environment():
    """Both limits are read from the environment when the settings load (README, Configuration)."""
    script = ("import os; os.environ['CLOSELOOP_DEV'] = '1'; import closeloop.settings as s; "
              "print(s.CLOSELOOP_PUBLIC_FORM_MAX_BYTES, s.DATA_UPLOAD_MAX_MEMORY_SIZE)")
    env = {**os.environ, "CLOSELOOP_PUBLIC_FORM_MAX_BYTES": "65536", "CLOSELOOP_MAX_BODY_BYTES": "1048576"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["65536", "1048576"]
