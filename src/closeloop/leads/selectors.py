"""Lead reads. Every one starts from `Lead.objects.visible_to(user)`."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from closeloop.core.customfields import indexes
from closeloop.core.customfields import search as custom_search
from closeloop.core.inputs import day_start
from closeloop.core.visibility import owners_named
from closeloop.followup.models import Task, TaskStatus
from closeloop.followup.tags import with_tag

from . import name_search, normalize
from .assignment import FIRST_CONTACT
from .models import Lead, LeadStatus

SORTS = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "company_name": ("company_name", "id"),
    "-company_name": ("-company_name", "-id"),
    "-updated_at": ("-updated_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "next_follow_up_at": ("next_follow_up_at", "id"),
    "-next_follow_up_at": ("-next_follow_up_at", "-id"),
}


# How far a lead got, for the review's drill-down: qualified (and those converted since), turned into a deal.
REACHED_STATUSES = {
    "qualified": (LeadStatus.QUALIFIED, LeadStatus.CONVERTED),
    "deal": (LeadStatus.CONVERTED,),
}


# Leads nobody works on any more: they have no follow-up to be late for.
CLOSED_STATUSES = (LeadStatus.CONVERTED, LeadStatus.MERGED, LeadStatus.DISQUALIFIED)
FIRST_CONTACT_OUTCOMES = ("met", "late", "missed")


def first_contacts(due_from: str = "", due_to: str = ""):
    """The leads' first-contact tasks (their SLA) due on these local days, leaving out the cancelled (the lead went
    back to the pool or was disqualified before anyone had to call)."""
    tasks = Task.objects.of_type(Lead).filter(kind=FIRST_CONTACT).exclude(status=TaskStatus.CANCELLED)
    if start := day_start(due_from):
        tasks = tasks.filter(due_at__gte=start)
    if end := day_start(due_to, days_after=1):
        tasks = tasks.filter(due_at__lt=end)
    return tasks


def latest_of_each_rep(tasks, until=None):
    """Of `tasks` (first-contact tasks of leads), each rep's latest on each lead: one a later task of the same owner
    on the same lead supersedes (not cancelled, due before `until` when given) is left out. A rep holds a lead's first
    contact twice when the lead went back to the pool and they claimed it again, or when leads were merged; the
    review judges each rep once per lead and period, on their latest task (`first_contact_by` below)."""
    later = Task.objects.filter(record_type=OuterRef("record_type"), record_id=OuterRef("record_id"),
                                owner=OuterRef("owner"), kind=FIRST_CONTACT).exclude(status=TaskStatus.CANCELLED).filter(
        Q(due_at__gt=OuterRef("due_at")) | Q(due_at=OuterRef("due_at"), pk__gt=OuterRef("pk")))
    if until is not None:
        later = later.filter(due_at__lt=until)
    return tasks.exclude(Exists(later))


def first_contact_outcome(outcome: str, now=None, prefix: str = "") -> Q:
    """A first-contact task made in time ("met"), made late ("late"), or still not made past its due time ("missed");
    `prefix` reaches the task through a relation (`tasks__` from a lead)."""
    if outcome == "met":
        return Q(**{f"{prefix}status": TaskStatus.DONE, f"{prefix}closed_at__lte": F(f"{prefix}due_at")})
    if outcome == "late":
        return Q(**{f"{prefix}status": TaskStatus.DONE, f"{prefix}closed_at__gt": F(f"{prefix}due_at")})
    return Q(**{f"{prefix}status": TaskStatus.OPEN, f"{prefix}due_at__lt": now or timezone.now()})


@dataclass
class LeadFilters:
    q: str = ""
    status: str = ""
    owner: str = ""  # a user id, "me", "team" or "none"
    source: str = ""
    reached: str = ""  # "qualified" (qualified or converted since) or "deal" (converted): the review's drill-down
    created_from: str = ""
    created_to: str = ""
    sort: str = "-created_at"
    import_job: str = ""  # the leads one import created
    not_status: str = ""  # leave out one status (an import's "assigned to" link leaves out nurture)
    # The review's drill-downs: still worked on with the next follow-up past due ("1"); the first contact, due on
    # these days, made in time ("met"), late ("late") or not yet made past its due time ("missed"); with
    # `first_contact_by` (a user id), that rep's own first contact (the task they held, their latest on the lead
    # due on these days), whoever owns the lead now.
    overdue: str = ""
    first_contact: str = ""
    first_contact_by: str = ""
    due_from: str = ""
    due_to: str = ""
    # Custom field filters: (field, operator, stored value, text) from core.customfields.indexes.filters_from_query.
    custom: tuple = ()
    tag: str = ""  # a tag's id


def lead_list(*, user, filters: LeadFilters):
    leads = Lead.objects.visible_to(user).select_related("owner", "source")
    if filters.q:
        # Also in the custom text fields an administrator made searchable (core/customfields/search.py).
        leads = leads.filter(custom_search.also(_search(filters.q), Lead._meta.label, filters.q, user))
    if filters.status:
        leads = leads.filter(status=filters.status)
    if filters.not_status:
        leads = leads.exclude(status=filters.not_status)
    if filters.owner == "none":
        leads = leads.filter(owner__isnull=True)
    elif (owners := owners_named(user, filters.owner)) is not None:
        leads = leads.filter(owner__in=owners)
    if filters.source.isdigit():
        leads = leads.filter(source_id=int(filters.source))
    if filters.reached in REACHED_STATUSES:
        leads = leads.filter(status__in=REACHED_STATUSES[filters.reached])
    if filters.import_job.isdigit():
        leads = leads.filter(import_job_id=int(filters.import_job))
    if filters.overdue == "1":
        leads = leads.filter(next_follow_up_at__lt=timezone.now()).exclude(status__in=CLOSED_STATUSES)
    if filters.first_contact in FIRST_CONTACT_OUTCOMES:
        tasks = first_contacts(filters.due_from, filters.due_to)
        if filters.first_contact_by.isdigit():
            tasks = latest_of_each_rep(tasks.filter(owner_id=int(filters.first_contact_by)),
                                       day_start(filters.due_to, days_after=1))
        leads = leads.filter(pk__in=tasks.filter(first_contact_outcome(filters.first_contact)).values("record_id"))
    if filters.tag:
        leads = with_tag(leads, filters.tag)
    # Day bounds as datetimes in the current time zone: `created_at__date` wraps the column in a
    # function, which no index serves (a full scan, ~1 s per query on a million leads).
    if start := day_start(filters.created_from):
        leads = leads.filter(created_at__gte=start)
    if end := day_start(filters.created_to, days_after=1):
        leads = leads.filter(created_at__lt=end)
    # Served by the field's expression index when an administrator switched it on (core/customfields/indexes.py).
    leads = indexes.apply_filters(leads, filters.custom)
    return leads.order_by(*SORTS.get(filters.sort, SORTS["-created_at"]))


def _search(text: str) -> Q:
    """Search by what a person types: a phone in any format, an email, a credit code, or part of a name.

    A phone, email or credit code is looked up by its normalized key alone: OR-ing it with a
    substring match on names would make every such search scan the whole table. The
    `~Q(key="")` terms repeat the partial indexes' condition, which SQLite needs to use them.
    """
    text = text.strip()
    if phone := normalize.phone_key(text):
        return (Q(mobile_key=phone) & ~Q(mobile_key="")) | (Q(landline_key=phone) & ~Q(landline_key=""))
    if email := normalize.email_key(text):
        return Q(email_key=email) & ~Q(email_key="")
    code = normalize.credit_code_key(text)
    if len(code) == 18 and normalize.credit_code_error(code) is None:
        return Q(credit_code=code) & ~Q(credit_code="")
    condition = _name_fragment(text)
    # "華為技術(深圳)有限公司" finds "深圳市华为技术有限公司": the same comparable company key.
    if (key := normalize.company_key(text)) and len(key) >= 2:
        condition |= Q(company_key=key) & ~Q(company_key="")
    return condition


# Above this many leads containing a fragment, matches are dense enough that walking the list's own
# order finds a page sooner than sorting every match.
NAME_CANDIDATES_LIMIT = 5_000


def _name_fragment(text: str) -> Q:
    """Company or contact name contains `text`; on SQLite narrowed by the trigram index when that pays.

    PostgreSQL serves the plain condition from its trigram indexes (see name_search.py).
    """
    condition = Q(company_name__icontains=text) | Q(contact_name__icontains=text)
    if connection.vendor != "sqlite" or len(text) < name_search.MIN_LENGTH:
        return condition
    phrase = name_search.sqlite_phrase(text)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({name_search.CANDIDATES_SQL} LIMIT %s)",  # noqa: S608
                       [phrase, NAME_CANDIDATES_LIMIT + 1])
        candidates = cursor.fetchone()[0]
    if candidates > NAME_CANDIDATES_LIMIT:
        return condition
    # The index matches case-insensitively beyond ASCII, and it may hold names changed since (those leads are
    # among the queued candidates): the icontains terms keep the results exactly theirs.
    return Q(pk__in=RawSQL(name_search.CANDIDATES_SQL, [phrase])) & condition


def get_lead_for_user(user, pk) -> Lead:
    """The lead if this user may see it; 404 for missing and not-visible alike."""
    lead = Lead.objects.visible_to(user).select_related("owner", "source", "campaign", "created_by").filter(pk=pk).first()
    if lead is None:
        raise Http404
    return lead


def lead_open_tasks(lead: Lead):
    return lead.tasks.filter(status=TaskStatus.OPEN).select_related("owner")


@dataclass
class DuplicateGroup:
    """Leads that look like one another: those this user may see, and how many others exist beyond them."""

    reason: str
    leads: list  # visible leads, oldest first
    hidden_owners: list  # owners of matching leads this user cannot see (names only, no details)


def duplicate_groups(*, user, page: int = 1, per_page: int = 20) -> dict:
    """Suspected duplicate groups for review: leads intake flagged, and visible leads sharing a mobile or email.

    Only groups with at least one visible lead appear; leads outside the user's visibility show as
    their owner's name, never their details.
    """
    from django.db.models import Count
    from django.utils.translation import gettext as _

    visible = Lead.objects.visible_to(user).exclude(status="merged")
    groups: dict[frozenset, DuplicateGroup] = {}
    # The flagged ids from their partial index first: asked for the newest 500 directly, SQLite walked the whole
    # table by id (~220 ms at 1M leads with none flagged).
    flagged_ids = Lead.objects.filter(duplicate_of__isnull=False).values("pk")
    flagged = list(visible.filter(pk__in=flagged_ids, duplicate_of__isnull=False).order_by("-id")
                   .values_list("pk", "duplicate_of_id")[:500])
    for pk, target in flagged:
        groups.setdefault(frozenset({pk, target}), DuplicateGroup(_("flagged on intake"), [], []))
    for field, label in (("mobile_key", _("same mobile")), ("email_key", _("same email"))):
        shared = (
            visible.exclude(**{field: ""}).values(field).annotate(n=Count("id")).filter(n__gt=1).order_by()[:200]
        )
        keys = [row[field] for row in shared]
        if not keys:
            continue
        members: dict[str, set] = {}
        # Unordered, and repeating the key index's condition (non-empty): SQLite uses a partial index only when the
        # query states its condition, and ordered by the model's default it walked the whole list index instead
        # (~450 ms per key at 1M leads, 1-5 ms now).
        in_group = Lead.objects.filter(**{f"{field}__in": keys}).exclude(**{field: ""}).exclude(status="merged")
        for pk, key in in_group.order_by().values_list("pk", field):
            members.setdefault(key, set()).add(pk)
        for pks in members.values():
            if len(pks) > 1 and not any(pks <= existing for existing in groups):
                groups.setdefault(frozenset(pks), DuplicateGroup(label, [], []))
    ordered = sorted(groups.items(), key=lambda item: -max(item[0]))
    start = (max(1, page) - 1) * per_page
    window = ordered[start: start + per_page + 1]
    all_ids = {pk for ids, _group in window for pk in ids}
    seen = {lead.pk: lead for lead in visible.filter(pk__in=all_ids).select_related("owner", "source")}
    hidden = {pk: owner for pk, owner in Lead.objects.filter(pk__in=all_ids - set(seen)).exclude(status="merged")
              .values_list("pk", "owner__username")}
    rows = []
    for ids, group in window[:per_page]:
        group.leads = sorted((seen[pk] for pk in ids if pk in seen), key=lambda lead: lead.pk)
        group.hidden_owners = [hidden[pk] or _("unassigned") for pk in sorted(ids) if pk in hidden]
        if group.leads and len(group.leads) + len(group.hidden_owners) > 1:
            rows.append(group)
    return {"rows": rows, "number": max(1, page), "has_previous": page > 1, "has_next": len(window) > per_page,
            "previous": page - 1, "next": page + 1}


def get_import_for_user(user, pk):
    """An import job for its uploader or an admin; 404 for everyone else, as for missing ones."""
    from .models import ImportJob

    job = ImportJob.objects.visible_to(user).select_related("default_source", "created_by").filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


@dataclass
class ImportDestination:
    """Where some of an import's new leads went: to an owner, to nurture with its owner, to the pool, or (for leads
    the viewer may not see) elsewhere, one count without owners or a link."""

    kind: str  # "assigned", "nurture", "pool" or "elsewhere"
    owner: object
    count: int
    url: str


def import_destinations(job, *, user) -> list[ImportDestination]:
    """Where the new leads of an import went, among the leads `user` may see, by owner, with a link to each set
    in the lead list (which shows the same leads: "assigned" leaves out the owner's nurture leads). The leads
    beyond the user's sight are one "elsewhere" count: who they went to is not the uploader's to learn."""
    from django.db.models import Count
    from django.urls import reverse

    from closeloop.core.models import User

    from .models import LeadStatus

    rows = (Lead.objects.visible_to(user).filter(import_job=job).order_by().values("owner", "status")
            .annotate(n=Count("id")))
    owners = User.objects.in_bulk([row["owner"] for row in rows if row["owner"]])
    base = reverse("leads:list") + f"?import={job.pk}"
    found: dict[tuple, ImportDestination] = {}
    for row in rows:
        owner = owners.get(row["owner"])
        if owner is None:
            key, url = ("pool", None), f"{base}&owner=none"
        elif row["status"] == LeadStatus.NURTURE:
            key, url = ("nurture", owner.pk), f"{base}&owner={owner.pk}&status={LeadStatus.NURTURE}"
        else:
            key, url = ("assigned", owner.pk), f"{base}&owner={owner.pk}&not_status={LeadStatus.NURTURE}"
        if key in found:
            found[key].count += row["n"]
        else:
            found[key] = ImportDestination(key[0], owner, row["n"], url)
    order = {"assigned": 0, "nurture": 1, "pool": 2}
    destinations = sorted(found.values(), key=lambda d: (order[d.kind], -d.count, str(d.owner or "")))
    if elsewhere := Lead.objects.filter(import_job=job).count() - sum(d.count for d in destinations):
        destinations.append(ImportDestination("elsewhere", None, elsewhere, ""))
    return destinations


def merged_leads(lead: Lead, viewer):
    """The leads merged into this one: their trails stay on them, and this lead's timeline shows them."""
    from closeloop.followup.timeline import AUDIT

    yield Lead.objects.filter(merged_into=lead).only("id", "company_name", "contact_name"), {AUDIT}


def new_leads_today(user, now):
    """Leads assigned to the user and not contacted yet, due when their first contact is due (the Today page)."""
    from closeloop.followup.today import TODAY_LIMIT, TodayItem

    from .models import LeadStatus

    rows = Lead.objects.filter(owner=user, status=LeadStatus.ASSIGNED, last_activity_at__isnull=True)
    items = []
    for lead in rows.order_by("-assigned_at")[:TODAY_LIMIT]:
        due = lead.next_follow_up_at or lead.assigned_at
        items.append(TodayItem("new_lead", lead, due, bool(due and due < now)))
    return items
