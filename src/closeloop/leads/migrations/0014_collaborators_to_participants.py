"""Lead collaborators become participants of the follow-up family (followup.Participant).

A lead collaborator's role was free text; a participant's is one of the roles, so a text that names one
("presales") becomes it and any other text is kept as the participant's note with the role "other".
Participants get new ids: they come from three tables whose ids overlap, and nothing links to them by id.
The time they were added was not kept before; it reads as the time of this migration.
"""

from django.db import migrations
from django.utils import timezone

from closeloop.followup.moves import content_type_id, copy_rows

ROLES = ["sales", "presales", "product", "finance", "service", "other"]


def move_collaborators(apps, schema_editor):
    lead_type = content_type_id(apps, schema_editor, "leads", "lead")
    known = ", ".join(f"'{role}'" for role in ROLES)
    copy_rows(schema_editor, f"""
        INSERT INTO followup_participant (record_type_id, record_id, user_id, role, note, added_at)
        SELECT %s, lead_id, user_id,
               CASE WHEN role IN ({known}) THEN role ELSE 'other' END,
               CASE WHEN role IN ({known}) THEN '' ELSE SUBSTR(role, 1, 100) END,
               %s
        FROM leads_leadcollaborator ORDER BY id
    """, [lead_type, schema_editor.connection.ops.adapt_datetimefield_value(timezone.now())])  # noqa: S608


def move_collaborators_back(apps, schema_editor):
    lead_type = content_type_id(apps, schema_editor, "leads", "lead")
    copy_rows(schema_editor, """
        INSERT INTO leads_leadcollaborator (lead_id, user_id, role)
        SELECT record_id, user_id, CASE WHEN note <> '' THEN note ELSE role END
        FROM followup_participant WHERE record_type_id = %s ORDER BY id
    """, [lead_type])
    copy_rows(schema_editor, "DELETE FROM followup_participant WHERE record_type_id = %s", [lead_type])


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("followup", "0002_participants_handoffs_comments"),
        ("leads", "0013_tasks_to_followup"),
    ]

    operations = [
        migrations.RunPython(move_collaborators, move_collaborators_back),
        migrations.RemoveConstraint(model_name="leadcollaborator", name="lead_collaborator_unique"),
        migrations.DeleteModel(name="LeadCollaborator"),
    ]
