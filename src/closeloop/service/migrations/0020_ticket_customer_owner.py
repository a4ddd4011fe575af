"""Each ticket keeps its customer's owner, kept by triggers (service/customer_owner.py), filled before the
review's covering indexes are rebuilt with it in place of the customer."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from closeloop.service import customer_owner


def keep_customer_owner(apps, schema_editor):
    customer_owner.ensure(schema_editor.connection)


def drop_triggers(apps, schema_editor):
    customer_owner.drop(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('contracts', '0006_review_cover_indexes'),
        ('deals', '0019_forecast_day_won_amount_indexes'),
        ('quotes', '0005_review_cover_indexes'),
        ('service', '0019_ticket_review_owner_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_review_opened_idx',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_review_resolved_idx',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_owner_opened_idx',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_owner_resolved_idx',
        ),
        migrations.AddField(
            model_name='ticket',
            name='customer_owner',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='account owner'),
        ),
        migrations.RunPython(keep_customer_owner, drop_triggers),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['created_at', 'owner', 'customer_owner', 'first_responded_at', 'first_response_due_at'], name='ticket_review_opened_idx'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('resolved_at__isnull', False)), fields=['resolved_at', 'owner', 'customer_owner', 'resolution_due_at'], name='ticket_review_resolved_idx'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['owner', 'created_at', 'customer_owner', 'first_responded_at', 'first_response_due_at'], name='ticket_owner_opened_idx'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('resolved_at__isnull', False)), fields=['owner', 'resolved_at', 'customer_owner', 'resolution_due_at'], name='ticket_owner_resolved_idx'),
        ),
    ]
