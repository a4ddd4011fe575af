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


def deleted(client, auth, kind, *, cursor=None, since=EPOCH, page_size=3):
    return sync(client, auth, f"/api/deleted/{kind}", cursor=cursor, since=since, page_size=page_size)


def test_deletes_are_reported_to_the_sync_and_a_merge_is_a_change(client, org, auth, make_lead, make_customer,
                                                                     no_settle):
    from closeloop.core.savedviews.services import view_delete, view_save
    from closeloop.deals.services.customers import contact_create, contact_delete
    from closeloop.followup.services import activity_log
    from closeloop.leads.services.merge import lead_merge

    survivor, merged, gone = make_lead(), make_lead(company_name="上海重复科技有限公司"), make_lead()
    call = activity_log(actor=org.owner, record=gone, data={"kind": "call", "content": "电话"})
    _seen, since = deleted(client, auth, "leads")
    _seen, list_cursor = sync(client, auth, "/api/leads/")
    lead_merge(survivor=survivor, others=[merged], field_choices={}, actor=org.owner)
    gone_id, call_id = gone.pk, call.pk
    gone.delete()  # as an administrator would in the admin: its follow-ups go with it
    customer = make_customer()
    contact_create(customer=customer, data={"name": "钱伟", "mobile": "13800000001"}, actor=org.owner)
    second = contact_create(customer=customer, data={"name": "李工", "mobile": "13800000002"}, actor=org.owner)
    contact_delete(contact=second, actor=org.owner)
    view = view_save(list_key="leads", name="临时", shared=False, actor=org.owner, columns=["contact"])
    view_id = view.pk
    view_delete(view=view, actor=org.owner)
    seen, cursor = deleted(client, auth, "leads", cursor=since)
    assert [item["id"] for item in seen] == [gone_id]
    assert [item["id"] for item in deleted(client, auth, "activities")[0]] == [call_id]
    assert [item["id"] for item in deleted(client, auth, "contacts")[0]] == [second.pk]
    assert [item["id"] for item in deleted(client, auth, "saved_views")[0]] == [view_id]
    # A merged lead is not deleted: the list gives it again, merged into the survivor.
    changed = {item["id"]: item for item in sync(client, auth, "/api/leads/", cursor=list_cursor)[0]}
    assert changed[merged.pk]["status"] == "merged"
    # Once: the cursor goes on after it.
    assert deleted(client, auth, "leads", cursor=cursor)[0] == []
    assert client.get("/api/deleted/nope", **auth).status_code == 422
    # Without sync parameters: pages, newest first.
    assert client.get("/api/deleted/leads", **auth).json()["items"][0]["id"] == gone_id


def test_a_rolled_back_delete_reports_nothing(client, org, auth, make_lead, no_settle):
    lead = make_lead()
    with pytest.raises(RuntimeError), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).delete()
        raise RuntimeError
    assert deleted(client, auth, "leads")[0] == []
    lead_id = lead.pk
    lead.delete()
    assert [item["id"] for item in deleted(client, auth, "leads")[0]] == [lead_id]


def test_a_mirror_kept_by_the_list_and_its_deletions_matches_under_concurrent_writes(client, org, auth, make_lead,
                                                                                      no_settle):
    """What an integrator does: follow the list's cursor and the deletions' cursor, upsert what the first gives and
    drop what the second gives. With writes, deletes and new leads between its pages, its copy ends equal to what
    the owner sees."""
    leads = [make_lead() for _ in range(8)]
    ids = [lead.pk for lead in leads]
    _none, deletions_cursor = deleted(client, auth, "leads")

    def write_between_pages(count_seen):
        if count_seen == 3:
            leads[1].delete()  # already passed
            leads[6].delete()  # still ahead: never listed
            lead_update(lead=leads[0], data={"city": "苏州"}, actor=org.owner, channel=Channel.WEB)
            make_lead()
        if count_seen == 6:
            leads[2].delete()

    mirror = {}
    seen, list_cursor = sync(client, auth, "/api/leads/", on_page=write_between_pages)
    for item in seen:
        mirror[item["id"]] = item
    gone, deletions_cursor = deleted(client, auth, "leads", cursor=deletions_cursor)
    assert sorted(item["id"] for item in gone) == sorted([ids[1], ids[6], ids[2]])
    for item in gone:
        mirror.pop(item["id"], None)
    current = Lead.objects.filter(owner=org.owner)
    assert set(mirror) == set(current.values_list("pk", flat=True))
    assert mirror[leads[0].pk]["city"] == "苏州"
    # Later: one more of each, from the kept cursors.
    leads[3].delete()
    lead_update(lead=leads[4], data={"city": "无锡"}, actor=org.owner, channel=Channel.WEB)
    assert [item["id"] for item in sync(client, auth, "/api/leads/", cursor=list_cursor)[0]] == [leads[4].pk]
    assert [item["id"] for item in deleted(client, auth, "leads", cursor=deletions_cursor)[0]] == [ids[3]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("settle", [1.0, 0])
def test_a_delete_committed_after_a_later_one_is_not_passed(client, org, auth, make_lead, settings, monkeypatch,
                                                           settle):
    """The lists' race for deletions: a delete stamped at t0 that commits after one stamped at t1 > t0 was listed.
    The slow delete's stamp is taken before the fast one's (its service began first: SQLite lets one transaction
    write at a time, so the slow one's stamp is moved back rather than its lock held)."""
    from closeloop.core import sync as deletions

    settings.CLOSELOOP_API_SYNC_SETTLE_SECONDS = settle
    slow, fast = make_lead(), make_lead()
    slow_id, fast_id = slow.pk, fast.pk
    time.sleep(settle + 0.05)
    _seen, cursor = deleted(client, auth, "leads")
    early = timezone.now()
    slow_thread = []

    class Clock:
        @staticmethod
        def now():
            return early if threading.current_thread() in slow_thread else timezone.now()

    monkeypatch.setattr(deletions, "timezone", Clock)
    written, listed = threading.Event(), threading.Event()
    errors = []

    def slow_deleter():
        try:
            assert written.wait(10)
            with transaction.atomic():
                Lead.objects.get(pk=slow_id).delete()  # stamped `early`
                assert listed.wait(10)
        except Exception as exc:  # raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_deleter)
    slow_thread.append(thread)
    thread.start()
    time.sleep(0.01)
    Lead.objects.get(pk=fast_id).delete()
    written.set()
    time.sleep(0.3)  # the slow delete is written, not committed
    first, cursor = deleted(client, auth, "leads", cursor=cursor)
    listed.set()
    thread.join()
    assert not errors
    time.sleep(settle + 0.05)
    later, _cursor = deleted(client, auth, "leads", cursor=cursor)
    ids = {item["id"] for item in first + later}
    if settle:
        assert ids == {slow_id, fast_id}
    else:
        assert slow_id not in ids and fast_id in ids


def test_old_deletions_are_pruned_in_batches_and_a_sync_from_before_them_is_told_to_start_again(
        client, org, auth, make_lead, no_settle, settings):
    from closeloop.core.models import Deletion, DeletionHorizon
    from closeloop.core.sync import deletions_prune

    leads = [make_lead() for _ in range(4)]
    ids = [lead.pk for lead in leads]
    for lead in leads:
        lead.delete()
    now = timezone.now()
    # Three deletions a hundred days old, one from yesterday; a customer's deletion of the same age stays apart.
    Deletion.objects.filter(kind="leads", record_id__in=ids[:3]).update(deleted_at=now - timedelta(days=100))
    Deletion.objects.create(kind="customers", record_id=7, deleted_at=now - timedelta(days=1))
    Deletion.objects.filter(kind="leads", record_id=ids[3]).update(deleted_at=now - timedelta(days=1))
    old_since = (now - timedelta(days=120)).isoformat()
    # Nothing pruned yet: a sync from long ago still gets everything (a young installation loses nothing).
    assert [item["id"] for item in deleted(client, auth, "leads", since=old_since)[0]] == ids
    old_cursor = client.get(f"/api/deleted/leads?updated_since={old_since.replace('+', '%2B')}&page_size=1",
                            **auth).json()["next_cursor"]
    assert deletions_prune(now=now, days=90, batch=2) == 3
    assert list(Deletion.objects.filter(kind="leads").values_list("record_id", flat=True)) == [ids[3]]
    assert DeletionHorizon.objects.get(kind="leads").pruned_before == now - timedelta(days=90)
    assert not DeletionHorizon.objects.filter(kind="customers").exists()
    # From before the horizon, by time or by a cursor kept since then: 410, with a code a program acts on.
    for query in (f"updated_since={old_since.replace('+', '%2B')}", f"cursor={old_cursor}"):
        response = client.get(f"/api/deleted/leads?{query}", **auth)
        assert response.status_code == 410
        body = response.json()
        assert body["code"] == "sync_expired" and "again" in body["message"]
        assert body["details"]["kept_since"] == (now - timedelta(days=90)).isoformat()
    # From after it, and other kinds, sync as before; the default retention keeps what is younger.
    recent = (now - timedelta(days=30)).isoformat().replace("+", "%2B")
    assert [item["id"] for item in client.get(f"/api/deleted/leads?updated_since={recent}", **auth).json()["items"]] \
        == [ids[3]]
    assert client.get(f"/api/deleted/customers?updated_since={old_since.replace('+', '%2B')}", **auth).status_code == 200
    assert deletions_prune(now=now) == 0
    settings.CLOSELOOP_API_DELETIONS_DAYS = 0
    assert deletions_prune(now=now + timedelta(days=1000)) == 0  # 0: kept for ever


def test_a_caller_is_told_only_the_deletions_of_records_they_could_see(client, org, make_lead, make_customer,
                                                                       no_settle):
    """Who could see a record when it was deleted is kept with its deletion: its owner's line, a collaborator,
    administrators; not another team, nor a teammate it was not shared with. A cascade (a customer's contacts) is
    judged while the parent still exists. Kinds every colleague reads (products) and deletions kept from before
    this was recorded go to every caller; a token made after a deletion is not told it (that caller's first read
    of the list could not hold the record)."""
    from closeloop.core.models import Deletion
    from closeloop.deals.services.customers import contact_create
    from closeloop.followup.services import participant_ensure
    from closeloop.quotes.models import Product

    people = ("owner", "teammate", "manager", "outsider", "other_manager", "admin")
    tokens = {name: {"HTTP_AUTHORIZATION": "Bearer " + api_token_create(user=getattr(org, name), name="sync",
                                                                         actor=None)[0]} for name in people}
    own, shared, theirs = make_lead(), make_lead(), make_lead(owner=org.outsider)
    participant_ensure(record=shared, user=org.teammate)
    customer = make_customer()
    contact = contact_create(customer=customer, data={"name": "钱伟", "mobile": "13800000001"}, actor=org.owner)
    product = Product.objects.create(code="SVC-1", name="年度服务", list_price="1000.00")
    ids = {"own": own.pk, "shared": shared.pk, "theirs": theirs.pk, "contact": contact.pk, "product": product.pk}
    Deletion.objects.create(kind="leads", record_id=999_999)  # kept from before who saw it was recorded
    for record in (own, shared, theirs, product):
        record.delete()
    customer.delete()  # its contacts go with it

    def told(name, kind):
        return {item["id"] for item in deleted(client, tokens[name], kind)[0]}

    leads = {name: told(name, "leads") - {999_999} for name in people}
    assert leads == {"owner": {ids["own"], ids["shared"]}, "teammate": {ids["shared"]},
                     "manager": {ids["own"], ids["shared"]}, "outsider": {ids["theirs"]},
                     "other_manager": {ids["theirs"]}, "admin": {ids["own"], ids["shared"], ids["theirs"]}}
    assert all(999_999 in told(name, "leads") for name in people)
    assert {name for name in people if told(name, "contacts") == {ids["contact"]}} == {"owner", "manager", "admin"}
    assert all(told(name, "products") == {ids["product"]} for name in people)
    # A lead in the pool (no owner) is in the pool's list of every rep: its deletion is told to all.
    pooled = make_lead(owner=None)
    Lead.objects.filter(pk=pooled.pk).update(owner=None, in_pool=True)
    pooled_id = pooled.pk
    Lead.objects.get(pk=pooled_id).delete()
    assert all(pooled_id in told(name, "leads") for name in people)
    late = {"HTTP_AUTHORIZATION": "Bearer " + api_token_create(user=org.marketer, name="late", actor=None)[0]}
    assert {item["id"] for item in deleted(client, late, "leads")[0]} == {999_999, pooled_id}
