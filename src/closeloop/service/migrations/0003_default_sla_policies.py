"""Default SLA policies, one per priority for any tier (administrators change them on the settings page)."""

from django.db import migrations

# priority, first response, resolution (working minutes of a 9-hour day), 7×24
DEFAULTS = [("P1", 30, 240, True), ("P2", 120, 540, False), ("P3", 240, 1620, False), ("P4", 540, 2700, False)]


def add(apps, schema_editor):
    SlaPolicy = apps.get_model("service", "SlaPolicy")
    for priority, response, resolution, always in DEFAULTS:
        SlaPolicy.objects.get_or_create(priority=priority, tier="", defaults={
            "first_response_minutes": response, "resolution_minutes": resolution, "always": always})


class Migration(migrations.Migration):
    dependencies = [("service", "0002_tickets")]

    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
