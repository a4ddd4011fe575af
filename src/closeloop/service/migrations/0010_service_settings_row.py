from django.db import migrations


def make_row(apps, schema_editor):
    # Every page's navigation asks who the service manager is: with the row there, a cold cache costs one read,
    # not a read and a write on a GET.
    apps.get_model("service", "ServiceSettings").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("service", "0009_renewal_windows_and_quotes")]

    operations = [migrations.RunPython(make_row, migrations.RunPython.noop)]
