"""The pool ledger (PoolEvent) serves every pool: a row names its record by type and id instead of a lead.

Existing rows are the leads' pool's: each keeps its row and id, now pointing at its lead by type and id.
The customers' pool rows move in with deals' next migration.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from closeloop.followup.moves import content_type_id, copy_rows


def point_at_leads(apps, schema_editor):
    copy_rows(schema_editor, "UPDATE leads_poolevent SET record_type_id = %s, record_id = lead_id",
              [content_type_id(apps, schema_editor, "leads", "lead")])


def point_back_at_leads(apps, schema_editor):
    lead_type = content_type_id(apps, schema_editor, "leads", "lead")
    copy_rows(schema_editor, "DELETE FROM leads_poolevent WHERE record_type_id <> %s", [lead_type])
    copy_rows(schema_editor, "UPDATE leads_poolevent SET lead_id = record_id", [])


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("leads", "0014_collaborators_to_participants"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="poolevent", name="poolevent_warning_once"),
        migrations.RemoveIndex(model_name="poolevent", name="poolevent_lead_kind_idx"),
        migrations.AddField(model_name="poolevent", name="record_id", field=models.BigIntegerField(null=True)),
        migrations.AddField(
            model_name="poolevent", name="record_type",
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="contenttypes.contenttype"),
        ),
        # Nullable for the way back: a lead id is filled in again before the column must hold one.
        migrations.AlterField(
            model_name="poolevent", name="lead",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="pool_events", to="leads.lead"),
        ),
        migrations.RunPython(point_at_leads, point_back_at_leads),
        migrations.RemoveField(model_name="poolevent", name="lead"),
        migrations.AlterField(model_name="poolevent", name="record_id", field=models.BigIntegerField()),
        migrations.AlterField(
            model_name="poolevent", name="record_type",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="contenttypes.contenttype"),
        ),
        migrations.AlterField(
            model_name="poolevent", name="user",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name="poolevent",
            index=models.Index(fields=["record_type", "record_id", "kind", "-created_at"], name="poolevent_record_idx"),
        ),
        migrations.AddConstraint(
            model_name="poolevent",
            constraint=models.UniqueConstraint(condition=models.Q(("kind", "warning")),
                                               fields=("record_type", "record_id", "user", "deadline"),
                                               name="poolevent_warning_once"),
        ),
    ]
