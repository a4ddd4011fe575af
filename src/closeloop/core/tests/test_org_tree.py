"""The org tree stays a tree: no reporting or department cycles (also under concurrent edits), a moved
department takes its subtree's paths (and so managers' visibility) along, and Django's admin changes nothing."""

import threading

import pytest
from django.db import close_old_connections
from django.urls import reverse

from closeloop.core.errors import ValidationFailed
from closeloop.core.models import Department, User
from closeloop.core.services import department_save, user_save
from closeloop.leads.models import Lead


def test_a_user_cannot_be_their_own_manager(org):
    with pytest.raises(ValidationFailed, match="own manager"):
        user_save(actor=org.admin, user=org.manager, data={"manager": org.manager})


def test_two_people_cannot_manage_each_other(org):
    # owner reports to manager; making manager report to owner would close the loop.
    with pytest.raises(ValidationFailed) as refused:
        user_save(actor=org.admin, user=org.manager, data={"manager": org.owner})
    assert refused.value.message == "owner reports to manager (directly or through others), so cannot be manager's manager."
    assert "manager" in refused.value.field_errors
    org.manager.refresh_from_db()
    assert org.manager.manager_id is None


def test_a_longer_reporting_loop_is_refused_too(org):
    user_save(actor=org.admin, user=org.other_manager, data={"manager": org.owner})  # owner → manager chain
    with pytest.raises(ValidationFailed, match="reports to"):
        user_save(actor=org.admin, user=org.manager, data={"manager": org.other_manager})


def test_the_user_form_shows_the_refusal_on_the_manager_field(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("user_edit", args=[org.manager.pk]), {
        "username": "manager", "role": "sales_manager", "department": org.team_a.pk, "manager": org.owner.pk,
        "is_active": "on",
    })
    assert response.status_code == 200
    assert "Choose a manager who does not report to this user." in response.context["form"].errors["manager"]


def test_a_department_cannot_move_under_its_own_subtree(org):
    sales = org.team_a.parent
    with pytest.raises(ValidationFailed) as refused:
        department_save(actor=org.admin, department=sales, name=sales.name, parent=org.team_a)
    assert refused.value.message == "一组 is inside 销售部, so 销售部 cannot be placed under it."
    with pytest.raises(ValidationFailed, match="under itself"):
        department_save(actor=org.admin, department=sales, name=sales.name, parent=sales)


def test_a_move_recomputes_the_whole_subtree_and_visibility_follows(org, make_lead):
    sub = department_save(actor=org.admin, name="一组华东", parent=org.team_a)
    rep = User.objects.create_user("deep", role="sales_rep", department=sub)
    lead = make_lead(owner=rep)
    south = department_save(actor=org.admin, name="华南大区", parent=None)
    south_manager = User.objects.create_user("south", role="sales_manager", department=south)
    assert not Lead.objects.visible_to(south_manager).filter(pk=lead.pk).exists()

    department_save(actor=org.admin, department=org.team_a, name=org.team_a.name, parent=south)
    paths = dict(Department.objects.values_list("pk", "path"))
    assert paths[org.team_a.pk] == f"/{south.pk}/{org.team_a.pk}/"
    assert paths[sub.pk] == f"/{south.pk}/{org.team_a.pk}/{sub.pk}/"
    assert Lead.objects.visible_to(User.objects.get(pk=south_manager.pk)).filter(pk=lead.pk).exists()
    # The old parent's manager no longer sees the moved team's records.
    assert not Lead.objects.visible_to(User.objects.get(pk=org.other_manager.pk)).filter(pk=lead.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_two_opposite_moves_at_once_leave_a_tree(org):
    left = department_save(actor=org.admin, name="左", parent=None)
    right = department_save(actor=org.admin, name="右", parent=None)
    start = threading.Barrier(2)
    outcomes = []

    def move(department, parent):
        try:
            start.wait()
            department_save(actor=org.admin, department=Department.objects.get(pk=department.pk),
                            name=department.name, parent=Department.objects.get(pk=parent.pk))
            outcomes.append("moved")
        except ValidationFailed:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=move, args=pair) for pair in ((left, right), (right, left))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["moved", "refused"]
    parents = dict(Department.objects.filter(pk__in=[left.pk, right.pk]).values_list("pk", "parent_id"))
    assert not (parents[left.pk] == right.pk and parents[right.pk] == left.pk)


def test_django_admin_shows_users_and_departments_but_changes_nothing(client, org):
    client.force_login(org.admin)
    assert client.get("/django-admin/core/user/").status_code == 200
    page = client.get(f"/django-admin/core/user/{org.owner.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    refused = client.post(f"/django-admin/core/user/{org.owner.pk}/change/",
                          {"username": "owner", "manager": org.owner.pk, "role": "admin"})
    assert refused.status_code == 403
    assert client.post(f"/django-admin/core/department/{org.team_a.pk}/change/",
                       {"name": "x", "parent": org.team_a.pk}).status_code == 403
    assert client.get("/django-admin/core/department/add/").status_code == 403
    org.owner.refresh_from_db()
    assert (org.owner.role, org.owner.manager_id) == ("sales_rep", org.manager.pk)
