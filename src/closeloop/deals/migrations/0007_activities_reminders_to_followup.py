"""Activities and the reminder ledger move to the follow-up family (followup.Activity, followup.Reminder).

An activity belonged to a lead, a customer, or a deal (then also naming the deal's customer); it now
belongs to one record: the deal when there is one, else the lead or the customer. A reminder's string
key ("lead:12") becomes that record's type and id. Rows and ids are kept. Rows that would lose a link
(none are written by the code, but a database edited by hand could hold them) stop the migration.
"""

from django.db import migrations

from closeloop.followup.moves import content_type_id, copy_rows, refuse_if, reset_id_sequence

KEY_PREFIXES = [("lead", "leads", "lead"), ("customer", "deals", "customer"), ("opportunity", "deals", "opportunity")]


def move_activities(apps, schema_editor):
    lead, customer, deal = (content_type_id(apps, schema_editor, app, model) for app, model in
                            (("leads", "lead"), ("deals", "customer"), ("deals", "opportunity")))
    refuse_if(schema_editor, """
        SELECT COUNT(*) FROM deals_activity a
        WHERE (a.lead_id IS NULL AND a.customer_id IS NULL AND a.opportunity_id IS NULL)
           OR (a.lead_id IS NOT NULL AND (a.customer_id IS NOT NULL OR a.opportunity_id IS NOT NULL))
           OR (a.opportunity_id IS NOT NULL AND a.customer_id IS NOT NULL
               AND a.customer_id <> (SELECT o.customer_id FROM deals_opportunity o WHERE o.id = a.opportunity_id))
    """, "activities name no record, or two records that are not a deal and its customer; link each to one "
         "record (lead, customer or deal) and migrate again.")
    copy_rows(schema_editor, """
        INSERT INTO followup_activity (id, record_type_id, record_id, kind, content, feedback, next_plan,
                                       next_follow_up_at, actor_id, channel, payload, created_at)
        SELECT id,
               CASE WHEN opportunity_id IS NOT NULL THEN %s WHEN lead_id IS NOT NULL THEN %s ELSE %s END,
               COALESCE(opportunity_id, lead_id, customer_id),
               kind, content, feedback, next_plan, next_follow_up_at, actor_id, channel, payload, created_at
        FROM deals_activity
    """, [deal, lead, customer])
    reset_id_sequence(schema_editor, "followup_activity")


def move_activities_back(apps, schema_editor):
    lead, customer, deal = (content_type_id(apps, schema_editor, app, model) for app, model in
                            (("leads", "lead"), ("deals", "customer"), ("deals", "opportunity")))
    copy_rows(schema_editor, """
        INSERT INTO deals_activity (id, lead_id, customer_id, opportunity_id, kind, content, feedback, next_plan,
                                    next_follow_up_at, actor_id, channel, payload, created_at)
        SELECT a.id,
               CASE WHEN a.record_type_id = %s THEN a.record_id END,
               CASE WHEN a.record_type_id = %s THEN a.record_id
                    WHEN a.record_type_id = %s THEN (SELECT o.customer_id FROM deals_opportunity o WHERE o.id = a.record_id)
               END,
               CASE WHEN a.record_type_id = %s THEN a.record_id END,
               a.kind, a.content, a.feedback, a.next_plan, a.next_follow_up_at, a.actor_id, a.channel, a.payload,
               a.created_at
        FROM followup_activity a WHERE a.record_type_id IN (%s, %s, %s)
    """, [lead, customer, deal, deal, lead, customer, deal])
    copy_rows(schema_editor, "DELETE FROM followup_activity WHERE record_type_id IN (%s, %s, %s)",
              [lead, customer, deal])
    reset_id_sequence(schema_editor, "deals_activity")


def move_reminders(apps, schema_editor):
    known = " AND ".join(f"record_key NOT LIKE '{prefix}:%%'" for prefix, _app, _model in KEY_PREFIXES)
    refuse_if(schema_editor, f"SELECT COUNT(*) FROM deals_reminder WHERE {known}",  # noqa: S608
              "reminders have a record key that names no lead, customer or deal.")
    for prefix, app_label, model in KEY_PREFIXES:
        copy_rows(schema_editor, """
            INSERT INTO followup_reminder (id, record_type_id, record_id, kind, due_at, level, recipient_id, message,
                                           url, sent_at)
            SELECT id, %s, CAST(SUBSTR(record_key, %s) AS BIGINT), kind, due_at, level, recipient_id, message, url,
                   sent_at
            FROM deals_reminder WHERE record_key LIKE %s
        """, [content_type_id(apps, schema_editor, app_label, model), len(prefix) + 2, f"{prefix}:%"])
    reset_id_sequence(schema_editor, "followup_reminder")


def move_reminders_back(apps, schema_editor):
    for prefix, app_label, model in KEY_PREFIXES:
        record_type = content_type_id(apps, schema_editor, app_label, model)
        copy_rows(schema_editor, """
            INSERT INTO deals_reminder (id, record_key, kind, due_at, level, recipient_id, message, url, sent_at)
            SELECT id, %s || CAST(record_id AS VARCHAR(20)), kind, due_at, level, recipient_id, message, url, sent_at
            FROM followup_reminder WHERE record_type_id = %s
        """, [f"{prefix}:", record_type])
        copy_rows(schema_editor, "DELETE FROM followup_reminder WHERE record_type_id = %s", [record_type])
    reset_id_sequence(schema_editor, "deals_reminder")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("deals", "0006_stage_history_keeps_stage_name"),
        ("followup", "0001_initial"),
        ("leads", "0013_tasks_to_followup"),
    ]

    operations = [
        migrations.RunPython(move_activities, move_activities_back),
        migrations.RunPython(move_reminders, move_reminders_back),
        migrations.RemoveIndex(model_name="activity", name="activity_lead_idx"),
        migrations.RemoveIndex(model_name="activity", name="activity_customer_idx"),
        migrations.RemoveIndex(model_name="activity", name="activity_opportunity_idx"),
        migrations.RemoveIndex(model_name="reminder", name="reminder_recipient_idx"),
        migrations.RemoveConstraint(model_name="reminder", name="reminder_once"),
        migrations.DeleteModel(name="Activity"),
        migrations.DeleteModel(name="Reminder"),
    ]
