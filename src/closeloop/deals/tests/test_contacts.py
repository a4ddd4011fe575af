"""Editing and deleting contacts: normalized and de-duplicated like adding one, audited, guarded for open deals."""

import pytest
from django.urls import reverse

from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry
from closeloop.deals.models import Contact
from closeloop.deals.services.customers import contact_create, contact_delete, contact_update
from closeloop.deals.services.opportunities import opportunity_move_stage, opportunity_update
from closeloop.followup.services import participant_add


@pytest.fixture
def customer(org, make_customer):
    return make_customer(owner=org.owner, name="苏州联络测试有限公司")


@pytest.fixture
def contacts(org, customer):
    first = contact_create(customer=customer, data={"name": "王伟", "mobile": "13812348000"}, actor=org.owner)
    second = contact_create(customer=customer, data={"name": "李娜", "email": "li.na@example.com"}, actor=org.owner)
    return first, second


def test_update_normalizes_and_audits_in_the_customers_trail(org, customer, contacts):
    first, _second = contacts
    contact = contact_update(contact=first, actor=org.owner,
                                      data={"mobile": "１３９ ００１３ ８０００", "email": " Wang.Wei@Example.COM ", "title": "总监"})
    contact.refresh_from_db()
    assert contact.mobile_key == "+8613900138000" and contact.email == "wang.wei@example.com"
    assert contact.title == "总监" and contact.name == "王伟"
    entry = AuditEntry.objects.for_object(customer).get(action="contact.update")
    assert entry.actor == org.owner and entry.changes["title"] == ["", "总监"]


def test_update_refuses_invalid_values_and_a_duplicate_of_another_contact(org, contacts):
    first, second = contacts
    with pytest.raises(ValidationFailed) as excinfo:
        contact_update(contact=first, data={"mobile": "12", "name": ""}, actor=org.owner)
    assert set(excinfo.value.field_errors) == {"mobile", "name"}
    with pytest.raises(Conflict) as excinfo:
        contact_update(contact=second, data={"mobile": "+86 138 1234 8000"}, actor=org.owner)
    assert excinfo.value.code == "duplicate_contact" and "王伟" in excinfo.value.message
    # Saving a contact with its own number is not a duplicate of itself.
    contact_update(contact=first, data={"mobile": "13812348000", "title": "经理"}, actor=org.owner)


def test_nothing_changed_writes_no_audit_entry(org, customer, contacts):
    contact_update(contact=contacts[0], data={"name": "王伟"}, actor=org.owner)
    assert not AuditEntry.objects.for_object(customer).filter(action="contact.update").exists()


def test_delete_is_refused_while_it_is_the_only_contact_of_an_open_deal(org, customer, contacts, make_deal, stages):
    first, second = contacts
    deal = make_deal(customer=customer, contacts=[first.pk])
    with pytest.raises(Conflict) as excinfo:
        contact_delete(contact=first, actor=org.owner)
    assert excinfo.value.code == "only_contact_of_open_deal" and deal.name in excinfo.value.message
    assert Contact.objects.filter(pk=first.pk).exists()
    # With a second contact on the deal it goes, and the deal keeps the other one.
    opportunity_update(opportunity=deal, data={"contacts": [first.pk, second.pk]}, actor=org.owner)
    contact_delete(contact=first, actor=org.owner)
    assert list(deal.contacts.all()) == [second]


def test_a_closed_deal_does_not_hold_its_contact(org, customer, contacts, make_deal, stages):
    first, _second = contacts
    deal = make_deal(customer=customer, contacts=[first.pk])
    opportunity_move_stage(opportunity=deal, stage=stages["输单"], actor=org.owner,
                                    fields={"lost_reason": "其他"})
    contact_delete(contact=first, actor=org.owner)
    entry = AuditEntry.objects.for_object(customer).get(action="contact.delete")
    assert entry.changes["mobile"] == ["13812348000", None] and deal.name in entry.changes["opportunities"][0]


def test_deleting_the_primary_contact_promotes_the_next(org, contacts):
    first, second = contacts
    assert first.is_primary and not second.is_primary
    contact_delete(contact=first, actor=org.owner)
    assert Contact.objects.get(pk=second.pk).is_primary


def test_only_the_owner_or_a_manager_deletes(org, customer, contacts, make_deal):
    participant_add(record=make_deal(customer=customer), user=org.outsider, role="presales",
                              actor=org.owner)
    with pytest.raises(Forbidden):
        contact_delete(contact=contacts[1], actor=org.outsider)
    contact_delete(contact=contacts[1], actor=org.manager)
    assert not Contact.objects.filter(pk=contacts[1].pk).exists()


# Pages, as owner, teammate, manager, outsider and a collaborator (the outsider added to one of the deals).
SEE = {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "collaborator": 200}
# A pre-sales collaborator on one of the deals sees the customer but may not change it (Act.EDIT): 403.
EDIT = {**SEE, "collaborator": 403}
DELETE = {"owner": True, "teammate": False, "manager": True, "outsider": False, "collaborator": False}


@pytest.fixture
def person(org, customer, make_deal):
    def get(who):
        if who == "collaborator":
            participant_add(record=make_deal(customer=customer), user=org.outsider, role="presales",
                                      actor=org.owner)
            return org.outsider
        return getattr(org, who)

    return get


@pytest.mark.parametrize("who", EDIT)
def test_edit_page(client, org, customer, contacts, person, who):
    client.force_login(person(who))
    url = reverse("deals:contact_edit", args=[customer.pk, contacts[0].pk])
    response = client.get(url)
    assert response.status_code == EDIT[who]
    response = client.post(url, {"name": "王伟", "mobile": "13900001111", "title": "采购经理"})
    contact = Contact.objects.get(pk=contacts[0].pk)
    if EDIT[who] in (403, 404):
        assert response.status_code == EDIT[who] and contact.title == ""
    else:
        assert response.status_code == 302 and contact.title == "采购经理" and contact.mobile_key == "+8613900001111"


@pytest.mark.parametrize("who", SEE)
def test_delete_page_confirms_first(client, org, customer, contacts, person, who):
    client.force_login(person(who))
    url = reverse("deals:contact_delete", args=[customer.pk, contacts[1].pk])
    response = client.get(url)
    assert response.status_code == SEE[who]
    assert Contact.objects.filter(pk=contacts[1].pk).exists()
    if SEE[who] == 200:
        page = response.content.decode()
        assert ("Delete this contact?" in page) is DELETE[who]
    response = client.post(url)
    assert Contact.objects.filter(pk=contacts[1].pk).exists() is not DELETE[who]
    if DELETE[who]:
        assert response.status_code == 302
    elif SEE[who] == 404:
        assert response.status_code == 404
    else:
        assert response.status_code == 409 and "Only the customer" in response.content.decode()


def test_edit_page_shows_a_duplicate_as_a_form_error(client, org, customer, contacts):
    client.force_login(org.owner)
    response = client.post(reverse("deals:contact_edit", args=[customer.pk, contacts[1].pk]),
                           {"name": "李娜", "mobile": "13812348000"})
    assert response.status_code == 200 and "already a contact of this customer" in response.content.decode()


def test_delete_page_names_the_open_deal_that_needs_the_contact(client, org, customer, contacts, make_deal):
    deal = make_deal(customer=customer, contacts=[contacts[0].pk])
    client.force_login(org.owner)
    url = reverse("deals:contact_delete", args=[customer.pk, contacts[0].pk])
    page = client.get(url).content.decode()
    assert "only contact of an open deal" in page and deal.name in page and "Delete this contact?" not in page
    response = client.post(url)
    assert response.status_code == 409 and Contact.objects.filter(pk=contacts[0].pk).exists()


def test_a_contact_of_another_customer_is_404(client, org, customer, contacts, make_customer):
    other = make_customer(owner=org.owner)
    client.force_login(org.owner)
    assert client.get(reverse("deals:contact_edit", args=[other.pk, contacts[0].pk])).status_code == 404
    assert client.post(reverse("deals:contact_delete", args=[other.pk, contacts[0].pk])).status_code == 404


def test_the_customer_page_links_edit_and_delete(client, org, customer, contacts):
    client.force_login(org.owner)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert reverse("deals:contact_edit", args=[customer.pk, contacts[0].pk]) in page
    assert reverse("deals:contact_delete", args=[customer.pk, contacts[0].pk]) in page
