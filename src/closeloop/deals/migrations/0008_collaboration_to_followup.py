"""Customer and deal collaborators, hand-offs and comments move to the follow-up family (followup.Participant,
followup.Handoff, followup.Comment). Hand-offs and comments keep their ids (notifications link to
`#comment-12`); participants get new ones (they come from several tables whose ids overlap, and nothing
links to them). A customer collaborator's adding time was not kept before; it reads as this migration's.
The collaborator notification kind becomes the family's: people's choices for it carry over.
"""

from django.db import migrations
from django.utils import timezone

from closeloop.followup.moves import content_type_id, copy_rows, reset_id_sequence

OLD_KIND, NEW_KIND = "opportunity.collaborator", "participant.added"


def _types(apps, schema_editor):
    return (content_type_id(apps, schema_editor, "deals", "customer"),
            content_type_id(apps, schema_editor, "deals", "opportunity"))


def move_rows(apps, schema_editor):
    customer, deal = _types(apps, schema_editor)
    now = schema_editor.connection.ops.adapt_datetimefield_value(timezone.now())
    copy_rows(schema_editor, """
        INSERT INTO followup_participant (record_type_id, record_id, user_id, role, note, added_at)
        SELECT %s, customer_id, user_id, role, '', %s FROM deals_customercollaborator ORDER BY id
    """, [customer, now])
    copy_rows(schema_editor, """
        INSERT INTO followup_participant (record_type_id, record_id, user_id, role, note, added_at)
        SELECT %s, opportunity_id, user_id, role, '', added_at FROM deals_opportunitycollaborator ORDER BY id
    """, [deal])
    copy_rows(schema_editor, """
        INSERT INTO followup_handoff (id, record_type_id, record_id, title, details, role, requested_by_id, assignee_id,
                                      due_at, status, response_note, created_at, responded_at)
        SELECT id, %s, opportunity_id, title, details, role, requested_by_id, assignee_id, due_at, status,
               response_note, created_at, responded_at
        FROM deals_handoff
    """, [deal])
    reset_id_sequence(schema_editor, "followup_handoff")
    copy_rows(schema_editor, """
        INSERT INTO followup_comment (id, record_type_id, record_id, author_id, body, created_at)
        SELECT id, %s, opportunity_id, author_id, body, created_at FROM deals_comment
    """, [deal])
    reset_id_sequence(schema_editor, "followup_comment")


def move_rows_back(apps, schema_editor):
    customer, deal = _types(apps, schema_editor)
    copy_rows(schema_editor, """
        INSERT INTO deals_customercollaborator (customer_id, user_id, role)
        SELECT record_id, user_id, role FROM followup_participant WHERE record_type_id = %s ORDER BY id
    """, [customer])
    copy_rows(schema_editor, """
        INSERT INTO deals_opportunitycollaborator (opportunity_id, user_id, role, added_at)
        SELECT record_id, user_id, role, added_at FROM followup_participant WHERE record_type_id = %s ORDER BY id
    """, [deal])
    copy_rows(schema_editor, """
        INSERT INTO deals_handoff (id, opportunity_id, title, details, role, requested_by_id, assignee_id, due_at, status,
                                   response_note, created_at, responded_at)
        SELECT id, record_id, title, details, role, requested_by_id, assignee_id, due_at, status, response_note,
               created_at, responded_at
        FROM followup_handoff WHERE record_type_id = %s
    """, [deal])
    copy_rows(schema_editor, """
        INSERT INTO deals_comment (id, opportunity_id, author_id, body, created_at)
        SELECT id, record_id, author_id, body, created_at FROM followup_comment WHERE record_type_id = %s
    """, [deal])
    for table in ("followup_participant", "followup_handoff", "followup_comment"):
        copy_rows(schema_editor, f"DELETE FROM {table} WHERE record_type_id IN (%s, %s)", [customer, deal])  # noqa: S608
    for table in ("deals_handoff", "deals_comment"):
        reset_id_sequence(schema_editor, table)


def rename_kind(apps, schema_editor, old=OLD_KIND, new=NEW_KIND):
    preferences = apps.get_model("core", "NotificationPreference").objects.using(schema_editor.connection.alias)
    # A person who already chose for the new kind keeps that choice.
    chosen = preferences.filter(kind=new).values("user_id")
    preferences.filter(kind=old).exclude(user_id__in=chosen).update(kind=new)
    preferences.filter(kind=old).delete()
    for robot in apps.get_model("core", "GroupRobot").objects.using(schema_editor.connection.alias).all():
        if old in robot.kinds:
            robot.kinds = [new if kind == old else kind for kind in robot.kinds]
            robot.save(update_fields=["kinds"])


def rename_kind_back(apps, schema_editor):
    rename_kind(apps, schema_editor, old=NEW_KIND, new=OLD_KIND)


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0003_grouprobot_notificationdelivery_and_more"),
        ("deals", "0007_activities_reminders_to_followup"),
        ("followup", "0002_participants_handoffs_comments"),
    ]

    operations = [
        migrations.RunPython(move_rows, move_rows_back),
        migrations.RunPython(rename_kind, rename_kind_back),
        migrations.RemoveIndex(model_name="comment", name="comment_opp_idx"),
        migrations.RemoveIndex(model_name="handoff", name="handoff_assignee_idx"),
        migrations.RemoveConstraint(model_name="customercollaborator", name="customer_collaborator_unique"),
        migrations.RemoveConstraint(model_name="opportunitycollaborator", name="opp_collaborator_unique"),
        migrations.DeleteModel(name="Comment"),
        migrations.DeleteModel(name="CustomerCollaborator"),
        migrations.DeleteModel(name="Handoff"),
        migrations.DeleteModel(name="OpportunityCollaborator"),
    ]
