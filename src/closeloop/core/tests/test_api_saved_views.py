"""Saved views through the API: the pages' services and rights, as owner, teammate, manager and outsider."""

import pytest

from closeloop.core.models import AuditEntry, Channel, SavedView, TokenAccess
from closeloop.core.savedviews.services import view_save
from closeloop.core.services import api_token_create


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def auth():
    def make(user, writes=True):
        access = TokenAccess.READ_WRITE if writes else TokenAccess.READ
        raw, _token = api_token_create(user=user, name="t", actor=None, access=access)
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    return make


@pytest.fixture
def shared(org):
    return view_save(list_key="leads", name="本周待跟进", shared=True, actor=org.owner,
                     filters="status=contacting", sort="next_follow_up_at", columns=["grade", "contact"])


@pytest.fixture
def private(org):
    return view_save(list_key="leads", name="我的私藏", shared=False, actor=org.owner, columns=["contact"])


def names(client, auth, user, query=""):
    answer = client.get(f"/api/saved-views/{query}", **auth(user))
    assert answer.status_code == 200, answer.content
    return [item["name"] for item in answer.json()["items"]]


def test_each_sees_their_own_and_their_teams_shared_views(client, org, auth, shared, private):
    assert names(client, auth, org.owner) == ["我的私藏", "本周待跟进"]
    assert names(client, auth, org.teammate) == ["本周待跟进"]
    assert names(client, auth, org.manager) == ["本周待跟进"]
    assert names(client, auth, org.outsider) == []
    assert names(client, auth, org.owner, "?list_key=deals") == []
    item = client.get(f"/api/saved-views/{shared.pk}", **auth(org.teammate)).json()
    assert item["filters"] == "status=contacting" and item["columns"] == ["grade", "contact"]
    assert item["shared_with_id"] == org.team_a.pk and item["may_change"] is False
    assert item["url"].endswith(f"?view={shared.pk}&status=contacting&sort=next_follow_up_at")
    assert client.get(f"/api/saved-views/{shared.pk}", **auth(org.owner)).json()["may_change"] is True
    # Someone else's private view, or a team's they are not in, is not there for them.
    assert client.get(f"/api/saved-views/{private.pk}", **auth(org.teammate)).status_code == 404
    assert client.get(f"/api/saved-views/{shared.pk}", **auth(org.outsider)).status_code == 404
    # An administrator reaches any view by its id, to mend it.
    assert client.get(f"/api/saved-views/{private.pk}", **auth(org.admin)).status_code == 200


def test_a_view_is_saved_checked_and_audited_as_the_api(client, org, auth):
    body = {"list_key": "deals", "name": "我的大单", "sort": "-amount", "columns": ["amount", "stage"]}
    answer = client.post("/api/saved-views/", body, content_type="application/json", **auth(org.teammate))
    assert answer.status_code == 201, answer.content
    created = answer.json()
    assert created["list_key"] == "deals" and created["shared_with_id"] is None and created["owner_id"] == org.teammate.pk
    entry = AuditEntry.objects.get(action="saved_view.create")
    assert entry.channel == Channel.API and entry.actor == org.teammate
    # What the list does not know is refused, each named.
    answer = client.post("/api/saved-views/", {**body, "filters": "colour=red", "sort": "shoe_size",
                                               "columns": ["amount", "nope"]},
                         content_type="application/json", **auth(org.teammate))
    assert answer.status_code == 422
    assert set(answer.json()["fields"]) == {"filters", "sort", "columns"}
    answer = client.post("/api/saved-views/", {**body, "list_key": "nope"}, content_type="application/json",
                         **auth(org.teammate))
    assert answer.status_code == 404
    # Without columns: the list's defaults.
    answer = client.post("/api/saved-views/", {"list_key": "leads", "name": "默认"}, content_type="application/json",
                         **auth(org.teammate))
    assert answer.status_code == 201 and answer.json()["columns"]
    # A read-only token reads but does not save.
    answer = client.post("/api/saved-views/", body, content_type="application/json", **auth(org.teammate, writes=False))
    assert answer.status_code == 403 and answer.json()["code"] == "read_only_token"


def test_only_the_owner_or_an_administrator_changes_or_deletes(client, org, auth, shared):
    url = f"/api/saved-views/{shared.pk}"
    for user, status in [(org.teammate, 403), (org.manager, 403), (org.outsider, 404)]:
        answer = client.patch(url, {"name": "改名"}, content_type="application/json", **auth(user))
        assert answer.status_code == status, user
        assert client.delete(url, **auth(user)).status_code == status, user
    answer = client.patch(url, {"name": "改名", "shared": False, "columns": ["owner"]}, content_type="application/json",
                          **auth(org.owner))
    assert answer.status_code == 200, answer.content
    changed = answer.json()
    assert changed["name"] == "改名" and changed["shared_with_id"] is None and changed["columns"] == ["owner"]
    assert changed["filters"] == "status=contacting"  # not sent, kept
    assert AuditEntry.objects.get(action="saved_view.update").channel == Channel.API
    answer = client.patch(url, {"sort": "shoe_size"}, content_type="application/json", **auth(org.owner))
    assert answer.status_code == 422
    assert client.patch(url, {"name": "管理员改"}, content_type="application/json", **auth(org.admin)).status_code == 200
    assert client.delete(url, **auth(org.owner)).status_code == 204
    assert not SavedView.objects.filter(pk=shared.pk).exists()
    assert AuditEntry.objects.get(action="saved_view.delete").channel == Channel.API
    assert client.get(url, **auth(org.owner)).status_code == 404


def test_a_manager_sets_and_clears_their_teams_default(client, org, auth, shared, private):
    url = f"/api/saved-views/{shared.pk}/team-default"
    team = {"department_id": org.team_a.pk}
    assert client.post(url, team, content_type="application/json", **auth(org.owner)).status_code == 403
    assert client.post(url, team, content_type="application/json", **auth(org.teammate)).status_code == 403
    assert client.post(url, team, content_type="application/json", **auth(org.outsider)).status_code == 404
    assert client.post(url, {"department_id": 999999}, content_type="application/json",
                       **auth(org.manager)).status_code == 404
    # A private view cannot be a team's.
    answer = client.post(f"/api/saved-views/{private.pk}/team-default", team, content_type="application/json",
                         **auth(org.admin))
    assert answer.status_code == 422 and "view" in answer.json()["fields"]
    answer = client.post(url, team, content_type="application/json", **auth(org.manager))
    assert answer.status_code == 200, answer.content
    assert answer.json()["default_for_id"] == org.team_a.pk
    # The teammate's list marks it as the one their bare list opens; the owner's too.
    teammate_view = client.get("/api/saved-views/", **auth(org.teammate)).json()["items"][0]
    assert teammate_view["my_default"] is True
    entry = AuditEntry.objects.filter(action="saved_view.team_default").get()
    assert entry.channel == Channel.API and entry.actor == org.manager
    answer = client.post(url, {**team, "clear": True}, content_type="application/json", **auth(org.manager))
    assert answer.status_code == 200 and answer.json()["default_for_id"] is None
    assert answer.json()["my_default"] is False


def test_the_lists_say_what_a_view_may_name(client, org, auth):
    body = client.get("/api/saved-views/lists", **auth(org.owner)).json()
    leads = next(item for item in body if item["key"] == "leads")
    keys = [column["key"] for column in leads["columns"]]
    assert "grade" in keys and "next_follow_up_at" in leads["sorts"] and "status" in leads["filters"]
    assert set(leads["default_columns"]) <= set(keys)


def test_views_sync_by_updated_since(client, org, auth, shared, settings):
    settings.CLOSELOOP_API_SYNC_SETTLE_SECONDS = 0
    first = client.get("/api/saved-views/?updated_since=2000-01-01T00:00:00Z", **auth(org.owner)).json()
    assert [item["id"] for item in first["items"]] == [shared.pk] and first["next_cursor"]
    again = client.get(f"/api/saved-views/?cursor={first['next_cursor']}", **auth(org.owner)).json()
    assert again["items"] == []
