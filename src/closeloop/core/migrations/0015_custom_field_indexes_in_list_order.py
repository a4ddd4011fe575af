"""Rebuild the filter indexes switched on before they held the lists' order.

An index switched on by an earlier version holds the value alone; `custom_field_index` now builds
`(value, created_at DESC, id DESC)` so a filtered list reads its page in order. This runs the same rebuild for
every indexed field. Core names no record type: the targets are the fields' rows, and every target's table
exists by then on an installation that has such rows (a new database has none, and nothing is done).
"""

from django.db import migrations


def rebuild(apps, schema_editor):
    from closeloop.core.customfields.indexes import indexes_rebuild

    CustomField = apps.get_model("core", "CustomField")
    indexes_rebuild(CustomField.objects.filter(indexed=True).order_by("pk").values_list("target", "key"))


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0014_deletion"),
    ]

    # Backwards there is nothing to undo: the ordered index serves the value-only filter too.
    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
