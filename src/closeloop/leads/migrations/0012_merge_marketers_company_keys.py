"""Joins two migrations that landed in parallel with the same number; neither depends on the other."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0011_leadsource_marketers"),
        ("leads", "0011_recompute_company_keys"),
    ]

    operations = []
