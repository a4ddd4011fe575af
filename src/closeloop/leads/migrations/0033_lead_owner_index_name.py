"""The leads' owner index gets a name of its own (`lead_owner_idx`) instead of the one Django derived from the
column: a query names it in an SQLite INDEXED BY hint (insights.dashboard.OwnedBy), which looked the derived name up
through Django's private naming. The index is renamed where it is (PostgreSQL renames in place; SQLite, which cannot
rename an index, builds it again under the new name); whichever index holds the owner alone is renamed, so running
it again, or back, finds its way."""

from django.conf import settings
from django.db import migrations, models

NAME = "lead_owner_idx"
DERIVED = "leads_lead_owner_id_1f4568d0"  # what Django named the foreign key's index


def _owner_indexes(schema_editor) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, "leads_lead")
    return [name for name, found in constraints.items()
            if found["index"] and not found["primary_key"] and not found["unique"] and found["columns"] == ["owner_id"]]


def _rename_to(name):
    def rename(apps, schema_editor):
        found = _owner_indexes(schema_editor)
        if name in found or len(found) != 1:
            return  # already so named, or not one index to rename: leave it as it is
        lead = apps.get_model("leads", "Lead")
        schema_editor.rename_index(lead, models.Index(fields=["owner"], name=found[0]),
                                   models.Index(fields=["owner"], name=name))

    return rename


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0032_lead_fk_indexes_partial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='lead',
                    name='owner',
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=models.deletion.PROTECT, related_name='owned_leads',
                                            to=settings.AUTH_USER_MODEL, verbose_name='owner'),
                ),
                migrations.AddIndex(
                    model_name='lead',
                    index=models.Index(fields=['owner'], name='lead_owner_idx'),
                ),
            ],
            database_operations=[migrations.RunPython(_rename_to(NAME), _rename_to(DERIVED))],
        ),
    ]
