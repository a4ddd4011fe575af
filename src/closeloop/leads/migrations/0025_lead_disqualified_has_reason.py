from django.db import migrations, models


def give_old_disqualifications_a_reason(apps, schema_editor):
    """Leads disqualified before reasons were asked have none: "other", with a note saying so, so the constraint
    holds and the review counts them apart from the reasons people chose."""
    Lead = apps.get_model("leads", "Lead")
    Lead.objects.filter(status="disqualified", disqualify_reason="").update(
        disqualify_reason="other", disqualify_note="disqualified before a reason was asked")


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0024_lead_match_key"),
    ]

    operations = [
        migrations.RunPython(give_old_disqualifications_a_reason, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="lead",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "disqualified"), _negated=True)
                | models.Q(("disqualify_reason", ""), _negated=True),
                name="lead_disqualified_has_reason",
            ),
        ),
    ]
