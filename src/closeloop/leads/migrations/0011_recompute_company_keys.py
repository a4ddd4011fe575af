from django.db import migrations


def recompute_company_keys(apps, schema_editor):
    """Company keys now keep branches and numbers (一分公司, 二厂, 1号), read regions written with 市 in
    brackets and know more industry words: recompute them, writing only the leads whose keys changed."""
    from closeloop.leads.normalize import company_keys

    Lead = apps.get_model("leads", "Lead")
    fields = ["company_key", "brand_key", "brand_head", "brand_tail"]
    changed = []
    for pk, name, *stored in Lead.objects.values_list("pk", "company_name", *fields).iterator(chunk_size=5000):
        keys = company_keys(name)
        if [keys[field] for field in fields] != stored:
            changed.append(Lead(pk=pk, **keys))
        if len(changed) == 2000:
            Lead.objects.bulk_update(changed, fields)
            changed = []
    if changed:
        Lead.objects.bulk_update(changed, fields)


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0010_drop_lead_owner_created_index"),
    ]

    operations = [
        migrations.RunPython(recompute_company_keys, migrations.RunPython.noop, elidable=True),
    ]
