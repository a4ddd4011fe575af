"""The marketers ↔ sources relation moves from core's User.source_channels to LeadSource.marketers.

Databases made before the move already have its table, core_user_source_channels (created by core's
0002 when the field was User's), with the same columns (user_id, leadsource_id): they keep it and its
rows. A new database has no such table, since core's 0002 no longer adds the field: it is created here.
"""

from django.conf import settings
from django.db import migrations, models


class AddFieldKeepingTable(migrations.AddField):
    """AddField for a many-to-many field whose table may already exist; going back keeps table and rows."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        field = to_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        if field.remote_field.through._meta.db_table in schema_editor.connection.introspection.table_names():
            return
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0010_drop_lead_owner_created_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddFieldKeepingTable(
            model_name="leadsource",
            name="marketers",
            field=models.ManyToManyField(
                blank=True, db_table="core_user_source_channels", related_name="source_channels",
                to=settings.AUTH_USER_MODEL, verbose_name="marketers",
            ),
        ),
    ]
