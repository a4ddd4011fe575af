"""The upgrade rebuilds the filter indexes switched on before they held the lists' order.

Core is taken back to before the migration, a field's index is built in the earlier, value-only form (as the
previous version's switch built it), and migrating forward must leave it in the `(value, created_at DESC, id DESC)`
form the switch builds now. Runs on SQLite and PostgreSQL alike.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from closeloop.core.customfields import indexes

BEFORE = [("core", "0014_deletion")]

# Transactional: SQLite cannot change its schema inside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _definition(name: str) -> str | None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None


def _value_only_index(model, key: str) -> None:
    """What the previous version's switch built: the value alone."""
    quote = connection.ops.quote_name
    expression = (f"({quote('custom')} -> '{key}')" if connection.vendor == "postgresql"
                  else f"JSON_EXTRACT({quote('custom')}, '$.\"{key}\"')")
    with connection.cursor() as cursor:
        # A transactional test's flush empties tables but leaves indexes: one left by an earlier test goes first.
        cursor.execute(f"DROP INDEX IF EXISTS {quote(indexes.index_name(model, key))}")
        cursor.execute(f"CREATE INDEX {quote(indexes.index_name(model, key))} ON {quote(model._meta.db_table)} "
                       f"({expression})")


def _drop(model, key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(indexes.index_name(model, key))}")


def test_an_index_of_the_earlier_form_is_rebuilt_in_list_order_on_upgrade(org, make_lead):
    from closeloop.core.models import CustomField
    from closeloop.core.models import CustomFieldType as T
    from closeloop.deals.models import Customer
    from closeloop.leads.models import Lead

    # Made now: the current models may have columns the earlier schema has not (core 0017's `searchable`).
    gold = make_lead()
    executor = _migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("core", "CustomField")
    for target, key in [("leads.Lead", "upgrade_tier"), ("deals.Customer", "upgrade_region"), ("leads.Lead", "upgrade_note")]:
        old.objects.create(target=target, key=key, label_zh=key, type=T.TEXT, indexed=key != "upgrade_note")
    # A field of a record type whose app is gone: nothing to rebuild, and the upgrade goes on.
    old.objects.create(target="gone.Thing", key="x", label_zh="x", type=T.TEXT, indexed=True)
    try:
        _value_only_index(Lead, "upgrade_tier")
        _value_only_index(Customer, "upgrade_region")
        Lead.objects.filter(pk=gold.pk).update(custom={"upgrade_tier": "金"})
        assert "created_at" not in _definition(indexes.index_name(Lead, "upgrade_tier"))

        _migrate(executor.loader.graph.leaf_nodes())

        for model, key in [(Lead, "upgrade_tier"), (Customer, "upgrade_region")]:
            rebuilt = _definition(indexes.index_name(model, key))
            assert rebuilt is not None and "created_at" in rebuilt and "DESC" in rebuilt, rebuilt
        # An unindexed field gets no index on the way.
        assert _definition(indexes.index_name(Lead, "upgrade_note")) is None
        field = CustomField.objects.get(target="leads.Lead", key="upgrade_tier")
        assert list(indexes.value_filter(Lead.objects.all(), field, "金")) == [gold]
    finally:
        # The flush after this test keeps indexes; later tests may build their own of the same name.
        _drop(Lead, "upgrade_tier")
        _drop(Customer, "upgrade_region")


def test_an_empty_database_upgrades_without_anything_to_rebuild():
    executor = _migrate(BEFORE)
    _migrate(executor.loader.graph.leaf_nodes())
    assert indexes.indexes_rebuild([]) == 0
