"""The Today page: one list per source the apps register (`LoopApp.today_sources`), lowest app first.

The family's own sources: follow-ups due (every record type's `followed_up()`), open tasks due, hand-offs to
confirm, escalations. Leads adds its new leads. A record shows once, in the first section that lists it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.core.hooks import TodaySource, collect

from .models import Handoff, HandoffStatus, Reminder, Task, TaskStatus
from .registry import record_types
from .team import sees_team, team_handoffs, team_overview

# Each section lists at most this many items; the rest are the board's and the lists' to show.
TODAY_LIMIT = 50
ITEM_TEMPLATE = "followup/today/_item.html"


@dataclass
class TodayItem:
    kind: str  # "follow_up", "new_lead", "task", "handoff", "escalation"
    record: object
    due_at: datetime | None
    overdue: bool
    note: str = ""

    @property
    def record_type(self) -> str:
        return type(self.record)._meta.model_name

    @property
    def record_label(self) -> str:
        return str(type(self.record)._meta.verbose_name)

    @property
    def dedup_key(self):
        """A record shows once on the page; escalations and the team's items are about other things."""
        if self.kind == "escalation":
            return ("escalation", self.record.pk)
        if self.kind.startswith("team"):
            return None
        return (type(self.record), self.record.pk)

    @property
    def loggable(self) -> bool:
        """Whether the item's line offers to log a follow-up (records of the family; escalations link instead)."""
        return self.kind in ("follow_up", "new_lead", "task")


def end_of_day(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=23, minute=59, second=59)


def _by_urgency(items: list[TodayItem], now) -> list[TodayItem]:
    return sorted(items, key=lambda item: (not item.overdue, item.due_at or now))


def follow_ups(user, now) -> list[TodayItem]:
    """Records of every type the user owns whose next follow-up is due by the end of today."""
    items = []
    for spec in record_types().values():
        if spec.followed_up is None:
            continue
        rows = spec.followed_up().filter(owner=user, next_follow_up_at__lte=end_of_day(now))
        items += [TodayItem("follow_up", record, record.next_follow_up_at, record.next_follow_up_at < now)
                  for record in rows.order_by("next_follow_up_at")[:TODAY_LIMIT]]
    return _by_urgency(items, now)[:TODAY_LIMIT]


def tasks_due(user, now) -> list[TodayItem]:
    tasks = (Task.objects.filter(owner=user, status=TaskStatus.OPEN, due_at__lte=end_of_day(now))
             .prefetch_related("record").order_by("due_at")[:TODAY_LIMIT])
    return [TodayItem("task", task.record, task.due_at, task.due_at < now, note=task.title or task.kind_label)
            for task in tasks if task.record is not None]


def handoffs_to_confirm(user, now) -> list[TodayItem]:
    handoffs = (Handoff.objects.filter(assignee=user, status=HandoffStatus.PENDING)
                .prefetch_related("record").order_by("due_at")[:TODAY_LIMIT])
    return [TodayItem("handoff", handoff.record, handoff.due_at, handoff.due_at < now, note=handoff.title)
            for handoff in handoffs if handoff.record is not None]


def escalations(user, now) -> list[TodayItem]:
    reminders = (Reminder.objects.filter(recipient=user, level=1, sent_at__gte=now - timedelta(days=7))
                 .prefetch_related("record").order_by("-sent_at")[:TODAY_LIMIT])
    return [TodayItem("escalation", reminder, reminder.due_at, True, note=reminder.message) for reminder in reminders]


SOURCES = [
    # A manager's first screen: the team's work before their own.
    TodaySource("team", _("My team"), team_overview, "followup/today/_team.html", order=5, visible=sees_team),
    TodaySource("follow_ups", pgettext_lazy("today section", "Follow-ups"), follow_ups, ITEM_TEMPLATE, order=20),
    TodaySource("tasks", _("Tasks"), tasks_due, ITEM_TEMPLATE, order=30),
    TodaySource("handoffs", _("Hand-offs to confirm"), handoffs_to_confirm, ITEM_TEMPLATE, order=40),
    TodaySource("escalations", _("Escalations"), escalations, ITEM_TEMPLATE, order=50),
    TodaySource("team_handoffs", _("Team hand-offs not accepted"), team_handoffs, ITEM_TEMPLATE, order=60,
                visible=sees_team),
]


@dataclass
class TodaySection:
    source: TodaySource
    items: list


def _subject(item):
    """The record an item is about: an escalation's is its reminder's record."""
    record = item.record
    return record.record if item.kind == "escalation" else record


def seen_by(viewer, items: list) -> list:
    """The items whose record `viewer` may see, in their order. A record can leave a person's sight after its task,
    hand-off or escalation was made (moved to another team); a team's hand-off can be about another team's record;
    and a manager reading a rep's Today sees only what they may see themselves. A record without visibility of its
    own (an approval request, an instalment) stays: its row names who answers it. Other items (the team's table)
    are not about one record."""
    by_model: dict[type, set] = {}
    for item in items:
        if isinstance(item, TodayItem) and (record := _subject(item)) is not None:
            by_model.setdefault(type(record), set()).add(record.pk)
    visible = {model: set(model.objects.visible_to(viewer).filter(pk__in=pks).values_list("pk", flat=True))
               for model, pks in by_model.items() if hasattr(model.objects, "visible_to")}

    def kept(item) -> bool:
        if not isinstance(item, TodayItem):
            return True
        record = _subject(item)
        return record is not None and (type(record) not in visible or record.pk in visible[type(record)])

    return [item for item in items if kept(item)]


def today_sections(*, user, now=None, viewer=None) -> list[TodaySection]:
    """The non-empty sections of the user's Today page, in order; each record appears once. `viewer` (the user
    unless a manager reads a team member's) sees only the records they may see."""
    now = now or timezone.now()
    sources = sorted((s for s in collect("today_sources") if s.visible(user)), key=lambda s: s.order)
    seen: set = set()
    sections = []
    for source in sources:
        items = []
        for item in seen_by(viewer or user, list(source.items(user, now))):
            key = item.dedup_key
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            items.append(item)
        if items:
            sections.append(TodaySection(source, items))
    return sections
