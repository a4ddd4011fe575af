"""A change that moves what a person sees over many records at once (their team, role, channels or access; a
manager's subtree; a reassignment written as one update) bumps the sync epoch of exactly the people whose sight it
may change (core/sync.py `sight_changed`): the cursors they hold answer 410 `sync_expired`, everyone else's go on."""

import base64
import json

import pytest
from django.db import transaction

from closeloop.core import sync
from closeloop.core.errors import ValidationFailed
from closeloop.core.models import Role, SyncEpoch, User
from closeloop.core.services import api_token_create, department_save, user_save
from closeloop.leads.models import Lead
from closeloop.leads.services.editing import lead_assign

EPOCH = "2000-01-01T00:00:00Z"
PEOPLE = ("owner", "teammate", "manager", "director", "other_manager", "outsider", "admin", "marketer")
LISTS = ("/api/leads/", "/api/deals/", "/api/deleted/leads")


@pytest.fixture(autouse=True)
def no_settle(settings):
    settings.CLOSELOOP_API_SYNC_SETTLE_SECONDS = 0


@pytest.fixture
def people(org):
    """The org's people and a director: a sales manager over both teams (their department's parent)."""
    org.director = user_save(actor=org.admin, data={"username": "director", "role": Role.SALES_MANAGER,
                                                    "department": org.team_a.parent, "display_name": "director"})
    return {name: getattr(org, name) for name in PEOPLE}


@pytest.fixture
def tokens(people):
    return {name: {"HTTP_AUTHORIZATION": "Bearer " + api_token_create(user=user, name="sync", actor=None)[0]}
            for name, user in people.items()}


@pytest.fixture
def records(org, make_lead, make_deal):
    return {"owner": [make_lead(owner=org.owner), make_lead(owner=org.owner)], "outsider": [make_lead(owner=org.outsider)],
            "deals": [make_deal(owner=org.owner), make_deal(owner=org.outsider)]}


def synced(client, auth, url, cursor=None):
    """(status, ids, cursor) of a sync followed to its end from `cursor` (or the beginning)."""
    ids = []
    while True:
        answer = client.get(f"{url}?page_size=2&" + (f"cursor={cursor}" if cursor else f"updated_since={EPOCH}"),
                            **auth)
        if answer.status_code != 200:
            return answer.status_code, answer.json(), cursor
        body = answer.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not body["has_next"]:
            return 200, ids, cursor


@pytest.fixture
def cursors(client, tokens, records):
    """Each person's cursor on each list, kept after a first full sync."""
    return {name: {url: synced(client, tokens[name], url)[2] for url in LISTS} for name in PEOPLE}


def expired(client, tokens, cursors) -> set[str]:
    """Who is told to start again: on every list at once, or on none."""
    told = set()
    for name in PEOPLE:
        answers = {url: synced(client, tokens[name], url, cursors[name][url]) for url in LISTS}
        statuses = {answer[0] for answer in answers.values()}
        assert len(statuses) == 1, (name, answers)
        if statuses == {410}:
            assert all(answer[1]["code"] == "sync_expired" for answer in answers.values())
            told.add(name)
    return told


def test_a_rep_moved_to_another_team_restarts_the_managers_whose_team_changed(client, org, tokens, cursors, records):
    user_save(actor=org.admin, user=org.owner, data={"department": org.team_b})
    # The director is above both teams; teammates, the other team's rep and the admin see what they saw.
    assert expired(client, tokens, cursors) == {"owner", "manager", "other_manager"}
    # Read again from the start: the new manager has the rep's leads, with their old updated_at, the old one not.
    owned = {lead.pk for lead in records["owner"]}
    status, ids, _cursor = synced(client, tokens["other_manager"], "/api/leads/")
    assert status == 200 and owned <= set(ids)
    status, ids, cursor = synced(client, tokens["manager"], "/api/leads/")
    assert status == 200 and not owned & set(ids)
    assert synced(client, tokens["manager"], "/api/leads/", cursor)[0] == 200  # the new cursor goes on


def test_a_role_changed_restarts_only_that_person(client, org, tokens, cursors):
    user_save(actor=org.admin, user=org.teammate, data={"role": Role.SALES_MANAGER})
    assert expired(client, tokens, cursors) == {"teammate"}


def test_a_department_moved_restarts_the_managers_above_it_on_one_side(client, org, tokens, cursors, records):
    # 二组 goes under 一组: its manager (and the director above both places) keep their team; 一组's gains it.
    department_save(actor=org.admin, name="二组", parent=org.team_a, department=org.team_b)
    assert expired(client, tokens, cursors) == {"manager"}
    status, ids, _cursor = synced(client, tokens["manager"], "/api/leads/")
    assert status == 200 and records["outsider"][0].pk in ids


def test_a_person_deactivated_and_back_starts_again(client, org, tokens, cursors, records):
    user_save(actor=org.admin, user=org.owner, data={"is_active": False})
    # Meanwhile a lead leaves their sight, and inactive people are not told departures.
    lead_assign(lead=records["owner"][0], owner=org.outsider, actor=org.admin, reason="离职交接")
    user_save(actor=org.admin, user=org.owner, data={"is_active": True})
    assert SyncEpoch.objects.get(user=org.owner).epoch == 2
    assert "owner" in expired(client, tokens, cursors)
    assert expired(client, tokens, cursors) - {"owner"} == set()


def test_a_marketers_channels_changed_restarts_the_marketer(client, org, tokens, cursors):
    user_save(actor=org.admin, user=org.marketer, data={"source_channels": [org.sources["官网"]]})
    assert expired(client, tokens, cursors) == {"marketer"}


def test_a_change_that_moves_no_sight_restarts_no_one(client, org, tokens, cursors):
    user_save(actor=org.admin, user=org.owner, data={"display_name": "王五", "manager": org.other_manager,
                                                     "department": org.team_a})
    with pytest.raises(ValidationFailed):  # refused (a reporting cycle), so rolled back with its bump
        user_save(actor=org.admin, user=org.other_manager, data={"department": org.team_a, "manager": org.owner})
    assert expired(client, tokens, cursors) == set()
    assert not SyncEpoch.objects.exists()


def test_a_reassignment_written_as_one_update_restarts_both_owners_lines(client, org, tokens, cursors):
    with transaction.atomic():
        moved = Lead.objects.filter(owner=org.owner).update(owner=org.outsider)
        sync.sight_changed(sync.owner_lines({org.owner.pk, org.outsider.pk}))
    assert moved == 2
    assert expired(client, tokens, cursors) == {"owner", "manager", "director", "outsider", "other_manager"}


def test_a_cursor_given_before_epochs_goes_on_at_epoch_zero_only(client, org, tokens, records):
    lead = records["owner"][0]
    text = json.dumps(["updated_at", lead.updated_at.isoformat(), lead.pk], separators=(",", ":"))
    old = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    assert synced(client, tokens["owner"], "/api/leads/", old)[0] == 200
    user_save(actor=org.admin, user=org.owner, data={"role": Role.SALES_MANAGER})
    assert synced(client, tokens["owner"], "/api/leads/", old)[0] == 410
    # A page by number, and a sync started with updated_since, are never refused.
    assert client.get("/api/leads/", **tokens["owner"]).status_code == 200
    assert synced(client, tokens["owner"], "/api/leads/")[0] == 200
    assert User.objects.get(pk=org.owner.pk).role == Role.SALES_MANAGER
