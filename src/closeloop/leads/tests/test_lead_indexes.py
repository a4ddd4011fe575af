"""The lead's foreign keys are indexed only where set, the source by the review's index (leads 0032): a new lead with
no import, merge, flag or campaign writes no entry for them, and every query by one of them still reads an index.
Runs on SQLite and PostgreSQL alike."""

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from closeloop.leads.models import LEAD_OWNER_INDEX, Lead

PARTIAL = {"campaign": "lead_campaign_idx", "created_by": "lead_created_by_idx", "import_job": "lead_import_job_idx",
           "merged_into": "lead_merged_into_idx", "duplicate_of": "lead_duplicate_of_idx"}
BEFORE = [("leads", "0031_import_cancel")]


def _definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                           [Lead._meta.db_table])
        else:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [Lead._meta.db_table])
        return dict(cursor.fetchall())


def _columns() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Lead._meta.db_table)
    return {name: info["columns"] for name, info in constraints.items() if info["index"] and not info["primary_key"]}


def _full_index_name(field: str) -> str:
    column = Lead._meta.get_field(field).column
    return connection.schema_editor()._create_index_name(Lead._meta.db_table, [column])


def _triggers() -> set[str]:
    if connection.vendor != "sqlite":
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [Lead._meta.db_table])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_the_foreign_keys_are_indexed_only_where_set_and_the_source_by_the_review_index():
    definitions, columns = _definitions(), _columns()
    for field, name in PARTIAL.items():
        column = Lead._meta.get_field(field).column
        assert name in definitions, field
        assert "IS NOT NULL" in definitions[name].upper(), definitions[name]
        # No other index holds the column alone: a full one would take an entry for every lead again.
        assert [n for n, cols in columns.items() if cols == [column]] == [name], field
    source = Lead._meta.get_field("source").column
    assert not [n for n, cols in columns.items() if cols == [source]]
    assert columns["lead_source_review_idx"][0] == source
    # The owner keeps its own (owner, id) index, by its own name: the first-contact SLA names it
    # (insights.dashboard.OwnedBy).
    assert columns[LEAD_OWNER_INDEX] == [Lead._meta.get_field("owner").column]
    assert not [n for n, cols in columns.items() if cols == [Lead._meta.get_field("owner").column]
                and n != LEAD_OWNER_INDEX]


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return " ".join(row[3] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test's few rows would be read whole otherwise
        # With a test's few rows every index costs the planner the same, and which it picks follows the statistics
        # the earlier tests left: only the indexes this file names are kept (dropped in a savepoint rolled back
        # below), so the plan shows whether a partial index can serve the query (its predicate implied).
        cursor.execute("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary",
                       [Lead._meta.db_table])
        for (name,) in cursor.fetchall():
            if name not in (*PARTIAL.values(), "lead_source_review_idx"):
                cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("EXPLAIN " + sql, params)
        plan = " ".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
        return plan


@pytest.mark.django_db
def test_reads_by_a_foreign_key_use_its_partial_index(org, make_lead):
    lead = make_lead()
    cases = {
        "import_job": Lead.objects.filter(import_job_id=lead.pk).only("id"),  # the import's result and its delete
        "campaign": Lead.objects.filter(campaign__in=[1, 2]).order_by().values("campaign"),
        "merged_into": Lead.objects.filter(merged_into=lead).only("id"),
        "duplicate_of": Lead.objects.filter(duplicate_of__in=[lead.pk]).only("id"),  # the deletion collector's check
        "created_by": Lead.objects.filter(created_by=org.admin).only("id"),
    }
    for field, queryset in cases.items():
        assert PARTIAL[field] in _plan(queryset), field
    assert "lead_source_review_idx" in _plan(Lead.objects.filter(source_id=lead.source_id).only("id")[:1])


@pytest.mark.django_db(transaction=True)
def test_the_migration_swaps_the_indexes_both_ways_without_rebuilding_the_table(org, make_lead):
    lead = make_lead()
    triggers = _triggers()
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("leads")
    try:
        executor.migrate(BEFORE)
        definitions = _definitions()
        for field, name in PARTIAL.items():
            assert name not in definitions
            assert _full_index_name(field) in definitions
        assert _full_index_name("source") in definitions
        assert _full_index_name("owner") in definitions and LEAD_OWNER_INDEX not in definitions  # named back
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)
    definitions = _definitions()
    for field, name in PARTIAL.items():
        assert name in definitions
        assert _full_index_name(field) not in definitions
    assert _full_index_name("source") not in definitions
    assert LEAD_OWNER_INDEX in definitions and _full_index_name("owner") not in definitions
    # Indexes dropped and made by name: the table (its rows and, on SQLite, its triggers) is the one it was.
    assert _triggers() == triggers
    assert Lead.objects.filter(pk=lead.pk).exists()


@pytest.mark.django_db
def test_the_duplicates_page_reads_flagged_leads_and_a_shared_key_s_leads_from_their_indexes(org, make_lead):
    from django.test.utils import CaptureQueriesContext

    from closeloop.leads.selectors import duplicate_groups

    # Two leads sharing a mobile and an email (as an import or two edits can leave them; intake would attach).
    pair = [make_lead(owner=org.owner).pk for _ in range(2)]
    Lead.objects.filter(pk__in=pair).update(mobile_key="+8613900000001", email_key="same@example.cn")
    with CaptureQueriesContext(connection) as queries:
        rows = duplicate_groups(user=org.admin)["rows"]
    assert rows  # the two leads sharing a mobile (and an email) make a group
    reads = [query["sql"] for query in queries.captured_queries if '_key" IN (' in query["sql"]]
    assert len(reads) == 2
    flagged = [query["sql"] for query in queries.captured_queries if '"duplicate_of_id" IS NOT NULL' in query["sql"]]
    assert len(flagged) == 1
    for sql in [*reads, *flagged]:
        index = ("lead_duplicate_of_idx" if sql in flagged else
                 "lead_mobile_key_idx" if '"mobile_key" IN (' in sql else "lead_email_key_idx")
        with connection.cursor() as cursor:
            # The captured text has its values inlined; no parameters left to bind.
            if connection.vendor == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plan = " ".join(row[3] for row in cursor.fetchall())
            else:
                with transaction.atomic():
                    cursor.execute("SET LOCAL enable_seqscan = off")
                    cursor.execute("EXPLAIN " + sql)
                    plan = " ".join(row[0] for row in cursor.fetchall())
        assert index in plan, plan
        assert sql in flagged or "ORDER BY" not in sql
