"""A lead's closing statuses come only from their actions: 已转化 (converted) from conversion, 无效
(disqualified) from disqualifying with a reason. Editing refuses them, in the form and the API, and says
which action to use. As the owner and the owner's manager, on the web and through the API."""

import pytest
from django.urls import reverse

from closeloop.core.models import AuditEntry
from closeloop.core.services import api_token_create
from closeloop.followup.models import Task, TaskStatus
from closeloop.leads.models import DisqualifyReason, Lead, LeadStatus

ACTORS = ["owner", "manager"]


def edit_post(lead, **changes):
    data = {"company_name": lead.company_name, "contact_name": lead.contact_name, "mobile": lead.mobile,
            "source": lead.source_id, "status": lead.status}
    return {**data, **changes}


def bearer(user):
    raw, _token = api_token_create(user=user, name="t", actor=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("actor", ACTORS)
def test_the_edit_form_refuses_converted_and_points_to_conversion(client, org, make_lead, actor):
    lead = make_lead()
    client.force_login(getattr(org, actor))
    page = client.get(reverse("leads:edit", args=[lead.pk])).content.decode()
    assert 'value="converted"' not in page and 'value="disqualified"' not in page
    response = client.post(reverse("leads:edit", args=[lead.pk]), edit_post(lead, status="converted"))
    body = response.content.decode()
    assert response.status_code == 200 and "only by converting it" in body and "Convert to deal" in body
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.ASSIGNED


@pytest.mark.parametrize("actor", ACTORS)
def test_the_edit_form_refuses_disqualified_and_points_to_the_action(client, org, make_lead, actor):
    lead = make_lead()
    client.force_login(getattr(org, actor))
    response = client.post(reverse("leads:edit", args=[lead.pk]), edit_post(lead, status="disqualified"))
    assert response.status_code == 200 and "Disqualify" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.ASSIGNED


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("status", ["converted", "disqualified"])
def test_the_api_refuses_closing_statuses_by_edit(client, org, make_lead, actor, status):
    lead = make_lead()
    response = client.patch(f"/api/leads/{lead.pk}", {"status": status}, content_type="application/json",
                            **bearer(getattr(org, actor)))
    assert response.status_code == 422
    message = response.json()["fields"]["status"][0]
    assert ("Convert to deal" if status == "converted" else "Disqualify") in message
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.ASSIGNED


@pytest.mark.parametrize("actor", ACTORS)
def test_disqualifying_on_the_web_needs_a_reason(client, org, make_lead, actor):
    lead = make_lead()
    assert Task.objects.for_record(lead).filter(status=TaskStatus.OPEN).exists()  # its first-contact task
    client.force_login(getattr(org, actor))
    url = reverse("leads:disqualify", args=[lead.pk])
    assert url in client.get(lead.get_absolute_url()).content.decode()
    response = client.post(url, {"reason": "", "note": "不做了"})
    body = response.content.decode()
    assert response.status_code == 200 and "Choose why the lead is not worth pursuing." in body and "不做了" in body
    response = client.post(url, {"reason": "other", "note": ""})
    assert "Say why the lead is not worth pursuing." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.ASSIGNED

    response = client.post(url, {"reason": "no_budget", "note": "今年没有预算"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason, lead.disqualify_note) == (
        LeadStatus.DISQUALIFIED, DisqualifyReason.NO_BUDGET, "今年没有预算")
    assert lead.next_follow_up_at is None
    assert not Task.objects.for_record(lead).filter(status=TaskStatus.OPEN).exists()
    entry = AuditEntry.objects.for_object(lead).get(action="lead.disqualify")
    assert entry.actor == getattr(org, actor) and entry.note == "今年没有预算"
    assert "No budget" in client.get(lead.get_absolute_url()).content.decode()


@pytest.mark.parametrize("actor", ACTORS)
def test_disqualifying_through_the_api_needs_a_reason(client, org, make_lead, actor):
    lead = make_lead()
    headers = bearer(getattr(org, actor))
    url = f"/api/leads/{lead.pk}/disqualify"
    assert client.post(url, {}, content_type="application/json", **headers).status_code == 422
    response = client.post(url, {"reason": "other"}, content_type="application/json", **headers)
    assert response.status_code == 422 and "note" in response.json()["fields"]
    response = client.post(url, {"reason": "spam"}, content_type="application/json", **headers)
    assert response.status_code == 200
    assert response.json()["status"] == "disqualified" and response.json()["disqualify_reason"] == "spam"


def test_a_note_too_long_is_said_on_the_note_beside_a_missing_reason(client, org, make_lead):
    """Through the API the note is `note`: its limit is named on that field, in the same answer as the reason."""
    lead = make_lead()
    response = client.post(f"/api/leads/{lead.pk}/disqualify", {"reason": "", "note": "长" * 501},
                           content_type="application/json", **bearer(org.owner))
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert set(fields) == {"reason", "note"} and "at most 500 characters" in fields["note"][0]
    lead.refresh_from_db()
    assert lead.status != LeadStatus.DISQUALIFIED


@pytest.mark.parametrize(("who", "status"), [("teammate", 404), ("outsider", 404), ("other_manager", 404)])
def test_only_who_may_edit_the_lead_disqualifies_it(client, org, make_lead, who, status):
    lead = make_lead()
    client.force_login(getattr(org, who))
    assert client.post(reverse("leads:disqualify", args=[lead.pk]), {"reason": "spam"}).status_code == status
    response = client.post(f"/api/leads/{lead.pk}/disqualify", {"reason": "spam"}, content_type="application/json",
                           **bearer(getattr(org, who)))
    assert response.status_code == status
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.ASSIGNED


def test_a_converted_lead_keeps_its_status_and_cannot_be_disqualified(client, org, qualified_lead, pipeline):
    from closeloop.deals.services.conversion import lead_convert

    lead = qualified_lead()
    lead_convert(lead=lead, actor=org.owner)
    headers = bearer(org.owner)
    response = client.patch(f"/api/leads/{lead.pk}", {"status": "contacting"}, content_type="application/json",
                            **headers)
    assert response.status_code == 422 and "keeps its status" in response.json()["fields"]["status"][0]
    response = client.post(f"/api/leads/{lead.pk}/disqualify", {"reason": "spam"}, content_type="application/json",
                           **headers)
    assert response.status_code == 409
    # An unchanged edit form of a converted lead still saves its other fields.
    client.force_login(org.owner)
    response = client.post(reverse("leads:edit", args=[lead.pk]), edit_post(lead, status="converted", city="苏州"))
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CONVERTED


def test_reopening_a_disqualified_lead_clears_its_reason(org, make_lead):
    from closeloop.leads.services.editing import lead_disqualify, lead_update

    lead = lead_disqualify(lead=make_lead(), reason="no_need", actor=org.owner)
    lead = lead_update(lead=lead, data={"status": "contacting"}, actor=org.owner, channel="web")
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == (LeadStatus.CONTACTING, "")


def test_the_database_refuses_a_disqualified_lead_without_a_reason(org, make_lead):
    """Only lead_disqualify disqualifies (with a reason); a write around it, a script or a bulk load, is refused by
    the check constraint."""
    from django.db import IntegrityError, transaction

    lead = make_lead()
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.DISQUALIFIED)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.DISQUALIFIED, disqualify_reason="spam")
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.NEW, disqualify_reason="")
