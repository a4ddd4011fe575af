"""Each deal keeps its lead's creation time and source, kept by triggers (deals/lead_origin.py), filled before the
review's index of won deals by them is built."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from closeloop.deals import lead_origin


def keep_lead_origin(apps, schema_editor):
    lead_origin.ensure(schema_editor.connection)


def drop_triggers(apps, schema_editor):
    lead_origin.drop(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('deals', '0020_lost_reason_cover_index'),
        ('leads', '0031_import_cancel'),  # the lead source: any leads state has it
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='opportunity',
            name='lead_created_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='lead created'),
        ),
        migrations.AddField(
            model_name='opportunity',
            name='lead_source',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='leads.leadsource', verbose_name='lead source'),
        ),
        migrations.RunPython(keep_lead_origin, drop_triggers),
        migrations.AddIndex(
            model_name='opportunity',
            index=models.Index(fields=['status', 'lead_created_at', 'owner', 'lead_source'], name='opp_won_lead_idx'),
        ),
    ]
