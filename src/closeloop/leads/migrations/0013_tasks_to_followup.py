"""Lead tasks move to the follow-up family's task table (followup.Task), rows and ids kept."""

from django.db import migrations

from closeloop.followup.moves import content_type_id, copy_rows, reset_id_sequence


def move_tasks(apps, schema_editor):
    lead_type = content_type_id(apps, schema_editor, "leads", "lead")
    copy_rows(schema_editor, """
        INSERT INTO followup_task (id, record_type_id, record_id, owner_id, kind, title, status, due_at, created_at,
                                   closed_at)
        SELECT id, %s, lead_id, owner_id, kind, '', status, due_at, created_at, closed_at FROM leads_leadtask
    """, [lead_type])
    reset_id_sequence(schema_editor, "followup_task")


def move_tasks_back(apps, schema_editor):
    lead_type = content_type_id(apps, schema_editor, "leads", "lead")
    copy_rows(schema_editor, """
        INSERT INTO leads_leadtask (id, lead_id, owner_id, kind, status, due_at, created_at, closed_at)
        SELECT id, record_id, owner_id, kind, status, due_at, created_at, closed_at FROM followup_task
        WHERE record_type_id = %s
    """, [lead_type])
    copy_rows(schema_editor, "DELETE FROM followup_task WHERE record_type_id = %s", [lead_type])
    reset_id_sequence(schema_editor, "leads_leadtask")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("followup", "0001_initial"),
        ("leads", "0012_merge_marketers_company_keys"),
    ]

    operations = [
        migrations.RunPython(move_tasks, move_tasks_back),
        migrations.RemoveIndex(model_name="leadtask", name="leadtask_owner_due_idx"),
        migrations.RemoveIndex(model_name="leadtask", name="leadtask_lead_idx"),
        migrations.DeleteModel(name="LeadTask"),
    ]
