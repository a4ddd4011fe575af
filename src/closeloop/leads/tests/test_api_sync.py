"""Syncing through the API (core/pagination.py's `api_list`): `updated_since` and a cursor over (updated_at, id), so
another system gets every change once, even while others write between its pages."""

import threading
import time
from datetime import datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from closeloop.core.models import Channel
from closeloop.core.services import api_token_create
from closeloop.leads.models import Lead
from closeloop.leads.services.editing import lead_update
from closeloop.service.tests.conftest import make_ticket, service_staff, service_team  # noqa: F401 (fixtures)

EPOCH = "2000-01-01T00:00:00Z"


@pytest.fixture
def auth(org):
    raw, _token = api_token_create(user=org.owner, name="sync", actor=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def no_settle(settings):
    settings.CLOSELOOP_API_SYNC_SETTLE_SECONDS = 0


def sync(client, auth, url, *, cursor=None, since=EPOCH, page_size=3, on_page=None):
    """Follow a list's cursor to its end: every item seen (in order) and the cursor to keep."""
    seen = []
    while True:
        query = f"cursor={cursor}" if cursor else f"updated_since={since.replace('+', '%2B')}"
        body = client.get(f"{url}?{query}&page_size={page_size}", **auth).json()
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if on_page:
            on_page(len(seen))
        if not body["has_next"]:
            return seen, cursor


def test_a_sync_reaches_every_visible_lead_once_oldest_change_first(client, org, auth, make_lead, no_settle):
    leads = [make_lead() for _ in range(7)]
    make_lead(owner=org.outsider)
    seen, _cursor = sync(client, auth, "/api/leads/")
    assert [item["id"] for item in seen] == [lead.pk for lead in leads]
    stamps = [item["updated_at"] for item in seen]
    assert stamps == sorted(stamps)


def test_writing_while_paging_misses_nothing_and_repeats_nothing(client, org, auth, make_lead, no_settle):
    leads = [make_lead() for _ in range(9)]
    written = {}

    def write_between_pages(count_seen):
        if count_seen == 3:
            # One already passed, one still ahead, one new: each must come (again) with its change.
            written["behind"] = lead_update(lead=leads[0], data={"city": "苏州"}, actor=org.owner, channel=Channel.WEB)
            written["ahead"] = lead_update(lead=leads[6], data={"city": "无锡"}, actor=org.owner, channel=Channel.WEB)
            written["new"] = make_lead()

    seen, cursor = sync(client, auth, "/api/leads/", on_page=write_between_pages)
    versions = [(item["id"], item["updated_at"]) for item in seen]
    assert len(versions) == len(set(versions)), "a version came twice"
    latest = {item["id"]: item for item in seen}
    current = Lead.objects.filter(owner=org.owner)
    assert set(latest) == set(current.values_list("pk", flat=True))
    for lead in current:
        # Each lead's last item is its current version (the API writes times to the millisecond).
        shown = datetime.fromisoformat(latest[lead.pk]["updated_at"])
        assert shown == lead.updated_at.replace(microsecond=lead.updated_at.microsecond // 1000 * 1000), lead.pk
    assert latest[leads[0].pk]["city"] == "苏州" and latest[leads[6].pk]["city"] == "无锡"
    # Each lead not written meanwhile came exactly once, and the one still ahead only with its change.
    counts = {pk: [item["id"] for item in seen].count(pk) for pk in latest}
    assert counts[leads[0].pk] == 2 and counts[leads[6].pk] == 1
    assert all(counts[lead.pk] == 1 for lead in leads[1:6] + leads[7:])

    # Kept and sent again later: only what changed since.
    lead_update(lead=leads[3], data={"city": "常州"}, actor=org.owner, channel=Channel.WEB)
    again, _cursor = sync(client, auth, "/api/leads/", cursor=cursor)
    assert [item["id"] for item in again] == [leads[3].pk]


def test_updated_since_starts_at_a_time(client, org, auth, make_lead, no_settle):
    old = make_lead()
    Lead.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    recent = make_lead()
    since = (timezone.now() - timedelta(days=1)).isoformat()
    seen, _cursor = sync(client, auth, "/api/leads/", since=since)
    assert [item["id"] for item in seen] == [recent.pk]


def test_an_empty_sync_keeps_its_place(client, org, auth, make_lead, no_settle):
    seen, cursor = sync(client, auth, "/api/leads/")
    assert seen == [] and cursor
    lead = make_lead()
    seen, _cursor = sync(client, auth, "/api/leads/", cursor=cursor)
    assert [item["id"] for item in seen] == [lead.pk]


@pytest.mark.parametrize("cursor", ["nope", "W10", "WyJjcmVhdGVkX2F0IiwiMjAyNi0wMS0wMVQwMDowMDowMCswMDowMCIsMV0"])
def test_a_cursor_from_elsewhere_is_refused_naming_it(client, org, auth, cursor):
    response = client.get(f"/api/leads/?cursor={cursor}", **auth)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed" and "cursor" in response.json()["fields"]


def test_without_sync_parameters_a_list_pages_as_before(client, org, auth, make_lead):
    make_lead()
    body = client.get("/api/leads/", **auth).json()
    assert body["page"] == 1 and body["next_cursor"] is None and len(body["items"]) == 1


def test_deals_customers_contacts_and_follow_ups_sync_the_same_way(client, org, auth, make_deal, no_settle):
    from closeloop.deals.services.customers import contact_create, contact_update
    from closeloop.followup.services import activity_log

    deal = make_deal()
    contact = contact_create(customer=deal.customer, data={"name": "钱伟"}, actor=org.owner)
    seen, cursor = sync(client, auth, f"/api/deals/customers/{deal.customer_id}/contacts")
    assert [item["id"] for item in seen] == [contact.pk]
    contact_update(contact=contact, data={"title": "CIO"}, actor=org.owner)
    seen, cursor = sync(client, auth, f"/api/deals/customers/{deal.customer_id}/contacts", cursor=cursor)
    assert [item["title"] for item in seen] == ["CIO"]

    for n in range(4):
        activity_log(actor=org.owner, record=deal, data={"kind": "call", "content": f"电话{n}"})
    seen, _cursor = sync(client, auth, f"/api/deals/{deal.pk}/activities")
    assert [item["content"] for item in seen] == ["电话0", "电话1", "电话2", "电话3"]
    assert [item["id"] for item in sync(client, auth, "/api/deals/")[0]] == [deal.pk]
    assert [item["id"] for item in sync(client, auth, "/api/deals/customers")[0]] == [deal.customer_id]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("settle", [1.0, 0])
def test_a_change_committed_after_a_later_one_is_not_passed(client, org, auth, make_lead, settings, settle):
    """The race the settle window closes: a change stamped at t0 commits after another stamped at t1 > t0 is
    listed. Without the window the cursor passes t0 before the first change is visible, and it is never listed."""
    settings.CLOSELOOP_API_SYNC_SETTLE_SECONDS = settle
    slow = make_lead()
    time.sleep(settle + 0.05)
    _seen, cursor = sync(client, auth, "/api/leads/")
    stamped, written, listed = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def slow_writer():
        try:
            # The service stamps its change, then others commit theirs before its transaction ends.
            stamp = timezone.now()
            stamped.set()
            assert written.wait(10)
            with transaction.atomic():
                Lead.objects.filter(pk=slow.pk).update(city="苏州", updated_at=stamp)
                assert listed.wait(10)
        except Exception as exc:  # raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert stamped.wait(10)
    fast = make_lead()
    written.set()
    _seen, cursor = sync(client, auth, "/api/leads/", cursor=cursor)
    listed.set()
    thread.join()
    assert not errors
    time.sleep(settle + 0.05)
    later, _cursor = sync(client, auth, "/api/leads/", cursor=cursor)
    ids = {item["id"] for item in _seen + later}
    if settle:
        assert ids == {slow.pk, fast.pk}
    else:
        assert slow.pk not in ids and fast.pk in ids


@pytest.mark.parametrize(("since", "found"), [("0001-01-01T00:00:00%2B14:00", True), ("9999-12-31T23:59:59-14:00", False)])
def test_a_time_at_the_calendars_ends_is_read_as_before_or_after_everything(client, org, auth, make_lead, no_settle,
                                                                           since, found):
    lead = make_lead()
    body = client.get(f"/api/leads/?updated_since={since}", **auth).json()
    assert [item["id"] for item in body["items"]] == ([lead.pk] if found else [])


def test_products_campaigns_people_surveys_and_the_pools_sync_too(client, org, auth, make_lead, make_customer,
                                                                   make_ticket, no_settle):  # noqa: F811
    from closeloop.deals.pool import customer_release
    from closeloop.leads.models import LeadSource
    from closeloop.leads.services_campaigns import campaign_save
    from closeloop.quotes import catalog
    from closeloop.service.models import Survey
    from closeloop.service.surveys import survey_answer

    raw, _token = api_token_create(user=org.admin, name="sync", actor=None)
    admin = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    product = catalog.product_save(actor=org.admin, data={
        "code": "CRM-STD", "name": "CRM标准版", "unit": "套", "list_price": "10000", "cost": "4000", "tax_rate": "13",
        "price_includes_tax": True})
    seen, cursor = sync(client, auth, "/api/quotes/products")
    assert [item["id"] for item in seen] == [product.pk]
    catalog.product_save(actor=org.admin, product=product, data={"name": "CRM标准版（年付）"})
    seen, cursor = sync(client, auth, "/api/quotes/products", cursor=cursor)
    assert [item["name"] for item in seen] == ["CRM标准版（年付）"]

    source = LeadSource.objects.get(name="展会")
    campaign = campaign_save(actor=org.admin, data={"name": "春季展会", "source": source, "active": True})
    seen, cursor = sync(client, admin, "/api/leads/campaigns")
    assert [item["id"] for item in seen] == [campaign.pk]
    assert sync(client, admin, "/api/leads/campaigns", cursor=cursor)[0] == []

    people, cursor = sync(client, auth, "/api/users/", page_size=50)
    assert {item["username"] for item in people} >= {"owner", "teammate", "manager", "admin"}
    org.teammate.on_leave = True
    org.teammate.save()
    seen, cursor = sync(client, auth, "/api/users/", cursor=cursor)
    assert [(item["username"], item["on_leave"]) for item in seen] == [("teammate", True)]

    ticket = make_ticket()
    survey = Survey.objects.create(customer=ticket.customer, ticket=ticket, owner=org.owner,
                                   expires_at=timezone.now() + timedelta(days=7))
    seen, cursor = sync(client, auth, "/api/surveys/")
    assert [item["id"] for item in seen] == [survey.pk]
    survey_answer(survey=survey, csat=5, nps=10)
    seen, cursor = sync(client, auth, "/api/surveys/", cursor=cursor)
    assert [item["csat"] for item in seen] == [5]

    pooled = make_lead(owner=False)
    Lead.objects.filter(pk=pooled.pk).update(owner=None, in_pool=True, pooled_at=timezone.now(),
                                             updated_at=timezone.now())
    seen, cursor = sync(client, auth, "/api/leads/pool")
    assert [item["id"] for item in seen] == [pooled.pk]
    # Claimed since: it left the pool, and the pool's sync does not report it (the leads' sync does).
    assert client.post(f"/api/leads/{pooled.pk}/claim", **auth).status_code == 200
    assert sync(client, auth, "/api/leads/pool", cursor=cursor)[0] == []

    customer = customer_release(customer=make_customer(), actor=org.owner, reason="不再跟进")
    seen, cursor = sync(client, auth, "/api/deals/customers/pool")
    assert [item["id"] for item in seen] == [customer.pk]
