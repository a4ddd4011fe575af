"""A manager's and an administrator's Today: their team's work at a glance.

One row per person of the team (a manager's department subtree; everyone for an administrator) with what
is overdue on their records: follow-ups, tasks of each kind the apps declare (a lead's first contact, an
instalment to collect), and hand-offs waiting for them to accept; each count links to that person's own
Today. Beside it, the team's hand-offs not accepted yet, in either direction.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from closeloop.core.models import User
from closeloop.core.visibility import team_owner_ids

from .models import Handoff, HandoffStatus, Task, TaskStatus
from .registry import record_types, task_kind

FOLLOW_UPS = "follow_ups"
HANDOFFS = "handoffs"
# The task kind of a plain follow-up is counted with the records' own overdue follow-ups.
FOLLOW_UP_TASK = "follow_up"


def sees_team(user) -> bool:
    return user.is_authenticated and (user.is_admin or user.is_manager)


def team_ids(user) -> list[int] | None:
    """Whose work `user` oversees, without themselves: ids, or None for an administrator (everyone)."""
    if user.is_admin:
        return None
    return [pk for pk in team_owner_ids(user) if pk != user.pk]


def may_view_person(viewer, person) -> bool:
    if not sees_team(viewer) or person.pk == viewer.pk:
        return False
    ids = team_ids(viewer)
    return ids is None or person.pk in ids


@dataclass
class TeamRow:
    person: User
    counts: dict = field(default_factory=dict)
    cells: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class TeamOverview:
    """The one item of the team section (a table, not a list of records)."""

    kind = "team"
    record = None
    dedup_key = None
    columns: list  # [(key, label)]
    rows: list
    totals: dict
    company_wide: bool

    def __post_init__(self):
        # Each row's counts in the columns' order, for the template.
        for row in self.rows:
            row.cells = [(key, row.counts.get(key, 0)) for key, _label in self.columns]
        self.total_cells = [(key, self.totals.get(key, 0)) for key, _label in self.columns]


def _owner_filter(ids, column="owner"):
    return Q() if ids is None else Q(**{f"{column}__in": ids})


def team_counts(ids, now) -> dict[int, dict[str, int]]:
    """{person id: {column key: count}} of what is overdue, one grouped query per record type and table."""
    counts: dict[int, dict[str, int]] = {}

    def add(person_id, key, n):
        if person_id is not None and n:
            counts.setdefault(person_id, {})
            counts[person_id][key] = counts[person_id].get(key, 0) + n

    open_tasks = Task.objects.filter(status=TaskStatus.OPEN)
    for model, spec in record_types().items():
        if spec.followed_up is None:
            continue
        # A record with an open task (a new lead's first contact) is counted once, under its task.
        with_task = open_tasks.filter(record_type=ContentType.objects.get_for_model(model)).values("record_id")
        rows = (spec.followed_up().filter(_owner_filter(ids), next_follow_up_at__lt=now)
                .exclude(pk__in=with_task).order_by().values("owner").annotate(n=Count("pk")))
        for row in rows:
            add(row["owner"], FOLLOW_UPS, row["n"])
    tasks = (open_tasks.filter(_owner_filter(ids), due_at__lt=now).order_by()
             .values("owner", "kind").annotate(n=Count("pk")))
    for row in tasks:
        add(row["owner"], FOLLOW_UPS if row["kind"] == FOLLOW_UP_TASK else row["kind"], row["n"])
    handoffs = (Handoff.objects.filter(_owner_filter(ids, "assignee"), status=HandoffStatus.PENDING).order_by()
                .values("assignee").annotate(n=Count("pk")))
    for row in handoffs:
        add(row["assignee"], HANDOFFS, row["n"])
    return counts


def _columns(keys) -> list:
    columns = [(FOLLOW_UPS, _("Overdue follow-ups"))]
    for key in sorted(keys - {FOLLOW_UPS, HANDOFFS}):
        spec = task_kind(key)
        columns.append((key, _("Overdue: %(task)s") % {"task": spec.label if spec else key}))
    columns.append((HANDOFFS, _("Hand-offs to accept")))
    return columns


def team_overview(user, now) -> list[TeamOverview]:
    ids = team_ids(user)
    counts = team_counts(ids, now)
    if ids is None:
        people = User.objects.filter(pk__in=list(counts)).exclude(pk=user.pk)
    else:
        people = User.objects.filter(pk__in=ids, is_active=True)
    rows = [TeamRow(person, counts.get(person.pk, {})) for person in people.select_related("department")]
    if ids is None:
        rows = [row for row in rows if row.total]
    rows.sort(key=lambda row: (-row.total, str(row.person)))
    totals: dict[str, int] = {}
    for row in rows:
        for key, n in row.counts.items():
            totals[key] = totals.get(key, 0) + n
    keys = {key for row in rows for key in row.counts}
    return [TeamOverview(_columns(keys), rows, totals, company_wide=ids is None)]


def team_handoffs(user, now) -> list:
    """Hand-offs from or to someone of the team still waiting to be accepted (the viewer's own are listed
    under "Hand-offs to confirm")."""
    from .today import TODAY_LIMIT, TodayItem

    ids = team_ids(user)
    pending = Handoff.objects.filter(status=HandoffStatus.PENDING).exclude(assignee=user)
    if ids is not None:
        pending = pending.filter(Q(assignee__in=ids) | Q(requested_by__in=ids))
    rows = pending.select_related("requested_by", "assignee").prefetch_related("record").order_by("due_at")
    items = []
    for handoff in rows[:TODAY_LIMIT]:
        if handoff.record is None:
            continue
        note = _("%(task)s: %(from)s → %(to)s") % {
            "task": handoff.title, "from": handoff.requested_by, "to": handoff.assignee}
        items.append(TodayItem("team_handoff", handoff.record, handoff.due_at, handoff.due_at < now, note=note))
    return items
