"""The reminder and escalation engine: the apps say what is due, the ledger makes each notice happen once.

Sources: open tasks past their due time (every task kind, e.g. a lead's first contact), records whose next
follow-up is due (every record type's `followed_up()`), and what the apps add (`LoopApp.reminder_sources`:
a deal stale in its stage, a deal with no activity).

One sweep finds everything due right now and records each reminder under a unique key
(record, kind, due time, level) before notifying. A second run, a late run, or two workers running at
once find the key taken and send nothing; a new due time (the follow-up was moved) is a new key.
Items still overdue after the grace period escalate once to the owner's manager (level 1).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.notify import notify

from .models import Reminder, Task, TaskStatus
from .registry import record_types, reminder_sources, task_kind, task_kinds


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


ESCALATION_GRACE_HOURS = _setting("CLOSELOOP_ESCALATION_GRACE_HOURS", 24)
# Items overdue for longer than this were reminded about long ago; the sweep stops scanning them.
LOOKBACK_DAYS = 60

FOLLOW_UP = "follow_up"


@dataclass
class Due:
    record: object
    kind: str
    due_at: datetime
    owner: object
    message: str


def _tasks(now):
    """Open tasks past their due time, of every kind the family reminds; the kind's own words say what is due."""
    own_sweep = [spec.kind for spec in task_kinds().values() if not spec.reminded]
    tasks = (Task.objects.filter(status=TaskStatus.OPEN, due_at__lte=now, due_at__gte=now - timedelta(days=LOOKBACK_DAYS))
             .exclude(kind__in=own_sweep).select_related("owner__manager").prefetch_related("record"))
    for task in tasks.iterator(chunk_size=500):
        if task.record is None:
            continue
        spec = task_kind(task.kind)
        template = spec.reminder if spec and spec.reminder else _("%(task)s is due: %(record)s.")
        yield Due(task.record, task.kind, task.due_at, task.owner,
                  str(template) % {"record": task.record, "task": task.kind_label})


def _follow_ups(now):
    """Records whose next follow-up is due. A record with an open task is reminded by that task instead
    (a new lead's first contact and its first follow-up are the same moment): one notice, not two."""
    since = now - timedelta(days=LOOKBACK_DAYS)
    for model, spec in record_types().items():
        if spec.followed_up is None:
            continue
        with_open_task = Task.objects.filter(record_type=ContentType.objects.get_for_model(model),
                                             status=TaskStatus.OPEN).values("record_id")
        rows = (spec.followed_up().filter(owner__isnull=False, next_follow_up_at__lte=now, next_follow_up_at__gte=since)
                .exclude(pk__in=with_open_task).select_related("owner__manager"))
        for record in rows.iterator(chunk_size=500):
            yield Due(record, FOLLOW_UP, record.next_follow_up_at, record.owner,
                      _("Follow-up due: %(record)s.") % {"record": record})


def _send_once(due: Due, *, level: int, recipient, message: str) -> bool:
    """Record the reminder, then notify; the unique key makes a repeat a no-op."""
    url = due.record.get_absolute_url()
    reminder = Reminder(kind=due.kind, due_at=due.due_at, level=level, recipient=recipient, message=message[:300],
                        url=url)
    reminder.set_record(due.record)
    try:
        with transaction.atomic():
            reminder.save()
            key = f"{due.record._meta.model_name}:{due.record.pk}:{due.kind}:{due.due_at.isoformat()}:{level}"
            notify(recipient=recipient, kind="reminder.escalation" if level else f"reminder.{due.kind}",
                   message=message, url=url, key=key)
    except IntegrityError:
        return False
    return True


def remind_once(*, record, kind: str, due_at: datetime, level: int, recipient, message: str) -> bool:
    """Send one reminder through the ledger, for an app whose own sweep decides who hears what and when
    (contracts: an instalment due soon, overdue, escalated to finance). False when it was sent before."""
    due = Due(record, kind, due_at, None, message)
    return _send_once(due, level=level, recipient=recipient, message=message)


def run_reminder_sweep(*, now: datetime | None = None) -> int:
    """Send every reminder and escalation that is due and not yet sent; returns how many were sent."""
    now = now or timezone.now()
    grace = timedelta(hours=ESCALATION_GRACE_HOURS)
    sent = 0
    sources = [_tasks, _follow_ups, *(source.due for source in reminder_sources())]
    for source in sources:
        for due in source(now):
            if due.owner is None:
                continue
            sent += _send_once(due, level=0, recipient=due.owner, message=due.message)
            manager = due.owner.manager
            if due.due_at + grace <= now and manager is not None and manager.is_active:
                message = _("Escalation — %(owner)s has not acted: %(message)s") % {
                    "owner": due.owner, "message": due.message}
                sent += _send_once(due, level=1, recipient=manager, message=message)
    return sent
