"""The default pipeline 初步接洽 → 需求确认 → 方案报价 → 商务谈判 → 赢单 / 输单 and the usual lost reasons."""

from django.db import migrations

STAGES = [
    # name, probability, required fields before entering, stale after days, won, lost
    ("初步接洽", 10, [], 14, False, False),
    ("需求确认", 30, ["need"], 14, False, False),
    ("方案报价", 50, ["budget", "amount"], 21, False, False),
    ("商务谈判", 75, ["authority", "expected_close_date"], 21, False, False),
    ("赢单", 100, ["amount"], None, True, False),
    ("输单", 0, [], None, False, True),
]
LOST_REASONS = ["价格过高", "选择了竞争对手", "需求取消或延期", "预算不足", "联系不上客户", "产品功能不满足", "其他"]


def create(apps, schema_editor):
    Pipeline = apps.get_model("deals", "Pipeline")
    Stage = apps.get_model("deals", "Stage")
    LostReason = apps.get_model("deals", "LostReason")
    if not Pipeline.objects.exists():
        pipeline = Pipeline.objects.create(name="标准销售流程", is_default=True)
        for position, (name, probability, required, stale, won, lost) in enumerate(STAGES):
            Stage.objects.create(
                pipeline=pipeline, name=name, position=position, probability=probability, required_fields=required,
                stale_after_days=stale, is_won=won, is_lost=lost,
            )
    if not LostReason.objects.exists():
        for position, name in enumerate(LOST_REASONS):
            LostReason.objects.create(name=name, position=position)


class Migration(migrations.Migration):
    dependencies = [("deals", "0002_customers_opportunities")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
