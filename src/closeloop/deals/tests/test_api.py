"""The deals API beyond deals: customers (update, the pool), contacts and follow-ups, as the pages do them."""

import pytest

from closeloop.core.models import AuditEntry, Channel
from closeloop.deals.models import Contact, Customer
from closeloop.deals.services.customers import contact_create
from closeloop.followup.models import Activity
from closeloop.followup.services import activity_log


@pytest.fixture
def token_for(api_auth):
    return api_auth


def call(client, auth, method, url, body=None):
    send = getattr(client, method)
    return send(url, body, content_type="application/json", **auth) if body is not None else send(url, **auth)


def test_a_customer_is_updated_through_its_service_and_audited_as_api(client, org, token_for, make_customer):
    customer = make_customer()
    response = call(client, token_for(org.owner), "patch", f"/api/deals/customers/{customer.pk}",
                    {"city": "苏州", "industry": None})
    assert response.status_code == 200
    assert response.json()["city"] == "苏州"
    customer.refresh_from_db()
    assert customer.city == "苏州"
    entry = AuditEntry.objects.for_object(customer).filter(action="customer.update").get()
    assert entry.channel == Channel.API and entry.changes["city"] == ["", "苏州"]


def test_a_customer_renamed_onto_another_is_a_conflict_naming_it(client, org, token_for, make_customer):
    taken = make_customer(owner=org.outsider)
    customer = make_customer()
    response = call(client, token_for(org.owner), "patch", f"/api/deals/customers/{customer.pk}", {"name": taken.name})
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_customer"


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("manager", 200), ("teammate", 404), ("outsider", 404)])
def test_a_customer_goes_back_to_the_pool_by_its_owner_or_their_manager(client, org, token_for, make_customer, who,
                                                                         status):
    customer = make_customer()
    response = call(client, token_for(getattr(org, who)), "post", f"/api/deals/customers/{customer.pk}/release",
                    {"reason": "客户暂无需求"})
    assert response.status_code == status
    customer.refresh_from_db()
    assert (customer.owner_id is None) == (status == 200)
    if status == 200:
        assert AuditEntry.objects.for_object(customer).filter(action="customer.release", channel=Channel.API).exists()


def test_a_customer_with_open_deals_stays_out_of_the_pool(client, org, token_for, make_deal):
    deal = make_deal()
    response = call(client, token_for(org.owner), "post", f"/api/deals/customers/{deal.customer_id}/release",
                    {"reason": "不跟了"})
    assert response.status_code == 409


def test_a_pooled_customer_is_listed_without_contacts_and_claimed_once(client, org, token_for, make_customer):
    customer = make_customer()
    contact_create(customer=customer, data={"name": "钱伟", "mobile": "13912345670"}, actor=org.owner)
    assert call(client, token_for(org.owner), "post", f"/api/deals/customers/{customer.pk}/release",
                {"reason": "客户暂无需求"}).status_code == 200

    outsider = token_for(org.outsider)
    pool = call(client, outsider, "get", "/api/deals/customers/pool").json()
    assert [item["id"] for item in pool["items"]] == [customer.pk]
    assert "contacts" not in pool["items"][0] and "mobile" not in pool["items"][0]
    # Not theirs yet: neither the customer nor its people.
    assert call(client, outsider, "get", f"/api/deals/customers/{customer.pk}/contacts").status_code == 404

    claimed = call(client, outsider, "post", f"/api/deals/customers/{customer.pk}/claim")
    assert claimed.status_code == 200 and claimed.json()["owner"] == "outsider"
    assert call(client, outsider, "get", f"/api/deals/customers/{customer.pk}/contacts").json()["items"][0]["name"] == "钱伟"
    again = call(client, outsider, "post", f"/api/deals/customers/{customer.pk}/claim")
    assert again.status_code == 409 and again.json()["code"] == "already_yours"
    # Someone else's now: gone from the pool for everyone.
    assert call(client, token_for(org.teammate), "post", f"/api/deals/customers/{customer.pk}/claim").status_code == 404
    entry = AuditEntry.objects.for_object(customer).filter(action="customer.claim").get()
    assert entry.channel == Channel.API and entry.actor == org.outsider


def test_only_sales_staff_see_the_customer_pool(client, org, token_for, make_customer):
    customer = make_customer()
    call(client, token_for(org.owner), "post", f"/api/deals/customers/{customer.pk}/release", {"reason": "无需求"})
    assert call(client, token_for(org.marketer), "get", "/api/deals/customers/pool").json()["items"] == []
    assert call(client, token_for(org.marketer), "post", f"/api/deals/customers/{customer.pk}/claim").status_code == 404


def test_contacts_are_added_read_corrected_and_deleted_through_their_services(client, org, token_for, make_customer):
    customer = make_customer()
    auth = token_for(org.owner)
    created = call(client, auth, "post", f"/api/deals/customers/{customer.pk}/contacts",
                   {"name": "钱伟", "title": "IT经理", "mobile": "139 1234 5670", "email": "Qian@Example.com"})
    assert created.status_code == 201
    body = created.json()
    assert body["is_primary"] and body["email"] == "qian@example.com" and body["customer_id"] == customer.pk
    contact = Contact.objects.get(pk=body["id"])
    assert contact.mobile_key == "+8613912345670"

    duplicate = call(client, auth, "post", f"/api/deals/customers/{customer.pk}/contacts",
                     {"name": "钱伟2", "mobile": "13912345670"})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_contact"
    invalid = call(client, auth, "post", f"/api/deals/customers/{customer.pk}/contacts", {"name": "孙丽", "mobile": "12"})
    assert invalid.status_code == 422 and "mobile" in invalid.json()["fields"]

    assert call(client, auth, "get", f"/api/deals/contacts/{contact.pk}").json()["title"] == "IT经理"
    patched = call(client, auth, "patch", f"/api/deals/contacts/{contact.pk}", {"title": "CIO"})
    assert patched.status_code == 200 and patched.json()["title"] == "CIO" and patched.json()["name"] == "钱伟"
    listed = call(client, auth, "get", f"/api/deals/customers/{customer.pk}/contacts").json()
    assert [item["id"] for item in listed["items"]] == [contact.pk]

    actions = list(AuditEntry.objects.for_object(customer).filter(channel=Channel.API).values_list("action", flat=True))
    assert sorted(actions) == ["contact.create", "contact.update"]
    assert call(client, auth, "delete", f"/api/deals/contacts/{contact.pk}").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert AuditEntry.objects.for_object(customer).filter(action="contact.delete", channel=Channel.API).exists()


@pytest.mark.parametrize(("who", "read", "write"), [
    ("owner", 200, 200), ("manager", 200, 200), ("teammate", 404, 404), ("outsider", 404, 404)])
def test_a_contact_is_seen_and_changed_as_its_customer_is(client, org, token_for, make_customer, who, read, write):
    customer = make_customer()
    contact = contact_create(customer=customer, data={"name": "钱伟"}, actor=org.owner)
    auth = token_for(getattr(org, who))
    assert call(client, auth, "get", f"/api/deals/contacts/{contact.pk}").status_code == read
    assert call(client, auth, "patch", f"/api/deals/contacts/{contact.pk}", {"title": "CIO"}).status_code == write
    contact.refresh_from_db()
    assert (contact.title == "CIO") == (write == 200)


def test_the_only_contact_of_an_open_deal_is_kept(client, org, token_for, make_deal):
    deal = make_deal()
    contact = contact_create(customer=deal.customer, data={"name": "钱伟"}, actor=org.owner)
    deal.contacts.add(contact)
    response = call(client, token_for(org.owner), "delete", f"/api/deals/contacts/{contact.pk}")
    assert response.status_code == 409 and response.json()["code"] == "only_contact_of_open_deal"


def test_follow_ups_are_listed_newest_first_and_logged_per_record(client, org, token_for, make_deal):
    deal = make_deal()
    auth = token_for(org.owner)
    first = call(client, auth, "post", f"/api/deals/{deal.pk}/activities", {"kind": "call", "content": "首次电话"})
    second = call(client, auth, "post", f"/api/deals/customers/{deal.customer_id}/activities",
                  {"kind": "visit", "content": "上门拜访"})
    third = call(client, auth, "post", f"/api/deals/{deal.pk}/activities", {"kind": "note", "content": "报价前确认"})
    assert first.status_code == second.status_code == third.status_code == 201
    assert third.json()["actor"] == "owner" and third.json()["channel"] == Channel.API

    deal_page = call(client, auth, "get", f"/api/deals/{deal.pk}/activities").json()
    assert [item["content"] for item in deal_page["items"]] == ["报价前确认", "首次电话"]
    customer_page = call(client, auth, "get", f"/api/deals/customers/{deal.customer_id}/activities?page_size=1").json()
    assert [item["content"] for item in customer_page["items"]] == ["上门拜访"] and not customer_page["has_next"]
    assert call(client, token_for(org.outsider), "get", f"/api/deals/{deal.pk}/activities").status_code == 404
    assert call(client, token_for(org.teammate), "get",
                f"/api/deals/customers/{deal.customer_id}/activities").status_code == 404


def test_a_follow_up_list_reads_a_fixed_number_of_queries(client, org, token_for, make_deal, django_assert_max_num_queries):
    deal = make_deal()
    for n in range(5):
        activity_log(actor=org.owner, record=deal, data={"kind": "call", "content": f"电话{n}"})
    auth = token_for(org.owner)
    call(client, auth, "get", f"/api/deals/{deal.pk}/activities")  # token touched, caches warm
    with django_assert_max_num_queries(8):
        response = call(client, auth, "get", f"/api/deals/{deal.pk}/activities")
    assert len(response.json()["items"]) == Activity.objects.for_record(deal).count() == 5


def test_new_customer_routes_are_in_the_document_with_their_answers(client, db):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/deals/customers/{customer_id}/claim"]["post"]["responses"]) >= {"200", "404", "409"}
    assert set(paths["/api/deals/contacts/{contact_id}"]["delete"]["responses"]) >= {"204", "403", "404", "409"}
    assert "patch" in paths["/api/deals/customers/{customer_id}"]
    assert Customer.objects.count() == 0
