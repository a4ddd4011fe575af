"""Every lead page and endpoint as owner, teammate, manager, outsider, marketing and admin."""

import pytest
from django.urls import reverse

from closeloop.core.services import api_token_create
from closeloop.leads.models import Lead

# Who sees a lead owned by `owner` (a rep in team A, manager's team).
EXPECTED = {"owner": True, "teammate": False, "manager": True, "outsider": False, "other_manager": False, "admin": True}


@pytest.fixture
def lead(make_lead):
    return make_lead(source="官网")


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_visible_to(org, lead, who, sees):
    assert Lead.objects.visible_to(getattr(org, who)).filter(pk=lead.pk).exists() is sees


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_detail_page(client, org, lead, who, sees):
    client.force_login(getattr(org, who))
    response = client.get(reverse("leads:detail", args=[lead.pk]))
    assert response.status_code == (200 if sees else 404)
    response = client.get(reverse("leads:edit", args=[lead.pk]))
    assert response.status_code == (200 if sees else 404)


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_list_page_and_export(client, org, lead, who, sees):
    client.force_login(getattr(org, who))
    response = client.get(reverse("leads:list"))
    assert (lead.company_name in response.content.decode()) is sees
    response = client.get(reverse("leads:export") + "?format=csv")
    assert (lead.company_name in b"".join(response.streaming_content).decode()) is sees


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_api(client, org, lead, who, sees):
    raw, _token = api_token_create(user=getattr(org, who), name="t", actor=None)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get(f"/api/leads/{lead.pk}", **auth).status_code == (200 if sees else 404)
    ids = [item["id"] for item in client.get("/api/leads/", **auth).json()["items"]]
    assert (lead.pk in ids) is sees
    response = client.patch(f"/api/leads/{lead.pk}", {"city": "苏州"}, content_type="application/json", **auth)
    assert response.status_code == (200 if sees else 404)


def test_marketing_sees_the_leads_of_their_channels(org, make_lead):
    expo = make_lead(source="展会")
    web = make_lead(source="官网")
    visible = set(Lead.objects.visible_to(org.marketer).values_list("pk", flat=True))
    assert expo.pk in visible and web.pk not in visible


def test_collaborator_sees_the_lead(org, lead):
    from closeloop.followup.services import participant_add

    participant_add(record=lead, user=org.outsider, role="presales", actor=org.owner)
    assert Lead.objects.visible_to(org.outsider).filter(pk=lead.pk).exists()


def test_anonymous_is_sent_to_login(client, lead):
    response = client.get(reverse("leads:detail", args=[lead.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get("/api/leads/").status_code == 401
