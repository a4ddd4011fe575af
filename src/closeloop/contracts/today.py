"""The owner's Today section of instalments to collect: open instalment tasks due within the reminder window
(and those overdue), each with its amount; the family's Tasks section then skips these contracts."""

from datetime import timedelta

from closeloop.followup.models import Task, TaskStatus
from closeloop.followup.today import TODAY_LIMIT, TodayItem, end_of_day

from .config import contract_settings
from .plans import INSTALMENT_TASK


def instalments_due(user, now) -> list[TodayItem]:
    horizon = end_of_day(now) + timedelta(days=contract_settings().due_soon_days)
    tasks = (Task.objects.filter(owner=user, status=TaskStatus.OPEN, kind=INSTALMENT_TASK, due_at__lte=horizon)
             .prefetch_related("record").order_by("due_at")[:TODAY_LIMIT])
    return [TodayItem("task", task.record, task.due_at, task.due_at < now, note=task.title)
            for task in tasks if task.record is not None]
