"""The default pipeline, lost and win reasons, for an installation (or a flushed test database) that has none.

The data migration 0003 writes the same on first migrate; it keeps its own frozen copy, as migrations must.
"""

from django.db import transaction

from .models import LostReason, Pipeline, Stage, WinReason

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
WIN_REASONS = ["产品功能满足需求", "价格有竞争力", "服务与响应快", "客户关系好", "品牌与成功案例", "其他"]


def install_default_pipeline() -> Pipeline:
    """Create the default pipeline and lost reasons unless some exist; returns the default pipeline."""
    with transaction.atomic():
        if not Pipeline.objects.exists():
            pipeline = Pipeline.objects.create(name="标准销售流程", is_default=True)
            for position, (name, probability, required, stale, won, lost) in enumerate(STAGES):
                Stage.objects.create(pipeline=pipeline, name=name, position=position, probability=probability,
                                     required_fields=required, stale_after_days=stale, is_won=won, is_lost=lost)
        if not LostReason.objects.exists():
            for position, name in enumerate(LOST_REASONS):
                LostReason.objects.create(name=name, position=position)
        if not WinReason.objects.exists():
            for position, name in enumerate(WIN_REASONS):
                WinReason.objects.create(name=name, position=position)
    return Pipeline.default()
