"""Core walks the apps' hooks instead of knowing the apps: kinds, sweeps, navigation, URLs, API, user form."""

import pytest
from django.apps import apps
from django.urls import reverse

from closeloop.core.hooks import LoopApp, collect, loop_apps
from closeloop.core.models import AuditEntry, Role, User
from closeloop.core.navigation import menu_for
from closeloop.core.notify import KINDS
from closeloop.core.schedule import SWEEPS


def test_every_closeloop_app_config_is_a_loop_app():
    configs = [config for config in apps.get_app_configs() if config.name.startswith("closeloop.")]
    assert configs and all(isinstance(config, LoopApp) for config in configs)
    assert [config.label for config in loop_apps()] == [config.label for config in configs]


def test_notification_kinds_come_from_the_apps_that_send_them():
    declared = {kind.kind: kind for kind in collect("notification_kinds")}
    assert KINDS == declared
    assert "lead.assigned" in {k.kind for k in apps.get_app_config("leads").notification_kinds()}
    assert "handoff.request" in {k.kind for k in apps.get_app_config("followup").notification_kinds()}


def test_the_worker_schedule_is_the_apps_sweeps():
    assert set(SWEEPS) == {sweep.name for sweep in collect("sweeps")}
    assert {"core.recover_notification_deliveries", "leads.pool_sweep", "followup.reminders"} <= set(SWEEPS)


def test_a_group_without_entries_for_the_user_is_hidden(org):
    rep_groups = [group.key for group in menu_for(org.owner)]
    # A rep has no settings entry: the group is not shown.
    assert rep_groups == ["home", "leads", "deals", "quotes", "contracts", "service", "insights"]
    admin_groups = [group.key for group in menu_for(org.admin)]
    assert admin_groups == ["home", "leads", "deals", "quotes", "contracts", "service", "insights", "settings"]


def test_entries_follow_who_may_use_them(org):
    def urls(user):
        return {link.url for group in menu_for(user) for link in group.links}

    assert reverse("leads:pool") in urls(org.owner) and reverse("leads:pool") not in urls(org.marketer)
    assert reverse("leads:campaign_list") in urls(org.marketer) and reverse("leads:campaign_list") not in urls(org.owner)
    assert reverse("user_list") in urls(org.admin) and reverse("user_list") not in urls(org.manager)


def test_the_current_page_is_the_longest_matching_entry(org):
    groups = {group.key: group for group in menu_for(org.owner, reverse("leads:pool") + "?page=2")}
    active = [link.url for group in groups.values() for link in group.links if link.active]
    assert active == [reverse("leads:pool")] and groups["leads"].active and not groups["deals"].active


def test_the_settings_menu_lists_the_settings_entries_of_every_app(client, org):
    client.force_login(org.admin)
    html = client.get(reverse("robot_list")).content.decode()
    for name in ("user_list", "leads:intake_settings", "leads:scoring_settings", "deals:settings", "delivery_list"):
        assert f'href="{reverse(name)}"' in html


def test_every_app_mounts_its_urls_and_api_router(client, org):
    for config in loop_apps():
        for entry in config.nav_entries():
            assert reverse(entry.url_name)
    paths = client.get("/api/openapi.json").json()["paths"]
    assert any(path.startswith("/api/leads") for path in paths) and any(path.startswith("/api/deals") for path in paths)


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.SALES_MANAGER, Role.PRESALES])
def test_sellers_start_on_the_today_page(client, org, role):
    user = User.objects.create_user("starter", password="pw", role=role, department=org.team_a)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200 and "followup/today.html" in [t.name for t in response.templates]


@pytest.mark.parametrize("role", [Role.MARKETING, Role.FINANCE, Role.SERVICE, Role.ADMIN])
def test_others_start_on_the_first_page_of_their_navigation(client, org, role):
    user = User.objects.create_user("starter", password="pw", role=role, is_superuser=role == Role.ADMIN)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("leads:list")


def test_apps_add_fields_to_the_user_form_and_their_changes_are_audited(client, org):
    client.force_login(org.admin)
    form = client.get(reverse("user_edit", args=[org.marketer.pk])).context["form"]
    assert "source_channels" in form.fields
    assert list(form.initial["source_channels"]) == [org.sources["展会"]]
    response = client.post(reverse("user_edit", args=[org.marketer.pk]), {
        "username": "marketer", "role": Role.MARKETING, "is_active": "on",
        "source_channels": [org.sources["展会"].pk, org.sources["官网"].pk],
    })
    assert response.status_code == 302
    assert set(org.marketer.source_channels.values_list("name", flat=True)) == {"展会", "官网"}
    entry = AuditEntry.objects.for_object(org.marketer).filter(action="user.update").latest("pk")
    assert entry.changes["source_channels"] == [["展会"], ["官网", "展会"]]
