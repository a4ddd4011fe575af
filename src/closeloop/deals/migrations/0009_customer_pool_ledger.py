"""The customers' pool keeps the one pool ledger (leads.PoolEvent) instead of reminder rows: each warning
becomes a ledger warning (its deadline was the reminder's due time) and each return a ledger return (the
reclaim cool-down reads it), for the same person at the same time. The reminder rows go."""

from django.db import migrations

from closeloop.followup.moves import content_type_id, copy_rows


def move_to_pool_ledger(apps, schema_editor):
    customer = content_type_id(apps, schema_editor, "deals", "customer")
    copy_rows(schema_editor, """
        INSERT INTO leads_poolevent (record_type_id, record_id, user_id, kind, reason, deadline, created_at)
        SELECT record_type_id, record_id, recipient_id,
               CASE WHEN kind = 'pool_warning' THEN 'warning' ELSE 'return' END, 'no_follow_up',
               CASE WHEN kind = 'pool_warning' THEN due_at END, sent_at
        FROM followup_reminder WHERE record_type_id = %s AND kind IN ('pool_warning', 'pool_returned') ORDER BY id
    """, [customer])
    copy_rows(schema_editor, "DELETE FROM followup_reminder WHERE record_type_id = %s "
                             "AND kind IN ('pool_warning', 'pool_returned')", [customer])


def move_back_to_reminders(apps, schema_editor):
    customer = content_type_id(apps, schema_editor, "deals", "customer")
    copy_rows(schema_editor, """
        INSERT INTO followup_reminder (record_type_id, record_id, recipient_id, kind, due_at, level, message, url, sent_at)
        SELECT record_type_id, record_id, user_id, CASE WHEN kind = 'warning' THEN 'pool_warning' ELSE 'pool_returned' END,
               COALESCE(deadline, created_at), 0, '', '', created_at
        FROM leads_poolevent WHERE record_type_id = %s AND kind IN ('warning', 'return') ORDER BY id
    """, [customer])
    copy_rows(schema_editor, "DELETE FROM leads_poolevent WHERE record_type_id = %s", [customer])


class Migration(migrations.Migration):

    dependencies = [
        ("deals", "0008_collaboration_to_followup"),
        ("followup", "0002_participants_handoffs_comments"),
        ("leads", "0015_pool_ledger_for_any_record"),
    ]

    operations = [migrations.RunPython(move_to_pool_ledger, move_back_to_reminders)]
