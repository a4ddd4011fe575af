"""The right to act, not only to see, on leads, customers and deals (followup.rights): seeing a lead through
one's source channels, or a customer as a collaborator from another team, lets nobody convert, open deals or
change contacts. Services refuse with Forbidden; the API answers 403; the pages answer 403 and hide the buttons."""

import pytest
from django.urls import reverse

from closeloop.core.errors import Conflict, Forbidden
from closeloop.deals.models import Contact, Opportunity
from closeloop.deals.services.conversion import lead_convert
from closeloop.deals.services.customers import contact_create, contact_update
from closeloop.deals.services.opportunities import opportunity_create
from closeloop.followup.models import ParticipantRole
from closeloop.followup.services import participant_add
from closeloop.leads.models import Lead, LeadStatus

CONTACT = {"name": "刘经理", "mobile": "13811112222"}


@pytest.fixture
def marketers_lead(qualified_lead):
    """A qualified lead from the marketer's own channel (展会): the marketer sees it."""
    return qualified_lead(source="展会")


def test_a_marketer_who_sees_a_lead_may_not_convert_it(org, marketers_lead):
    assert Lead.objects.visible_to(org.marketer).filter(pk=marketers_lead.pk).exists()
    with pytest.raises(Forbidden):
        lead_convert(lead=marketers_lead, actor=org.marketer)
    marketers_lead.refresh_from_db()
    assert marketers_lead.status == LeadStatus.QUALIFIED and not Opportunity.objects.exists()


def test_the_convert_page_and_endpoint_refuse_a_marketer_and_hide_the_button(client, org, marketers_lead, api_auth):
    client.force_login(org.marketer)
    detail = client.get(reverse("leads:detail", args=[marketers_lead.pk])).content.decode()
    assert reverse("deals:convert", args=[marketers_lead.pk]) not in detail
    assert client.get(reverse("deals:convert", args=[marketers_lead.pk])).status_code == 403
    assert client.post(reverse("deals:convert", args=[marketers_lead.pk]), {}).status_code == 403
    response = client.post(f"/api/deals/convert/{marketers_lead.pk}", {}, content_type="application/json",
                           **api_auth(org.marketer))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert not Opportunity.objects.exists()
    client.force_login(org.owner)
    assert reverse("deals:convert", args=[marketers_lead.pk]) in client.get(
        reverse("leads:detail", args=[marketers_lead.pk])).content.decode()
    # An outsider sees nothing: 404 as for a missing lead.
    client.force_login(org.outsider)
    assert client.get(reverse("deals:convert", args=[marketers_lead.pk])).status_code == 404


def test_a_collaborator_from_another_team_may_not_open_a_second_deal(client, org, make_customer, api_auth):
    customer = make_customer(owner=org.owner)
    participant_add(record=customer, user=org.outsider, role=ParticipantRole.PRESALES, actor=org.owner)
    with pytest.raises(Forbidden):
        opportunity_create(customer=customer, data={"name": "撞单项目"}, actor=org.outsider)
    response = client.post("/api/deals/", {"customer_id": customer.pk, "name": "撞单项目"},
                           content_type="application/json", **api_auth(org.outsider))
    assert response.status_code == 403
    client.force_login(org.outsider)
    page = client.get(reverse("deals:customer_detail", args=[customer.pk])).content.decode()
    assert reverse("deals:create", args=[customer.pk]) not in page
    assert reverse("deals:contact_create", args=[customer.pk]) not in page
    assert client.get(reverse("deals:create", args=[customer.pk])).status_code == 403
    assert client.post(reverse("deals:create", args=[customer.pk]), {"name": "撞单项目"}).status_code == 403
    assert not Opportunity.objects.exists()
    # A sales collaborator sells with the owner: they may.
    participant_add(record=customer, user=org.teammate, role=ParticipantRole.SALES, actor=org.owner)
    assert opportunity_create(customer=customer, data={"name": "一起跟的项目"}, actor=org.teammate).owner == org.teammate


def test_contacts_are_changed_only_by_who_may_edit_the_customer(client, org, make_customer):
    customer = make_customer(owner=org.owner)
    contact = contact_create(customer=customer, data=CONTACT, actor=org.owner)
    participant_add(record=customer, user=org.outsider, role=ParticipantRole.OTHER, actor=org.owner)
    with pytest.raises(Forbidden):
        contact_create(customer=customer, data={"name": "王五", "mobile": "13800001111"}, actor=org.outsider)
    with pytest.raises(Forbidden):
        contact_update(contact=contact, data={"title": "总经理"}, actor=org.outsider)
    client.force_login(org.outsider)
    assert client.post(reverse("deals:contact_create", args=[customer.pk]),
                       {"name": "王五", "mobile": "13800001111"}).status_code == 403
    assert client.post(reverse("deals:contact_edit", args=[customer.pk, contact.pk]),
                       {**CONTACT, "title": "总经理"}).status_code == 403
    contact.refresh_from_db()
    assert contact.title == "" and Contact.objects.filter(customer=customer).count() == 1
    # The owner's manager may.
    contact_update(contact=contact, data={"title": "总经理"}, actor=org.manager)


def test_converting_into_a_customer_the_owner_only_follows_up_is_refused(org, qualified_lead, make_customer):
    """A pre-sales collaborator on another rep's customer does not own the relationship: a deal there would be
    a second rep on one company. Only the right to edit the customer lets a conversion reuse it."""
    customer = make_customer(owner=org.owner, name="广州协作有限公司")
    participant_add(record=customer, user=org.outsider, role=ParticipantRole.PRESALES, actor=org.owner)
    lead = qualified_lead(owner=org.outsider, company_name="广州协作有限公司")
    with pytest.raises(Conflict):
        lead_convert(lead=lead, actor=org.outsider)
    assert not Opportunity.objects.exists()
    participant_add(record=customer, user=org.teammate, role=ParticipantRole.SALES, actor=org.owner)
    result = lead_convert(lead=qualified_lead(owner=org.teammate, company_name="广州协作有限公司"), actor=org.teammate)
    assert result.customer == customer and result.opportunity.owner == org.teammate
