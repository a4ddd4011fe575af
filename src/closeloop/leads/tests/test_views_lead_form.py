"""The manual entry form: required fields follow the web channel policy, phone-friendly inputs."""

import re

import pytest
from django.urls import reverse

from closeloop.core.models import Channel
from closeloop.leads.models import ChannelPolicy, Lead


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def input_tag(body: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea|select)[^>]*name="{name}"[^>]*>', body)
    assert match, f"no input named {name}"
    return match.group(0)


def test_inputs_bring_up_the_right_phone_keyboard(client, org):
    client.force_login(org.owner)
    body = client.get(reverse("leads:create")).content.decode()
    assert "autofocus" in input_tag(body, "company_name")
    assert 'type="tel"' in input_tag(body, "mobile") and 'type="tel"' in input_tag(body, "landline")
    assert 'type="email"' in input_tag(body, "email")
    # The budget takes 5万 and 五万: a text keyboard (a number pad has no 万), the amount read echoed under it.
    budget = input_tag(body, "budget")
    assert "inputmode" not in budget and f'hx-get="{reverse("money_echo")}?field=budget' in budget
    assert 'name="viewport"' in body


def test_required_marks_follow_the_web_policy(client, org):
    ChannelPolicy.objects.create(channel=Channel.WEB, required_fields=["contact_name", "city"], require_contact_method=False)
    client.force_login(org.owner)
    body = client.get(reverse("leads:create")).content.decode()
    assert " required" in input_tag(body, "city") and " required" in input_tag(body, "contact_name")
    assert " required" not in input_tag(body, "company_name")
    assert "Give at least one way to reach the contact" not in body

    response = client.post(reverse("leads:create"), {"company_name": "苏州某某", "mobile": "123",
                                                     "source": org.sources["电话"].pk})
    assert response.status_code == 200
    # Every problem is reported at once: the missing required fields and the bad phone number.
    body = response.content.decode()
    for name in ["contact_name", "city", "mobile"]:
        assert f'id="id_{name}_error"' in body
    assert not Lead.objects.exists()
    client.post(reverse("leads:create"), {"company_name": "苏州某某", "contact_name": "李", "city": "苏州",
                                          "source": org.sources["电话"].pk})
    assert Lead.objects.get().owner == org.owner


def test_edit_form_still_works(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    response = client.post(reverse("leads:edit", args=[lead.pk]), {
        "company_name": lead.company_name, "contact_name": "新联系人", "mobile": lead.mobile,
        "source": lead.source_id, "status": lead.status,
    })
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.contact_name == "新联系人"


def test_an_empty_save_flags_every_missing_field_at_once(client, org):
    client.force_login(org.owner)
    response = client.post(reverse("leads:create"), {"company_name": "", "contact_name": "", "source": ""})
    assert response.status_code == 200
    errors = response.context["form"].errors
    # One round: the source, the company, the contact and a way to reach them, not the source first.
    assert {"source", "company_name", "contact_name", "mobile"} <= set(errors)
    assert not Lead.objects.exists()
    body = response.content.decode()
    assert 'id="id_source_error"' in body and 'id="id_company_name_error"' in body


def test_the_source_keeps_its_required_mark(client, org):
    client.force_login(org.owner)
    body = client.get(reverse("leads:create")).content.decode()
    assert " required" in input_tag(body, "source")
