from decimal import Decimal

from django.db import migrations

# A frozen copy of catalog.DEFAULT_TAX_RATES: China's VAT rates and the zero rate.
RATES = [("13%", Decimal(13)), ("9%", Decimal(9)), ("6%", Decimal(6)), ("0%（免税/零税率）", Decimal(0))]


def install(apps, schema_editor):
    TaxRate = apps.get_model("quotes", "TaxRate")
    if not TaxRate.objects.exists():
        TaxRate.objects.bulk_create([TaxRate(name=name, rate=rate, position=i) for i, (name, rate) in enumerate(RATES)])


class Migration(migrations.Migration):
    dependencies = [("quotes", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
