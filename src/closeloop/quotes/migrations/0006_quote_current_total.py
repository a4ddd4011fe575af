"""Each quote keeps its current version's total, kept by triggers (quotes/current_total.py), filled before the
review's covering indexes are rebuilt with it in place of the current version."""

from django.conf import settings
from django.db import migrations, models

from closeloop.quotes import current_total


def keep_current_total(apps, schema_editor):
    current_total.ensure(schema_editor.connection)


def drop_triggers(apps, schema_editor):
    current_total.drop(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('quotes', '0005_review_cover_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='quote',
            name='quote_sent_cover_idx',
        ),
        migrations.RemoveIndex(
            model_name='quote',
            name='quote_decided_cover_idx',
        ),
        migrations.AddField(
            model_name='quote',
            name='current_total',
            field=models.DecimalField(blank=True, decimal_places=2, editable=False, max_digits=14, null=True, verbose_name='total incl. tax'),
        ),
        migrations.RunPython(keep_current_total, drop_triggers),
        migrations.AddIndex(
            model_name='quote',
            index=models.Index(condition=models.Q(('sent_at__isnull', False)), fields=['sent_at', 'opportunity', 'current_total'], name='quote_sent_total_idx'),
        ),
        migrations.AddIndex(
            model_name='quote',
            index=models.Index(condition=models.Q(('decided_at__isnull', False)), fields=['decided_at', 'status', 'opportunity', 'current_total'], name='quote_decided_total_idx'),
        ),
    ]
