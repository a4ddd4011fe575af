"""A lead, customer or deal that leaves an API caller's sight through a change of it is listed by
`GET /api/deleted/{kind}` with `why: "left"`, merged with the deletions under the same cursor (core/sync.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from closeloop.core.errors import Forbidden
from closeloop.core.services import api_token_create
from closeloop.deals.pool import customer_release
from closeloop.deals.services.customers import customer_transfer
from closeloop.deals.services.opportunities import opportunity_transfer
from closeloop.followup.services import (
    handoff_request,
    handoff_respond,
    participant_ensure,
    participant_remove,
)
from closeloop.leads.services.editing import lead_assign

EPOCH = "2000-01-01T00:00:00Z"
PEOPLE = ("owner", "teammate", "manager", "outsider", "other_manager", "admin")


@pytest.fixture(autouse=True)
def no_settle(settings):
    settings.CLOSELOOP_API_SYNC_SETTLE_SECONDS = 0


@pytest.fixture
def tokens(org):
    return {name: {"HTTP_AUTHORIZATION": "Bearer " + api_token_create(user=getattr(org, name), name="sync",
                                                                       actor=None)[0]} for name in PEOPLE}


def follow(client, auth, url, *, cursor=None):
    """Every item of a sync from `cursor` (or the beginning), and the cursor to keep."""
    items = []
    while True:
        query = f"cursor={cursor}" if cursor else f"updated_since={EPOCH}"
        body = client.get(f"{url}?{query}&page_size=2", **auth).json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if not body["has_next"]:
            return items, cursor


def told(client, tokens, kind):
    """Per person: the (id, why) pairs `GET /api/deleted/{kind}` gives them."""
    return {name: {(item["id"], item["why"]) for item in follow(client, tokens[name], f"/api/deleted/{kind}")[0]}
            for name in PEOPLE}


def test_a_lead_reassigned_across_teams_left_the_old_line_and_comes_back_through_the_list(client, org, tokens,
                                                                                        make_lead):
    lead, kept = make_lead(), make_lead()
    _items, owners_cursor = follow(client, tokens["owner"], "/api/leads/")
    lead_assign(lead=lead, owner=org.outsider, actor=org.admin, reason="换区域")
    lead_assign(lead=kept, owner=org.teammate, actor=org.manager)  # within the team: the manager still sees it
    assert told(client, tokens, "leads") == {
        "owner": {(lead.pk, "left"), (kept.pk, "left")}, "manager": {(lead.pk, "left")}, "teammate": set(),
        "outsider": set(), "other_manager": set(), "admin": set()}
    # The new owner's line reads it in its list, as any change.
    assert lead.pk in {item["id"] for item in follow(client, tokens["other_manager"], "/api/leads/")[0]}

    # Back to the first team: the other line is told it left, and the old owner gets it again through the list.
    lead_assign(lead=lead, owner=org.owner, actor=org.admin, reason="退回")
    again, _cursor = follow(client, tokens["owner"], "/api/leads/", cursor=owners_cursor)
    assert lead.pk in {item["id"] for item in again}
    after = told(client, tokens, "leads")
    assert after["outsider"] == after["other_manager"] == {(lead.pk, "left")}
    assert after["admin"] == set()


def test_departures_and_deletions_come_under_one_cursor_each_saying_why(client, org, tokens, make_lead):
    gone, moved, later = make_lead(), make_lead(), make_lead()
    gone_id, later_id = gone.pk, later.pk
    _seen, cursor = follow(client, tokens["manager"], "/api/deleted/leads")
    gone.delete()
    lead_assign(lead=moved, owner=org.outsider, actor=org.admin)
    items, cursor = follow(client, tokens["manager"], "/api/deleted/leads", cursor=cursor)
    assert [(item["id"], item["why"]) for item in items] == [(gone_id, "deleted"), (moved.pk, "left")]
    later.delete()
    items, _cursor = follow(client, tokens["manager"], "/api/deleted/leads", cursor=cursor)
    assert [(item["id"], item["why"]) for item in items] == [(later_id, "deleted")]
    assert [item["why"] for item in follow(client, tokens["admin"], "/api/deleted/leads")[0]] == ["deleted"] * 2


def test_a_refused_change_records_no_departure(client, org, tokens, make_lead):
    lead = make_lead()
    with pytest.raises(Forbidden):
        lead_assign(lead=lead, owner=org.outsider, actor=org.teammate)
    assert all(not found for found in told(client, tokens, "leads").values())


def test_deals_and_customers_leave_by_transfer_release_collaboration_and_hand_off(client, org, tokens, make_deal,
                                                                                  make_customer):
    deal = make_deal()
    opportunity_transfer(opportunity=deal, new_owner=org.outsider, actor=org.admin, reason="换区域",
                         keep_as_collaborator=True)
    # Kept as a collaborator, the old owner still sees it; their manager does not.
    assert told(client, tokens, "deals")["owner"] == set()
    assert told(client, tokens, "deals")["manager"] == {(deal.pk, "left")}
    participant_remove(record=deal, user=org.owner, actor=org.admin)
    assert told(client, tokens, "deals")["owner"] == {(deal.pk, "left")}

    # A pending hand-off shows the deal to its assignee; declined, it leaves their sight.
    deal.refresh_from_db()
    handoff = handoff_request(record=deal, assignee=org.teammate, title="技术评估",
                              due_at=(timezone.now() + timedelta(days=2)).isoformat(), actor=org.outsider)
    assert told(client, tokens, "deals")["teammate"] == set()
    handoff_respond(handoff=handoff, actor=org.teammate, accept=False, note="没空")
    deals = told(client, tokens, "deals")
    assert deals["teammate"] == {(deal.pk, "left")}
    assert deals["outsider"] == deals["other_manager"] == deals["admin"] == set()

    customer, shared = make_customer(), make_customer()
    participant_ensure(record=shared, user=org.teammate)
    customer_transfer(customer=customer, new_owner=org.outsider, actor=org.admin, reason="换区域")
    customer_release(customer=shared, actor=org.owner, reason="不再跟进")
    customers = told(client, tokens, "customers")
    assert customers["owner"] == customers["manager"] == {(customer.pk, "left"), (shared.pk, "left")}
    # Still a collaborator on the released customer, the teammate keeps sight of it.
    assert customers["teammate"] == set()
    assert customers["outsider"] == customers["admin"] == set()


def test_a_lead_the_sweep_returns_to_the_pool_left_its_owners_line_and_a_claim_tells_no_one(client, org, tokens,
                                                                                           make_lead):
    from closeloop.leads.models import Lead
    from closeloop.leads.pool import lead_claim, pool_sweep_run
    from closeloop.leads.rule_services import quality_settings_update

    quality_settings_update(data={"return_after_days_unqualified": 30}, actor=org.admin)
    lead = make_lead(need="x")
    Lead.objects.filter(pk=lead.pk).update(assigned_at=timezone.now() - timedelta(days=31))
    assert pool_sweep_run().returned == 1
    expected = {"owner": {(lead.pk, "left")}, "manager": {(lead.pk, "left")}}
    assert {name: found for name, found in told(client, tokens, "leads").items() if found} == expected
    # In the pool it was in nobody's list but the pool's: taking it from there takes it from no one's sight.
    lead_claim(lead=Lead.objects.get(pk=lead.pk), actor=org.outsider)
    assert {name: found for name, found in told(client, tokens, "leads").items() if found} == expected


def test_a_lead_released_by_hand_left_its_owners_line(client, org, tokens, make_lead):
    from closeloop.leads.pool import lead_release

    lead = make_lead(need="x")
    lead_release(lead=lead, reason="联系不上", actor=org.owner)
    expected = {"owner": {(lead.pk, "left")}, "manager": {(lead.pk, "left")}}
    assert {name: found for name, found in told(client, tokens, "leads").items() if found} == expected
