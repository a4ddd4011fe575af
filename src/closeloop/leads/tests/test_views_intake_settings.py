"""The intake rules page (which fields each door must fill): administrators only, every change audited."""

import pytest
from django.urls import reverse

from closeloop.core.models import AuditEntry
from closeloop.leads.models import ChannelPolicy


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider", "marketer"])
def test_it_is_hidden_from_everyone_but_admins(client, org, who):
    client.force_login(getattr(org, who))
    assert client.get(reverse("leads:intake_settings")).status_code == 404


def test_it_opens_for_admins_with_one_form_per_door(client, org):
    client.force_login(org.admin)
    response = client.get(reverse("leads:intake_settings"))
    assert response.status_code == 200
    assert [form.channel for form in response.context["forms"]] == ["web", "api", "import", "form"]
    # It is one of the lead rules' tabs, marked as the current one, with its siblings a tap away (not a dead end).
    page = response.content.decode()
    tabs = page[page.index('<nav class="actions tabs"'):]
    tabs = tabs[:tabs.index("</nav>")]
    assert f'href="{reverse("leads:intake_settings")}" aria-current="page"' in tabs
    for name in ("leads:scoring_settings", "leads:assignment_settings", "leads:pool_settings"):
        assert f'href="{reverse(name)}"' in tabs


def test_intake_rules_are_saved_and_audited(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("leads:intake_settings"), {
        "form-required_fields": ["email", "company_name"], "form-require_contact_method": "on",
        "api-require_contact_method": "on", "web-require_contact_method": "on", "import-require_contact_method": "on",
    })
    assert response.status_code == 302
    assert set(ChannelPolicy.objects.get(channel="form").required_fields) == {"company_name", "email"}
    entry = AuditEntry.objects.filter(action="settings.intake").get(target_id=str(ChannelPolicy.objects.get(channel="form").pk))
    assert entry.actor == org.admin and set(entry.changes["required_fields"][1]) == {"company_name", "email"}


def test_an_unchanged_door_writes_no_audit_entry(client, org):
    from closeloop.leads.rule_services import channel_policies_save

    data = {"required_fields": ["company_name"], "require_contact_method": True, "duplicate_action": "attach"}
    channel_policies_save(policies={"web": data}, actor=org.admin)
    channel_policies_save(policies={"web": data}, actor=org.admin)
    assert AuditEntry.objects.filter(action="settings.intake").count() == 1
