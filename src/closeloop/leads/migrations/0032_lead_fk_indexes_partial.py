"""The lead's foreign keys indexed only where set, and the source's own index dropped (lead_source_review_idx
starts with the source): an intake writes 5 index entries fewer per lead. Django's full indexes are dropped by
name here rather than through AlterField, which on SQLite would rebuild the whole table (and drop its triggers)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FIELDS = ("campaign", "created_by", "duplicate_of", "import_job", "merged_into", "source")


def _full_index_names(schema_editor, apps):
    lead = apps.get_model("leads", "Lead")
    for name in FIELDS:
        column = lead._meta.get_field(name).column
        yield schema_editor._create_index_name(lead._meta.db_table, [column]), column


def drop_full_indexes(apps, schema_editor):
    for index, _column in _full_index_names(schema_editor, apps):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")


def create_full_indexes(apps, schema_editor):
    table = schema_editor.quote_name(apps.get_model("leads", "Lead")._meta.db_table)
    for index, column in _full_index_names(schema_editor, apps):
        schema_editor.execute(f"CREATE INDEX {schema_editor.quote_name(index)} ON {table} "
                              f"({schema_editor.quote_name(column)})")


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0031_import_cancel'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='lead',
                    name='campaign',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='leads', to='leads.campaign', verbose_name='campaign'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='created_by',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='duplicate_of',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leads.lead', verbose_name='possible duplicate of'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='import_job',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='leads.importjob', verbose_name='import'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='merged_into',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leads.lead', verbose_name='merged into'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='source',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='leads', to='leads.leadsource', verbose_name='source'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_full_indexes, create_full_indexes)],
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('campaign__isnull', False)), fields=['campaign'], name='lead_campaign_idx'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('created_by__isnull', False)), fields=['created_by'], name='lead_created_by_idx'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('import_job__isnull', False)), fields=['import_job'], name='lead_import_job_idx'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('merged_into__isnull', False)), fields=['merged_into'], name='lead_merged_into_idx'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('duplicate_of__isnull', False)), fields=['duplicate_of'], name='lead_duplicate_of_idx'),
        ),
    ]
