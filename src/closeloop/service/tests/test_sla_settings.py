"""SLA targets per priority and tier, and customers' service tiers: set by administrators and the service manager
(nobody else), audited, and taken by the customer's next ticket while open tickets keep their targets."""

import pytest
from django.urls import reverse

from closeloop.core.errors import Forbidden
from closeloop.core.models import AuditEntry
from closeloop.service import settings_services
from closeloop.service.models import ServiceLevel, SlaPolicy

pytestmark = pytest.mark.django_db

VIP_P3 = {"rows": "2", "p0-priority": "P3", "p0-tier": "vip", "p0-first_response_minutes": "30",
          "p0-resolution_minutes": "240", "p1-priority": "P3", "p1-tier": "", "p1-first_response_minutes": "240",
          "p1-resolution_minutes": "1080"}


def test_the_service_manager_and_administrators_set_the_targets_and_nobody_else(client, org, service_team, finance):
    url = reverse("service:sla")
    for user in (org.owner, org.manager, service_team.first, finance, org.outsider):
        client.force_login(user)
        assert client.get(url).status_code == 403, user
        assert client.post(url, VIP_P3).status_code == 403, user
        with pytest.raises(Forbidden):
            settings_services.sla_policies_save(actor=user, policies=[])
    for user in (service_team.manager, org.admin):
        client.force_login(user)
        page = client.get(url)
        assert page.status_code == 200 and f'href="{url}"' in page.content.decode(), user  # in the settings menu
    client.force_login(service_team.manager)
    assert client.post(url, VIP_P3).status_code == 302
    assert set(SlaPolicy.objects.values_list("priority", "tier", "first_response_minutes")) == {
        ("P3", "vip", 30), ("P3", "", 240)}
    entry = AuditEntry.objects.filter(action="service_settings.update", actor=service_team.manager).latest("pk")
    assert "VIP 30/240" in entry.changes["policies"][1]
    bad = client.post(url, {**VIP_P3, "p1-tier": "vip"})  # two rows for one priority and tier
    assert bad.status_code == 422 and SlaPolicy.objects.count() == 2


def test_a_customers_tier_gives_its_next_ticket_the_tiers_targets(client, org, make_customer, make_ticket,
                                                                  service_team):
    settings_services.sla_policies_save(actor=org.admin, policies=[
        {"priority": "P3", "tier": "vip", "first_response_minutes": 30, "resolution_minutes": 240},
        {"priority": "P3", "tier": "", "first_response_minutes": 240, "resolution_minutes": 1080}])
    customer = make_customer(owner=org.owner)
    before = make_ticket(customer=customer)
    assert before.first_response_target == 240
    url = reverse("service:customer_tier", args=[customer.pk])
    # The customer's rep sees the tier but does not set it; an outsider does not even find the customer.
    client.force_login(org.owner)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="service-tier"' in page and f'action="{url}"' not in page
    client.post(url, {"tier": "vip"})
    assert not ServiceLevel.objects.filter(customer=customer).exists()
    client.force_login(org.outsider)
    assert client.post(url, {"tier": "vip"}).status_code == 404
    # The service manager sets it from one of the customer's tickets (they see tickets, not the sales side's pages).
    client.force_login(service_team.manager)
    assert f'action="{url}"' in client.get(before.get_absolute_url()).content.decode()
    response = client.post(url, {"tier": "vip", "next": before.get_absolute_url()})
    assert response.status_code == 302 and response["Location"] == before.get_absolute_url()
    assert ServiceLevel.objects.get(customer=customer).tier == "vip"
    entry = AuditEntry.objects.get(action="service_tier.set")
    assert entry.actor == service_team.manager and entry.changes["service_tier"][1] == "VIP"
    assert client.post(url, {"tier": "gold"}).status_code == 302 and ServiceLevel.objects.get(customer=customer).tier == "vip"
    after = make_ticket(customer=customer)
    before.refresh_from_db()
    assert after.first_response_target == 30 and before.first_response_target == 240
    client.force_login(org.admin)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert f'action="{url}"' in page
    assert customer.name in client.get(reverse("service:sla")).content.decode()


def test_the_settings_menu_links_the_sla_page_for_exactly_who_may_open_it(client, org, service_team):
    """The link follows the service manager setting, whatever their role: a service colleague who is not the
    manager is not shown a page that refuses them, and a pre-sales service manager is shown theirs."""
    from closeloop.core import configcache
    from closeloop.core.models import Role, User
    from closeloop.service.models import ServiceSettings

    url = reverse("service:sla")
    client.force_login(service_team.first)
    page = client.get(reverse("service:tickets"))
    assert page.status_code == 200 and f'href="{url}"' not in page.content.decode()
    presales = User.objects.create_user("presales", "presales@example.com", "pw", role=Role.PRESALES)
    ServiceSettings.objects.filter(pk=1).update(service_manager=presales)
    configcache.clear()  # update() sends no signal: as another process's change, seen once the cache expires
    client.force_login(presales)
    assert f'href="{url}"' in client.get(reverse("service:tickets")).content.decode()
    assert client.get(url).status_code == 200


def test_the_tier_list_names_only_customers_the_viewer_may_look_at(client, org, make_customer, make_ticket,
                                                                   service_team):
    """The service manager sees every ticket's customer, not the sales side's other customers; administrators all."""
    with_ticket, without = make_customer(owner=org.owner), make_customer(owner=org.owner)
    make_ticket(customer=with_ticket)
    ServiceLevel.objects.bulk_create([ServiceLevel(customer=with_ticket, tier="vip"),
                                      ServiceLevel(customer=without, tier="vip")])
    client.force_login(service_team.manager)
    page = client.get(reverse("service:sla")).content.decode()
    assert with_ticket.name in page and without.name not in page
    client.force_login(org.admin)
    page = client.get(reverse("service:sla")).content.decode()
    assert with_ticket.name in page and without.name in page


def test_setting_a_tier_goes_back_only_to_this_site(client, org, make_customer, service_team):
    """Browsers read `/\\evil.com` as `//evil.com`: the `next` is checked by core.redirects, not by its first slash."""
    customer = make_customer(owner=org.owner)
    url = reverse("service:customer_tier", args=[customer.pk])
    client.force_login(org.admin)
    for target in ("/\\evil.example.com/", "//evil.example.com/", "https://evil.example.com/"):
        response = client.post(url, {"tier": "vip", "next": target})
        assert response["Location"] == customer.get_absolute_url() + "#service-tier", target
    assert client.post(url, {"tier": "strategic", "next": "/service/tickets/"})["Location"] == "/service/tickets/"
