"""The visibility check "a record with a hand-off pending to the viewer" reads its own covering index even when one
person receives every hand-off (a company's one pre-sales engineer): SQLite plans by its statistics' averages, and
then an assignee "matches" every hand-off while a record kind matches half, so it read every hand-off of the kind."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from closeloop.deals.models import Opportunity
from closeloop.followup.models import Handoff
from closeloop.leads.models import Lead

pytestmark = pytest.mark.django_db


def test_a_pending_hand_off_to_the_viewer_is_read_from_its_covering_index(org, make_lead):
    lead = make_lead(owner=org.owner)
    kinds = [ContentType.objects.get_for_model(Lead), ContentType.objects.get_for_model(Opportunity)]
    due = timezone.now() + timedelta(days=1)
    Handoff.objects.bulk_create(
        Handoff(record_type=kinds[n % 2], record_id=lead.pk + n, title="评估", requested_by=org.owner,
                assignee=org.teammate, due_at=due) for n in range(60))
    if connection.vendor != "sqlite":
        # PostgreSQL keeps per-value statistics; the index is there for it alike, holding what the check reads.
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, Handoff._meta.db_table)
        assert constraints["handoff_to_record_idx"]["columns"] == ["assignee_id", "status", "record_type_id",
                                                                  "record_id"]
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE followup_handoff")
        sql, params = Lead.objects.visible_to(org.teammate).values("pk").query.sql_with_params()
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "COVERING INDEX handoff_to_record_idx (assignee_id=? AND status=? AND record_type_id=?)" in plan, plan
    assert "handoff_record_idx" not in plan, plan
