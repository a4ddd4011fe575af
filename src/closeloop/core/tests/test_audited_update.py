"""One audited update: diff the fields, save only the changed columns, audit old and new values once."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.core.audit import audited_update
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
