"""Team pages (users, departments) are for administrators; others get a 404."""

import re

import pytest
from django.urls import reverse

from closeloop.core.models import AuditEntry, Department, Role, User

ADMIN_PAGES = ["user_list", "user_create", "department_list", "department_create"]


@pytest.mark.parametrize("page", ADMIN_PAGES)
@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider", "marketer"])
def test_admin_pages_are_hidden_from_others(client, org, page, who):
    client.force_login(getattr(org, who))
    assert client.get(reverse(page)).status_code == 404


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_open_for_admins(client, org, page):
    client.force_login(org.admin)
    assert client.get(reverse(page)).status_code == 200


def test_admin_creates_a_user_with_an_audit_entry(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("user_create"), {
        "username": "rep9", "display_name": "新同事", "role": Role.SALES_REP, "department": org.team_a.pk,
        "manager": org.manager.pk, "is_active": "on", "password": "a-Long-pass-2026",
    })
    assert response.status_code == 302
    user = User.objects.get(username="rep9")
    assert user.check_password("a-Long-pass-2026") and user.manager == org.manager
    entry = AuditEntry.objects.for_object(user).get()
    assert entry.action == "user.create" and entry.changes["role"] == [None, "sales_rep"]
    assert "password" not in entry.changes


def test_a_new_user_starts_as_a_sales_rep_with_a_first_password(client, org):
    client.force_login(org.admin)
    form = client.get(reverse("user_create")).context["form"]
    assert form["role"].value() == Role.SALES_REP
    assert form["password"].label == "password" and not form["password"].help_text
    # The first password is required, and its label is marked so like the username's (not only after a save).
    page = client.get(reverse("user_create"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'<label for="id_password">Password \*', page)
    form = client.get(reverse("user_edit", args=[org.owner.pk])).context["form"]
    assert form["password"].label == "new password" and form["password"].help_text
    page = client.get(reverse("user_edit", args=[org.owner.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'<label for="id_password">New password\n', page)


def test_a_weak_password_is_refused(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("user_create"), {"username": "rep9", "role": Role.SALES_REP, "password": "123"})
    assert response.status_code == 200 and "password" in response.context["form"].errors
    assert not User.objects.filter(username="rep9").exists()


def test_moving_a_department_moves_its_subtree(client, org):
    from closeloop.core.services import department_save

    new_parent = department_save(actor=org.admin, name="华南大区", parent=None)
    sales = org.team_a.parent
    department_save(actor=org.admin, name=sales.name, parent=new_parent, department=sales)
    org.team_a.refresh_from_db()
    assert org.team_a.path.startswith(new_parent.path + f"{sales.pk}/")


def test_a_department_cannot_move_under_itself(client, org):
    client.force_login(org.admin)
    sales = org.team_a.parent
    response = client.post(reverse("department_edit", args=[sales.pk]), {"name": "销售部", "parent": org.team_a.pk})
    assert response.status_code == 200
    assert Department.objects.get(pk=sales.pk).parent_id != org.team_a.pk


def test_manager_visibility_follows_the_department_tree(org, make_lead):
    from closeloop.leads.models import Lead

    director = User.objects.create_user("director", role=Role.SALES_MANAGER, department=org.team_a.parent)
    lead_a, lead_b = make_lead(owner=org.owner), make_lead(owner=org.outsider)
    visible = set(Lead.objects.visible_to(director).values_list("pk", flat=True))
    assert {lead_a.pk, lead_b.pk} <= visible
    assert lead_b.pk not in set(Lead.objects.visible_to(org.manager).values_list("pk", flat=True))


def test_profile_creates_and_revokes_tokens(client, org):
    client.force_login(org.owner)
    response = client.post(reverse("profile"), {"name": "官网对接"})
    raw = response.context["new_token"]
    assert client.get("/api/leads/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    token = org.owner.api_tokens.get()
    client.post(reverse("profile"), {"revoke": token.pk})
    assert client.get("/api/leads/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_nobody_can_revoke_another_users_token(client, org):
    from closeloop.core.services import api_token_create

    _raw, token = api_token_create(user=org.teammate, name="t", actor=None)
    client.force_login(org.owner)
    assert client.post(reverse("profile"), {"revoke": token.pk}).status_code == 404


def test_login_and_logout(client, org):
    response = client.post(reverse("login"), {"username": "owner", "password": "pw"})
    assert response.status_code == 302
    assert client.get(reverse("leads:list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("leads:list")).status_code == 302


def test_the_password_page_reads_like_the_other_forms_and_says_what_is_wrong(client, org):
    client.force_login(org.owner)
    html = client.get(reverse("password_change")).content.decode()
    # The site's fields (label, then "*" if required), not Django's bare "Old password:", and a way back.
    assert "Old password:" not in html and "Old password *" in html and f'href="{reverse("profile")}"' in html
    response = client.post(reverse("password_change"), {
        "old_password": "pw", "new_password1": "a-Long-pass-2026", "new_password2": "a-Long-pass-2027"})
    html = response.content.decode()
    assert response.status_code == 200 and "Please correct the marked fields." in html
    assert 'id="id_new_password2_error"' in html
    response = client.post(reverse("password_change"), {
        "old_password": "pw", "new_password1": "a-Long-pass-2026", "new_password2": "a-Long-pass-2026"})
    assert response.status_code == 302
    assert f'<a href="{reverse("home")}">Back to the home page</a>' in client.get(response["Location"]).content.decode()
