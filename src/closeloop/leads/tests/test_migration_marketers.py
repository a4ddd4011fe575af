"""The marketers ↔ sources relation moved from core's User to leads' LeadSource without losing a row.

A database made before the move has the table core's 0002 created for User.source_channels. The test
rebuilds exactly that table (the old field, created by the old operation), fills it, migrates forward
and reads the rows back through the new field, on SQLite and PostgreSQL alike.
"""

import pytest
from django.db import connection, migrations, models
from django.db.migrations.executor import MigrationExecutor

# Only the marketers migration (and the merge after it) is undone; everything else stays applied.
BEFORE = [("leads", "0011_recompute_company_keys")]
TABLE = "core_user_source_channels"


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_database_made_before_the_move_are_kept():
    executor = _migrate(BEFORE)
    # Going back keeps the table and its rows; drop it to start from what core's old 0002 made.
    with connection.schema_editor() as editor:
        editor.execute(editor.sql_delete_table % {"table": editor.quote_name(TABLE)})
    old_field = migrations.AddField(
        model_name="user", name="source_channels",
        field=models.ManyToManyField(blank=True, related_name="marketers", to="leads.leadsource",
                                     verbose_name="source channels"),
    )
    before = executor.loader.project_state(BEFORE)
    after = before.clone()
    old_field.state_forwards("core", after)
    with connection.schema_editor() as editor:
        old_field.database_forwards("core", editor, before, after)
    old = after.apps
    user = old.get_model("core", "User").objects.create(username="marketer1")
    expo, web = (old.get_model("leads", "LeadSource").objects.create(name=name, position=n)
                 for n, name in enumerate(["展会", "官网"]))
    old.get_model("core", "User").objects.get(pk=user.pk).source_channels.set([expo, web])

    _migrate(executor.loader.graph.leaf_nodes())

    from closeloop.core.models import User
    from closeloop.leads.models import LeadSource

    marketer = User.objects.get(pk=user.pk)
    assert sorted(marketer.source_channels.values_list("name", flat=True)) == ["官网", "展会"]
    assert list(LeadSource.objects.get(pk=expo.pk).marketers.all()) == [marketer]
    # The kept table still takes writes through the new field, its unique pair included.
    phone = LeadSource.objects.create(name="电话", position=3)
    phone.marketers.add(marketer)
    phone.marketers.add(marketer)
    assert marketer.source_channels.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_new_database_gets_the_table_from_leads():
    from closeloop.core.models import User
    from closeloop.leads.models import LeadSource

    assert TABLE in connection.introspection.table_names()
    source = LeadSource.objects.create(name="展会")
    source.marketers.add(User.objects.create(username="m"))
    assert User.objects.get(username="m").source_channels.get() == source


def test_core_migrations_no_longer_depend_on_leads():
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    for (app, _name), migration in loader.disk_migrations.items():
        if app == "core":
            assert not [dep for dep in migration.dependencies if dep[0] not in ("core", "auth", "contenttypes")], _name
