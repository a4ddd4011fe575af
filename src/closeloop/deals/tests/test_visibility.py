"""Every deal page and endpoint as owner, collaborator, teammate, manager, outsider and admin."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.deals.models import Customer, Opportunity
from closeloop.deals.pool import customer_release
from closeloop.followup.services import participant_add

# Who sees a deal owned by `owner` (a rep in team A under `manager`); `collaborator` is outsider added as one.
EXPECTED = {"owner": True, "collaborator": True, "teammate": False, "manager": True, "outsider": False,
            "other_manager": False, "admin": True}


@pytest.fixture
def deal(org, make_deal):
    return make_deal(name="可见性测试商机")


@pytest.fixture
def person(org, deal):
    def get(who):
        if who == "collaborator":
            participant_add(record=deal, user=org.outsider, role="presales", actor=org.owner)
            return org.outsider
        return getattr(org, who)

    return get


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_visible_to(deal, person, who, sees):
    user = person(who)
    assert Opportunity.objects.visible_to(user).filter(pk=deal.pk).exists() is sees
    assert Customer.objects.visible_to(user).filter(pk=deal.customer_id).exists() is sees


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_deal_pages(client, deal, person, stages, who, sees):
    client.force_login(person(who))
    status = 200 if sees else 404
    for name in ("deals:detail", "deals:edit", "deals:transfer"):
        if name == "deals:transfer" and who in ("owner", "collaborator", "teammate"):
            continue
        # A pre-sales collaborator sees the deal but may not edit it (followup.rights): the edit page says so.
        expected = 403 if name == "deals:edit" and who == "collaborator" else status
        assert client.get(reverse(name, args=[deal.pk])).status_code == expected, name
    assert client.get(reverse("followup:activity_create", args=["opportunity", deal.pk])).status_code == status
    response = client.post(reverse("deals:move", args=[deal.pk]), {"stage": stages["需求确认"].pk})
    assert response.status_code in ((403,) if who == "collaborator" else (200, 302) if sees else (404,))
    for name in ("followup:participant_add", "followup:handoff_create", "followup:comment_create"):
        response = client.post(reverse(name, args=["opportunity", deal.pk]), {})
        expected = (200 if name == "followup:handoff_create" else 302) if sees else 404  # an incomplete hand-off: its form
        assert response.status_code == expected, name


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_customer_pages(client, deal, person, who, sees):
    client.force_login(person(who))
    status = 200 if sees else 404
    assert client.get(reverse("deals:customer_detail", args=[deal.customer_id])).status_code == status
    assert client.get(reverse("deals:customer_edit", args=[deal.customer_id])).status_code == (
        403 if who == "collaborator" else status)
    assert client.get(reverse("followup:activity_create", args=["customer", deal.customer_id])).status_code == status
    # Seeing the customer through one of its deals is not selling to it: a second deal needs the right to edit.
    expected = 403 if who == "collaborator" else status
    assert client.get(reverse("deals:create", args=[deal.customer_id])).status_code == expected


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_lists_and_board(client, deal, person, who, sees):
    client.force_login(person(who))
    for url in (reverse("deals:list"), reverse("deals:board"), reverse("deals:customer_list")):
        body = client.get(url).content.decode()
        assert (deal.customer.name in body) is sees, url


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_api(client, deal, person, api_auth, stages, who, sees):
    auth = api_auth(person(who))
    status = 200 if sees else 404
    assert client.get(f"/api/deals/{deal.pk}", **auth).status_code == status
    assert client.get(f"/api/deals/customers/{deal.customer_id}", **auth).status_code == status
    ids = [item["id"] for item in client.get("/api/deals/", **auth).json()["items"]]
    assert (deal.pk in ids) is sees
    ids = [item["id"] for item in client.get("/api/deals/customers", **auth).json()["items"]]
    assert (deal.customer_id in ids) is sees
    # Seeing is not editing: the pre-sales collaborator follows the deal up but may not change it.
    edits = 403 if who == "collaborator" else status
    response = client.patch(f"/api/deals/{deal.pk}", {"next_step": "约演示", "amount": "1"},
                            content_type="application/json", **auth)
    assert response.status_code == edits
    response = client.post(f"/api/deals/{deal.pk}/stage", {"stage_id": stages["需求确认"].pk, "need": "CRM"},
                           content_type="application/json", **auth)
    assert response.status_code == edits
    response = client.post(f"/api/deals/{deal.pk}/activities", {"kind": "call", "content": "电话"},
                           content_type="application/json", **auth)
    assert response.status_code == (201 if sees else 404)


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider"])
def test_lead_conversion_and_lead_follow_up_follow_lead_visibility(client, org, qualified_lead, who):
    lead = qualified_lead()
    sees = who in ("owner", "manager")
    client.force_login(getattr(org, who))
    assert client.get(reverse("deals:convert", args=[lead.pk])).status_code == (200 if sees else 404)
    due = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("followup:activity_create", args=["lead", lead.pk]),
                           {"kind": "call", "content": "x", "next_follow_up_at": due})
    assert response.status_code == (302 if sees else 404)


def test_transfer_page_is_for_managers_only(client, org, deal):
    # The owner sees the deal but may not give it away: 403; someone who does not see it: 404.
    client.force_login(org.owner)
    assert client.get(reverse("deals:transfer", args=[deal.pk])).status_code == 403
    assert client.get(reverse("deals:customer_transfer", args=[deal.customer_id])).status_code == 403
    client.force_login(org.outsider)
    assert client.get(reverse("deals:transfer", args=[deal.pk])).status_code == 404
    client.force_login(org.manager)
    assert client.get(reverse("deals:transfer", args=[deal.pk])).status_code == 200


@pytest.mark.parametrize("kind", ["deal", "customer"])
def test_a_manager_transfers_through_the_page(client, org, deal, kind):
    record = deal if kind == "deal" else deal.customer
    url = reverse("deals:transfer" if kind == "deal" else "deals:customer_transfer", args=[record.pk])
    data = {"new_owner": org.teammate.pk, "reason": "休假交接"}
    client.force_login(org.owner)
    assert client.post(url, data).status_code == 403
    client.force_login(org.manager)
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == record.get_absolute_url()
    record.refresh_from_db()
    assert record.owner == org.teammate


def test_settings_are_for_admins_only(client, org):
    for who in ("owner", "manager", "outsider"):
        client.force_login(getattr(org, who))
        assert client.get(reverse("deals:settings")).status_code == 404
    client.force_login(org.admin)
    assert client.get(reverse("deals:settings")).status_code == 200


def test_pool_shows_unowned_customers_to_reps_and_hides_them_elsewhere(client, org, make_customer):
    customer = make_customer(name="公海里的公司")
    customer_release(customer=customer, actor=org.owner, reason="quiet")
    client.force_login(org.outsider)
    assert "公海里的公司" in client.get(reverse("deals:customer_pool")).content.decode()
    assert client.get(reverse("deals:customer_detail", args=[customer.pk])).status_code == 404
    client.force_login(org.marketer)
    assert "公海里的公司" not in client.get(reverse("deals:customer_pool")).content.decode()


def test_anonymous_is_sent_to_login(client, deal):
    response = client.get(reverse("deals:detail", args=[deal.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get("/api/deals/").status_code == 401


def test_the_customer_page_lists_only_the_deals_and_notes_the_viewer_may_see(client, org, make_customer, make_deal):
    from closeloop.followup.services import activity_log

    customer = make_customer(owner=org.owner)
    mine = make_deal(owner=org.owner, customer=customer, name="看得见的项目")
    hidden = make_deal(owner=org.outsider, customer=customer, name="别人的保密项目", amount="987654")
    activity_log(actor=org.outsider, record=hidden, data={"kind": "call", "content": "保密的跟进内容"})
    activity_log(actor=org.owner, record=mine, data={"kind": "call", "content": "自己的跟进内容"})
    client.force_login(org.owner)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "看得见的项目" in page and "自己的跟进内容" in page
    assert "别人的保密项目" not in page and "987,654" not in page and "保密的跟进内容" not in page
    assert client.get(hidden.get_absolute_url()).status_code == 404
    # An administrator sees every deal of the customer.
    client.force_login(org.admin)
    assert "别人的保密项目" in client.get(customer.get_absolute_url()).content.decode()


def test_the_dashboards_team_line_lists_what_the_team_owns_not_all_the_viewer_sees(client, org, make_deal):
    """`owner=team` (a manager's line on the dashboard) narrows the customer and deal lists to the team's records:
    a deal of another team the manager collaborates on is seen, and left out of the line."""
    ours = make_deal(owner=org.teammate, name="本组商机")
    theirs = make_deal(owner=org.outsider, name="外组协作商机")
    participant_add(record=theirs, user=org.manager, role="presales", actor=org.outsider)
    client.force_login(org.manager)
    for url, ours_name, theirs_name in ((reverse("deals:list"), ours.name, theirs.name),
                                        (reverse("deals:customer_list"), ours.customer.name, theirs.customer.name)):
        everything = client.get(url).content.decode()
        assert ours_name in everything and theirs_name in everything
        line = client.get(url, {"owner": "team"}).content.decode()
        assert ours_name in line and theirs_name not in line
