"""People and departments through the API: the directory every colleague picks from, read-only."""

import pytest

from closeloop.core.services import api_token_create


def auth_for(user) -> dict:
    raw, _token = api_token_create(user=user, name="t", actor=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider", "marketer"])
def test_everyone_reads_the_active_colleagues_without_contact_details(client, org, who):
    org.other_manager.is_active = False
    org.other_manager.save()
    body = client.get("/api/users/?page_size=200", **auth_for(getattr(org, who))).json()
    names = [item["username"] for item in body["items"]]
    assert "other_manager" not in names
    assert {"owner", "teammate", "manager", "outsider", "admin"} <= set(names)
    owner = next(item for item in body["items"] if item["username"] == "owner")
    assert owner["department"] == "一组" and owner["manager_id"] == org.manager.pk and owner["role"] == "sales_rep"
    assert "email" not in owner and "mobile" not in owner


def test_administrators_also_see_deactivated_accounts(client, org):
    org.teammate.is_active = False
    org.teammate.save()
    auth = auth_for(org.admin)
    assert client.get(f"/api/users/{org.teammate.pk}", **auth).json()["is_active"] is False
    assert client.get(f"/api/users/{org.teammate.pk}", **auth_for(org.owner)).status_code == 404


def test_users_filter_by_name_and_department_subtree(client, org):
    auth = auth_for(org.outsider)
    sales = org.team_a.parent
    in_sales = {item["username"] for item in client.get(f"/api/users/?department_id={sales.pk}", **auth).json()["items"]}
    assert in_sales == {"manager", "other_manager", "owner", "teammate", "outsider"}
    in_team_a = {item["username"] for item in client.get(f"/api/users/?department_id={org.team_a.pk}", **auth).json()["items"]}
    assert in_team_a == {"manager", "owner", "teammate"}
    assert [item["username"] for item in client.get("/api/users/?q=mate", **auth).json()["items"]] == ["teammate"]
    assert client.get("/api/users/?department_id=999999", **auth).json()["items"] == []


def test_me_is_the_tokens_owner(client, org):
    assert client.get("/api/users/me", **auth_for(org.manager)).json()["username"] == "manager"


def test_departments_come_in_tree_order(client, org):
    auth = auth_for(org.owner)
    body = client.get("/api/departments/", **auth).json()
    assert [item["name"] for item in body] == ["公司", "销售部", "一组", "二组", "市场部"]
    team_a = client.get(f"/api/departments/{org.team_a.pk}", **auth).json()
    assert team_a["parent_id"] == org.team_a.parent_id and team_a["path"].endswith(f"/{org.team_a.pk}/")
    assert client.get("/api/departments/999999", **auth).status_code == 404


def test_the_directory_needs_a_token(client, org):
    assert client.get("/api/users/").status_code == 401
    assert client.get("/api/departments/").status_code == 401
