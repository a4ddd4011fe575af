"""Each quote keeps its deal's owner, kept by triggers (quotes/deal_owner.py), filled before the review's covering
indexes are rebuilt with it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from closeloop.quotes import deal_owner


def keep_deal_owner(apps, schema_editor):
    deal_owner.ensure(schema_editor.connection)


def drop_triggers(apps, schema_editor):
    deal_owner.drop(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('deals', '0020_lost_reason_cover_index'),
        ('quotes', '0006_quote_current_total'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='quote',
            name='quote_sent_total_idx',
        ),
        migrations.RemoveIndex(
            model_name='quote',
            name='quote_decided_total_idx',
        ),
        migrations.AddField(
            model_name='quote',
            name='deal_owner',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='owner'),
        ),
        migrations.RunPython(keep_deal_owner, drop_triggers),
        migrations.AddIndex(
            model_name='quote',
            index=models.Index(condition=models.Q(('sent_at__isnull', False)), fields=['sent_at', 'deal_owner', 'opportunity', 'current_total'], name='quote_sent_owner_idx'),
        ),
        migrations.AddIndex(
            model_name='quote',
            index=models.Index(condition=models.Q(('decided_at__isnull', False)), fields=['decided_at', 'status', 'deal_owner', 'opportunity', 'current_total'], name='quote_decided_owner_idx'),
        ),
    ]
