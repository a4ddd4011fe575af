"""One audited update: diff the fields, save only the changed columns, audit old and new values once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.core.audit import audited_create, audited_update
from closeloop.core.errors import ValidationFailed
from closeloop.core.models import AuditEntry, Channel, Department


def test_it_saves_only_the_changed_columns_and_audits_old_and_new(org):
    department = org.team_a
    with CaptureQueriesContext(connection) as queries:
        changes = audited_update(instance=department, data={"name": "华东一组", "parent": org.team_a.parent},
                                 actor=org.admin, channel=Channel.WEB, action="department.update")
    assert changes == {"name": ["一组", "华东一组"]}
    update = next(q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE"))
    assert '"name"' in update and '"parent_id"' not in update and '"path"' not in update
    entry = AuditEntry.objects.for_object(department).get(action="department.update")
    assert entry.changes == {"name": ["一组", "华东一组"]} and entry.actor == org.admin
    assert Department.objects.get(pk=department.pk).name == "华东一组"


def test_nothing_changed_is_neither_saved_nor_audited(org):
    with CaptureQueriesContext(connection) as queries:
        assert audited_update(instance=org.team_b, data={"name": "二组"}, actor=org.admin, channel=Channel.WEB,
                              action="department.update") == {}
    assert not queries.captured_queries


def test_fields_limit_what_data_may_change_and_the_entry_may_sit_on_another_record(org):
    changes = audited_update(instance=org.owner, data={"display_name": "王伟", "role": "admin"}, fields=["display_name"],
                             target=org.team_a, actor=org.admin, channel=Channel.WEB, action="user.update",
                             extra_changes={"note": [None, "x"]})
    org.owner.refresh_from_db()
    assert org.owner.display_name == "王伟" and org.owner.role == "sales_rep"
    assert changes == {"display_name": ["owner", "王伟"], "note": [None, "x"]}
    assert AuditEntry.objects.for_object(org.team_a).get(action="user.update").changes == changes


def test_a_check_that_refuses_leaves_nothing_saved_or_audited(org):
    def refuse(department):
        assert department.name == "改名"  # the check sees the changed record
        raise ValidationFailed("no")

    with pytest.raises(ValidationFailed):
        audited_update(instance=org.team_b, data={"name": "改名"}, actor=org.admin, channel=Channel.WEB,
                       action="department.update", check=refuse)
    assert Department.objects.get(pk=org.team_b.pk).name == "二组"
    assert not AuditEntry.objects.for_object(org.team_b).filter(action="department.update").exists()


def test_always_audits_the_action_when_nothing_changed(org):
    assert audited_update(instance=org.team_b, data={"name": "二组"}, actor=org.admin, channel=Channel.WEB,
                          action="department.update", always=True, note="checked") == {}
    entry = AuditEntry.objects.for_object(org.team_b).get(action="department.update")
    assert (entry.changes, entry.note) == ({}, "checked")


def test_a_creation_entry_names_the_fields_given_or_those_asked_for(org):
    whole = audited_create(instance=Department(name="三组", parent=org.team_a.parent, path="/x/"), actor=org.admin,
                           channel=Channel.WEB, action="department.create")
    assert AuditEntry.objects.for_object(whole).get().changes == {
        "name": [None, "三组"], "parent": [None, org.team_a.parent_id], "path": [None, "/x/"]}
    chosen = audited_create(instance=Department(name="四组", path="/y/"), actor=org.admin, channel=Channel.WEB,
                            action="department.create", fields=["name"], target=org.team_a)
    entry = AuditEntry.objects.for_object(org.team_a).filter(action="department.create").latest("id")
    assert chosen.pk and entry.changes == {"name": [None, "四组"]}


def test_creation_changes_many_equals_creation_changes_of_each_record(org):
    """The bulk form (an import chunk's audit rows) writes what the per-record form writes, shared values too."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from closeloop.core.audit import creation_changes, creation_changes_many
    from closeloop.core.models import User

    moment = datetime(2026, 12, 7, 21, 5, 1, 250000, tzinfo=ZoneInfo("Asia/Shanghai"))
    users = [User(username=f"u{n}", display_name=f"张{n}", date_joined=moment, last_login=None if n else moment,
                  department=org.team_a if n % 2 else None, is_active=bool(n % 3)) for n in range(4)]
    many = creation_changes_many(users)
    assert many == [creation_changes(user) for user in users]
    assert many[0]["date_joined"] == [None, moment.isoformat()] and "last_login" not in many[1]
    assert creation_changes_many([]) == []
