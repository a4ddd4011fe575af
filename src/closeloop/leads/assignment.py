"""Who owns a new lead: the person who typed it in, an assignment rule, or the public pool.

Rules are tried in the order an admin set; the first that matches and has someone available
(active, not on leave) assigns the lead. No match: the lead goes to the pool (公海).
"""

import heapq
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core import configcache
from closeloop.core.models import Channel, CustomField, Department, Role, User
from closeloop.core.notify import notify
from closeloop.followup.models import Task
from closeloop.followup.services import follow_up_time, task_open, tasks_open_bulk

from .models import LeadSource, LeadStatus
from .quality import AssignmentMember, AssignmentRule, AssignmentStrategy, QualitySettings, split_keywords
from .scoring import Ruleset
from .services import intake_fast

OWNER_ROLES = {"sales_rep", "sales_manager", "admin"}
# The task kind (declared in apps.py) whose due time is the first-contact SLA.
FIRST_CONTACT = "first_contact"
# Leads that still take a rep's time; "least open load" and the pool's cap (库容) count these.
OPEN_STATUSES = [LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.CONTACTING, LeadStatus.QUALIFIED]


def can_own(user) -> bool:
    return bool(user and user.pk and user.is_active and user.role in OWNER_ROLES)


def available(user) -> bool:
    return can_own(user) and not user.on_leave


def assign_new_lead(*, lead, channel: str, actor, data: dict, batch: "AssignmentBatch | None" = None) -> None:
    """Set owner and status on an unsaved lead. Called by `lead_submit` inside its transaction.

    A batch (an import chunk) passes its `AssignmentBatch`: the rules, cursors and loads read once and kept
    in memory for the chunk, with the same result as assigning the leads one by one.
    """
    wants_it = data.get("assign_to_me", channel == Channel.WEB)
    if wants_it and can_own(actor):
        # A rep entering a lead by hand keeps it, whatever its score: they have already met the customer.
        _give(lead, actor, batch)
        return
    if lead.status == LeadStatus.NURTURE:
        _nurture(lead, now=None if batch is None else batch.now)
        return
    for rule in active_rules() if batch is None else batch.rules:
        if not rule_matches(rule, lead):
            continue
        owner = pick_owner(rule, batch)
        if owner is not None:
            _give(lead, owner, batch)
            return
    lead.owner = None
    lead.status = LeadStatus.NEW
    lead.in_pool = True
    lead.pooled_at = timezone.now() if batch is None else batch.now


def _nurture(lead, *, now=None) -> None:
    """A lead below the nurture threshold: owned by whoever nurtures it, due for a re-check, out of the pool."""
    settings = Ruleset.current().settings
    owner = nurture_owner(lead.source_id)
    lead.owner = owner
    lead.assigned_at = (now or timezone.now()) if owner is not None else None
    lead.in_pool = False
    lead.pooled_at = None
    lead.next_follow_up_at = follow_up_time(settings.nurture_recheck_days, now=now)


def nurture_owner(source_id) -> User | None:
    """Who nurtures a lead of this source: a marketer who runs the source, else the nurture owner of the
    settings, else the first administrator (cached per process like the rules)."""
    def load():
        marketer = (User.objects.filter(source_channels=source_id, is_active=True).order_by("pk").first()
                    if source_id else None)
        if marketer is not None:
            return marketer
        configured = QualitySettings.objects.filter(nurture_owner__is_active=True).values_list(
            "nurture_owner", flat=True).first()
        if configured is not None:
            return User.objects.get(pk=configured)
        return User.objects.filter(is_active=True, role=Role.ADMIN).order_by("pk").first()

    return configcache.cached(f"leads.nurture_owner.{source_id}", load,
                              models=(User, LeadSource, QualitySettings))


def _give(lead, owner, batch=None) -> None:
    if batch is not None:
        batch.given[owner.pk] += 1  # an open lead more for least load, not yet in the table
    lead.owner = owner
    lead.status = LeadStatus.ASSIGNED
    lead.assigned_at = timezone.now() if batch is None else batch.now
    lead.in_pool = False
    lead.pooled_at = None
    if lead.pk is None:
        # Saved with its first-contact deadline, so `after_intake` need not update the row again.
        lead.next_follow_up_at = first_contact_due() if batch is None else batch.first_contact_due()


def active_rules() -> list[AssignmentRule]:
    """The active rules in order, with their sources and campaigns (cached per process; read-only)."""
    return configcache.cached(
        "assignment.rules",
        lambda: list(AssignmentRule.objects.filter(active=True).prefetch_related("sources", "campaigns")),
        models=(AssignmentRule, AssignmentRule.sources.through, AssignmentRule.campaigns.through, CustomField),
    )


def _contains_any(value: str, keywords: list[str]) -> bool:
    lowered = value.lower()
    return any(word in lowered for word in keywords)


def _conditions(rule: AssignmentRule) -> tuple:
    """The rule's conditions ready to test: keywords split and lower-cased, ids as sets. Kept on the rule
    object, which comes from the configuration cache and is dropped with it when a rule changes."""
    compiled = rule.__dict__.get("_compiled_conditions")
    if compiled is None:
        def words(text):
            return [word.lower() for word in split_keywords(text)] if text else []

        compiled = (words(rule.regions), words(rule.industries), words(rule.products),
                    rule.grades.upper() if rule.grades else "", {s.pk for s in rule.sources.all()},
                    {c.pk for c in rule.campaigns.all()}, rule.custom_test())
        rule._compiled_conditions = compiled
    return compiled


def rule_matches(rule: AssignmentRule, lead) -> bool:
    regions, industries, products, grades, sources, campaigns, custom = _conditions(rule)
    if custom is not None and not custom(lead.custom):
        return False
    if regions and not _contains_any(f"{lead.region} {lead.city}", regions):
        return False
    if industries and not _contains_any(lead.industry, industries):
        return False
    if products and not _contains_any(lead.product_interest, products):
        return False
    if grades and lead.grade not in grades:
        return False
    if sources and lead.source_id not in sources:
        return False
    return not (campaigns and lead.campaign_id not in campaigns)


def candidates(rule: AssignmentRule) -> list[User]:
    """The rule's people in their fixed order, available or not (round-robin needs the full circle).

    Cached per process like the rules: a saved user (leave, deactivation, a move) drops the entry.
    """
    def load():
        if rule.department_id is not None:
            path = Department.objects.values_list("path", flat=True).get(pk=rule.department_id)
            return list(User.objects.filter(department__path__startswith=path, role=Role.SALES_REP).order_by("pk"))
        return [m.user for m in rule.members.select_related("user")]

    return configcache.cached(f"assignment.candidates.{rule.pk}", load,
                              models=(AssignmentRule, AssignmentMember, User, Department))


def pick_owner(rule: AssignmentRule, batch: "AssignmentBatch | None" = None) -> User | None:
    """The next owner under the rule's strategy, or None when nobody is available.

    The rule row is locked first: two leads arriving together must not both read the same
    round-robin cursor or weighted counts (on SQLite the IMMEDIATE transaction serializes writers).
    A batch locks it once and keeps the cursor and counts in memory until `AssignmentBatch.save()`.
    """
    if batch is not None:
        found, last_assigned_id = batch.cursor(rule)
    else:
        # Only the cursor is read again (locked): the rest of the rule comes from the configuration cache.
        found, last_assigned_id = intake_fast.locked_cursor(rule.pk)
    if not found:
        return None  # deleted since the rules were read
    people = candidates(rule)
    eligible = [u for u in people if available(u)] if batch is None else batch.eligible(rule, people)
    if not eligible:
        return None
    if rule.strategy == AssignmentStrategy.LEAST_LOAD:
        owner = _least_loaded(eligible) if batch is None else batch.least_loaded(rule, eligible)
    elif rule.strategy == AssignmentStrategy.WEIGHTED and rule.department_id is None:
        owner = _weighted(rule, eligible, batch)
    else:
        owner = _next_in_circle(last_assigned_id, people, eligible)
    if batch is not None:
        batch.cursors[rule.pk] = (True, owner.pk)
        batch.moved.add(rule.pk)
    else:
        intake_fast.move_cursor(rule.pk, owner.pk)
    return owner


def _next_in_circle(last_assigned_id, people, eligible) -> User:
    eligible_ids = {u.pk for u in eligible}
    ids = [u.pk for u in people]
    start = ids.index(last_assigned_id) + 1 if last_assigned_id in ids else 0
    for offset in range(len(people)):
        person = people[(start + offset) % len(people)]
        if person.pk in eligible_ids:
            return person
    return eligible[0]


def open_load(users) -> dict[int, int]:
    """{person: open leads they own}, from the counters the lead table's triggers keep (`leads.loads`): read
    inside the assigning transaction they equal a count, without counting."""
    from .loads import open_loads

    return open_loads(u.pk for u in users)


def _least_loaded(eligible) -> User:
    return _fewest(eligible, open_load(eligible))


def _fewest(eligible, load: dict[int, int]) -> User:
    return min(eligible, key=lambda u: load.get(u.pk, 0))  # min() keeps the first of equals: fixed order


def choose_next(*, strategy: str, people: list[User], last_assigned_id: int | None,
                load: Callable[[list[User]], dict[int, int]], is_available: Callable[[User], bool] | None = None,
                ) -> User | None:
    """The engine's round-robin (after `last_assigned_id`) or least load (`load(users) -> {user id: open
    records}`) among `people`, in their fixed order, who are available: for other apps' queues (service
    tickets) that keep their own cursor, under their own lock, and count their own load."""
    eligible = [u for u in people if (is_available or available)(u)]
    if not eligible:
        return None
    if strategy == AssignmentStrategy.LEAST_LOAD:
        return _fewest(eligible, load(eligible))
    return _next_in_circle(last_assigned_id, people, eligible)


def _weighted(rule, eligible, batch=None) -> User:
    """Keep each person's share of this rule's leads proportional to their weight."""
    members = {m.user_id: m for m in rule.members.all()} if batch is None else batch.members(rule)
    chosen = min(
        eligible,
        key=lambda u: (members[u.pk].assigned_count / members[u.pk].weight, -members[u.pk].weight),
    )
    if batch is not None:
        members[chosen.pk].assigned_count += 1
        batch.counted[members[chosen.pk].pk] += 1
    else:
        AssignmentMember.objects.filter(pk=members[chosen.pk].pk).update(assigned_count=F("assigned_count") + 1)
    return chosen


class AssignmentBatch:
    """`assign_new_lead` for many new leads in one transaction (an import chunk), one by one in memory.

    Per lead, assignment reads and writes a rule's cursor, counts its people's open leads (least load)
    or reads and bumps their shares (weighted): ~1 ms and more as the table grows. Here each rule's row
    is locked and read once, each person's open leads counted once, each member's share read once; the
    leads given since are added in memory, so every choice is the one the leads would get one by one.
    `save()` writes the cursors and shares back; call it before anything else assigns in the same
    transaction (`lead_submit` for a routed row) and the batch starts afresh from the table.
    """

    def __init__(self, *, now=None):
        self.rules = active_rules()
        # The batch's moment (an import chunk's): its leads' assignment time and first-contact deadline.
        self.now = now or timezone.now()
        self._due = None
        self._reset()

    def _reset(self):
        self.cursors: dict[int, tuple[bool, int | None]] = {}  # rule → (still there, last assigned id)
        self.moved: set[int] = set()
        self.loads: dict[int, int] = {}  # person → open leads in the table when first counted
        self.given: Counter = Counter()  # person → open leads given since, not yet in the table
        self._members: dict[int, dict] = {}  # rule → {person: AssignmentMember with its share so far}
        self.counted: Counter = Counter()  # member → leads given since
        self._eligible: dict[int, list] = {}  # rule → its available people, in the rule's order
        self._queues: dict[int, list] = {}  # rule → a least-load heap of (load as last seen, position, person)

    def first_contact_due(self):
        if self._due is None:
            self._due = self.now + timedelta(hours=Ruleset.current().settings.first_contact_hours)
        return self._due

    def eligible(self, rule, people) -> list[User]:
        """The rule's available people, worked out once per batch (nobody goes on leave mid-chunk)."""
        if rule.pk not in self._eligible:
            self._eligible[rule.pk] = [u for u in people if available(u)]
        return self._eligible[rule.pk]

    def least_loaded(self, rule, eligible) -> User:
        """`_fewest(eligible, open_load)` — the fewest open leads, the first in the rule's order among equals —
        from a heap kept per rule instead of a scan per lead. Loads only grow in a batch (leads given by any
        rule), so an entry whose load went up since it was pushed is pushed again with its load; an entry
        whose recorded load is current is the least, as a scan would find it."""
        queue = self._queues.get(rule.pk)
        if queue is None:
            load = self.open_load(eligible)
            queue = [(load[u.pk], position, u) for position, u in enumerate(eligible)]
            heapq.heapify(queue)
            self._queues[rule.pk] = queue
        while True:
            recorded, position, person = queue[0]
            current = self.loads[person.pk] + self.given[person.pk]
            if current == recorded:
                return person
            heapq.heapreplace(queue, (current, position, person))

    def cursor(self, rule) -> tuple[bool, int | None]:
        if rule.pk not in self.cursors:
            found = list(AssignmentRule.objects.select_for_update().filter(pk=rule.pk)
                         .values_list("last_assigned_id", flat=True)[:1])
            self.cursors[rule.pk] = (bool(found), found[0] if found else None)
        return self.cursors[rule.pk]

    def open_load(self, users) -> dict[int, int]:
        missing = [u for u in users if u.pk not in self.loads]
        if missing:
            counted = open_load(missing)
            self.loads.update({u.pk: counted.get(u.pk, 0) for u in missing})
        return {u.pk: self.loads[u.pk] + self.given[u.pk] for u in users}

    def members(self, rule) -> dict:
        if rule.pk not in self._members:
            self._members[rule.pk] = {m.user_id: m for m in rule.members.all()}
        return self._members[rule.pk]

    def save(self) -> None:
        """Write the cursors and shares the batch moved, then forget what it read."""
        for rule_pk in sorted(self.moved):
            AssignmentRule.objects.filter(pk=rule_pk).update(last_assigned_id=self.cursors[rule_pk][1])
        for member_pk, count in sorted(self.counted.items()):
            AssignmentMember.objects.filter(pk=member_pk).update(assigned_count=F("assigned_count") + count)
        self._reset()


def first_contact_task(*, lead, owner, new: bool = False) -> Task:
    """The owner's first-contact task with its SLA; a new owner takes over the open one.

    `new`: the lead was saved a moment ago with `next_follow_up_at` from `first_contact_due()`, so there
    is no open task to take over and nothing to update: one INSERT on the intake path.
    """
    due_at = lead.next_follow_up_at if new else first_contact_due()
    task = task_open(record=lead, owner=owner, kind=FIRST_CONTACT, due_at=due_at, take_over=not new)
    if lead.next_follow_up_at is None or lead.next_follow_up_at > due_at:
        type(lead).objects.filter(pk=lead.pk).update(next_follow_up_at=due_at)
        lead.next_follow_up_at = due_at
    return task


def first_contact_due():
    return timezone.now() + timedelta(hours=Ruleset.current().settings.first_contact_hours)


def after_intake(*, lead, actor) -> None:
    """Once the new lead is saved: its owner gets a first-contact task and, unless they entered it, a notice."""
    if lead.owner_id is None or lead.status == LeadStatus.NURTURE:
        return  # a nurture lead is re-checked on its date, not contacted within the first-contact SLA
    task = first_contact_task(lead=lead, owner=lead.owner, new=lead.next_follow_up_at is not None)
    if lead.owner != actor:
        notify(
            recipient=lead.owner, kind="lead.assigned", url=lead.get_absolute_url(),
            message=_("New lead: %(lead)s. First contact due %(due)s.") % {
                "lead": lead, "due": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M")},
        )


def after_intake_batch(*, leads, actor, due_at=None, now=None) -> dict:
    """`after_intake` for new leads saved together (an import chunk): a first-contact task for each owned
    lead, written in one statement. Returns {owner: count}; the batch sends one notice per owner at the end
    rather than one per lead. `due_at`, `now`: the batch's first-contact deadline (the one its leads were
    given) and moment."""
    owned = [lead for lead in leads if lead.owner_id is not None and lead.status != LeadStatus.NURTURE]
    if not owned:
        return {}
    due_at = due_at or first_contact_due()
    tasks_open_bulk(records=owned, kind=FIRST_CONTACT, due_at=due_at, now=now)
    # The leads were just written from these objects: only those whose deadline is later (or unset) change.
    late = [lead.pk for lead in owned if lead.next_follow_up_at is None or lead.next_follow_up_at > due_at]
    if late:
        type(owned[0]).objects.filter(pk__in=late).filter(
            Q(next_follow_up_at__isnull=True) | Q(next_follow_up_at__gt=due_at)
        ).update(next_follow_up_at=due_at)
    counts: dict = {}
    for lead in owned:
        lead.next_follow_up_at = min(lead.next_follow_up_at or due_at, due_at)
        counts[lead.owner] = counts.get(lead.owner, 0) + 1
    return counts
