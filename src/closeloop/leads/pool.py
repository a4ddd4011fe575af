"""The public pool (公海): stale leads return to it, reps claim from it under caps.

The ledger (PoolEvent) and the caps here serve both pools, leads and customers (deals/pool.py): a claim
is checked against the per-rep cap, the daily claims and the reclaim cool-down of the pool settings.
The sweep is idempotent: returning a lead is a conditional update on its current owner, and a
warning is a row unique per (record, owner, deadline), so running twice or late sends nothing twice.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from closeloop.core.audit import audit_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from closeloop.core.models import Channel, User
from closeloop.core.notify import notify
from closeloop.core.sync import departures
from closeloop.followup.models import Activity, ActivityKind
from closeloop.followup.rights import Act, allowed, may
from closeloop.followup.services import tasks_cancel

from .assignment import can_own, first_contact_task
from .loads import open_loads
from .models import LIST_BULK_MAX, Lead, LeadStatus
from .quality import PoolEvent, PoolEventKind, QualitySettings
from .scoring import quality_settings

# Statuses the pool takes leads back from: owned and not yet qualified, or qualified but idle.
RETURNABLE_STATUSES = [LeadStatus.ASSIGNED, LeadStatus.CONTACTING, LeadStatus.NEW, LeadStatus.QUALIFIED]
# What may go back to the pool at all: the sweep's returnable leads and the nurture ones it re-checks; also by hand.
POOLABLE_STATUSES = [*RETURNABLE_STATUSES, LeadStatus.NURTURE]
NOT_QUALIFIED_STATUSES = [LeadStatus.ASSIGNED, LeadStatus.CONTACTING, LeadStatus.NEW]
WARNING_AHEAD = timedelta(days=1)
RELEASE_REASON_MAX = 300


def mask_phone(value: str) -> str:
    """138****8000: enough to recognise a number, not enough to call it."""
    digits = value.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:]


def mask_email(value: str) -> str:
    if "@" not in value:
        return "*" * len(value)
    local, domain = value.split("@", 1)
    return (local[:1] + "***@" + domain) if local else "***@" + domain


def can_use_pool(user) -> bool:
    return can_own(user)


def pool_leads():
    """Leads in the pool, most recently returned first; the page masks their contact details."""
    return (Lead.objects.filter(in_pool=True, owner__isnull=True).select_related("source")
            .order_by("-pooled_at", "-id"))


@dataclass(frozen=True)
class Pool:
    """One public pool: leads (below) or customers (deals/pool.py). Both keep one ledger (PoolEvent) and obey
    one set of caps from the pool settings; `held(user)` counts what a rep holds against the per-rep cap,
    and the messages name the pool's records."""

    model: type
    held: Callable[[User], int]
    cap_message: Any  # %(n)d held, %(max)d allowed
    daily_message: Any  # %(max)d claims a day
    cooldown_message: Any  # %(date)s when the previous owner may claim again


def _open_leads_held(user) -> int:
    # The counters the lead table's triggers keep (leads.loads): exact inside the claim's transaction.
    return open_loads([user.pk]).get(user.pk, 0)


LEADS = Pool(
    Lead, _open_leads_held,
    cap_message=_lazy("You already hold %(n)d open leads, the most allowed (%(max)d). Close or hand over some first."),
    daily_message=_lazy("You have claimed %(max)d leads today, the daily limit. Try again tomorrow."),
    cooldown_message=_lazy("This lead returned to the pool from you; you may claim it again after %(date)s."),
)


def _start_of_today(now):
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def claim_limits(user, settings: QualitySettings | None = None, pool: Pool = LEADS) -> dict:
    """What the user holds and has claimed today in this pool, against the caps (each pool counts its own)."""
    settings = settings or quality_settings()
    now = timezone.now()
    return {
        "open": pool.held(user),
        "max_open": settings.max_open_leads_per_rep,
        "today": PoolEvent.objects.of_type(pool.model).filter(
            user=user, kind=PoolEventKind.CLAIM, created_at__gte=_start_of_today(now)).count(),
        "max_today": settings.max_claims_per_day,
    }


def reclaim_blocked_until(user, record_ids, settings: QualitySettings | None = None, now=None,
                          model: type = Lead) -> dict:
    """`{record id: when the cool-down ends}` for the records that returned to the pool from `user` too recently.

    One query for a whole page of the pool, so the page can say why a row cannot be claimed yet; the claim
    itself asks the same question for its one record.
    """
    settings = settings or quality_settings()
    now = now or timezone.now()
    cooldown = timedelta(days=settings.reclaim_cooldown_days)
    last_returns = (PoolEvent.objects.for_records(model, list(record_ids))
                    .filter(user=user, kind=PoolEventKind.RETURN, created_at__gte=now - cooldown)
                    .values("record_id").annotate(last=Max("created_at")))
    return {row["record_id"]: timezone.localtime(row["last"] + cooldown) for row in last_returns}


def claim_check(*, actor: User, record, pool: Pool, settings: QualitySettings, now) -> None:
    """Refuse a claim over the per-rep cap, over the daily cap, or inside the reclaim cool-down.

    Run inside the claim's transaction after locking the actor's row (`lock_claimer`), so two quick clicks
    cannot both pass the caps.
    """
    limits = claim_limits(actor, settings, pool)
    if limits["open"] >= limits["max_open"]:
        raise ValidationFailed(str(pool.cap_message) % {"n": limits["open"], "max": limits["max_open"]},
                               code="claim_cap")
    if limits["today"] >= limits["max_today"]:
        raise ValidationFailed(str(pool.daily_message) % {"max": limits["max_today"]}, code="daily_claim_cap")
    if until := reclaim_blocked_until(actor, [record.pk], settings, now, model=pool.model).get(record.pk):
        raise ValidationFailed(str(pool.cooldown_message) % {"date": until.strftime("%Y-%m-%d %H:%M")},
                               code="reclaim_cooldown")


def lock_claimer(actor: User) -> None:
    """One claim at a time per person (their user row is the lock), in whichever pool."""
    User.objects.select_for_update().filter(pk=actor.pk).first()


def ledger_write(*, record, user_id: int, kind: str, now, reason: str = "", deadline=None) -> PoolEvent:
    event = PoolEvent(user_id=user_id, kind=kind, reason=reason, deadline=deadline, created_at=now)
    event.set_record(record)
    event.save()
    return event


def warn_once(*, record, owner_id: int, deadline, reason: str, now) -> bool:
    """Record the warning; False when this deadline was already warned (the unique row exists)."""
    warnings = PoolEvent.objects.for_record(record).filter(user_id=owner_id, kind=PoolEventKind.WARNING,
                                                           deadline=deadline)
    if warnings.exists():
        return False
    try:
        with transaction.atomic():
            ledger_write(record=record, user_id=owner_id, kind=PoolEventKind.WARNING, reason=reason,
                         deadline=deadline, now=now)
    except IntegrityError:  # a concurrent sweep warned first
        return False
    return True


def lead_claim(*, lead: Lead, actor: User, channel: str = Channel.WEB) -> Lead:
    """Take a lead from the pool. Exactly one of two simultaneous claims wins."""
    if not can_own(actor):
        raise Forbidden(_("Only sales staff can claim leads from the pool."))
    settings = quality_settings()
    now = timezone.now()
    with transaction.atomic():
        lock_claimer(actor)
        claim_check(actor=actor, record=lead, pool=LEADS, settings=settings, now=now)
        # The race between two claimers is decided here: only one UPDATE finds the lead still ownerless.
        won = Lead.objects.filter(pk=lead.pk, in_pool=True, owner__isnull=True).update(
            owner=actor, in_pool=False, pooled_at=None, status=LeadStatus.ASSIGNED, assigned_at=now, updated_at=now,
        )
        if not won:
            raise Conflict(_("Someone else claimed this lead a moment ago; it is no longer in the pool."),
                           code="already_claimed")
        lead = Lead.objects.get(pk=lead.pk)
        ledger_write(record=lead, user_id=actor.pk, kind=PoolEventKind.CLAIM, now=now)
        audit_record(actor=actor, channel=channel, action="lead.claim", target=lead,
                     changes={"owner": [None, str(actor)], "in_pool": [True, False]})
        first_contact_task(lead=lead, owner=actor)
    return lead


@dataclass
class SweepResult:
    returned: int = 0
    warned: int = 0


def _deadlines(settings: QualitySettings, now):
    """Owned open leads whose return deadline is within the warning window, with that deadline.

    The reference for "no follow-up" is the owner's last activity on the lead (touches are the
    customer's, not follow-ups), or the assignment time when there is none.
    """
    last_follow_up = Subquery(
        Activity.objects.for_record_id(Lead, OuterRef("pk")).filter(actor=OuterRef("owner"))
        .exclude(kind=ActivityKind.TOUCH).order_by().values("record_id").annotate(at=Max("created_at")).values("at"),
        output_field=DateTimeField(),
    )
    follow_up_days = timedelta(days=settings.return_after_days_without_follow_up)
    qualify_days = timedelta(days=settings.return_after_days_unqualified)
    horizon = now + WARNING_AHEAD
    candidates = (
        Lead.objects.filter(owner__isnull=False, status__in=RETURNABLE_STATUSES, assigned_at__isnull=False)
        .annotate(followed_up_at=Coalesce(last_follow_up, "assigned_at"))
        .order_by("pk")
    )
    stale = candidates.filter(
        Q(followed_up_at__lte=horizon - follow_up_days)
        | Q(status__in=NOT_QUALIFIED_STATUSES, assigned_at__lte=horizon - qualify_days)
    )
    for lead in stale.only("id", "owner_id", "status", "assigned_at", "company_name", "contact_name").iterator():
        options = [(lead.followed_up_at + follow_up_days, "no_follow_up")]
        if lead.status in NOT_QUALIFIED_STATUSES:
            options.append((lead.assigned_at + qualify_days, "not_qualified"))
        deadline, reason = min(options)
        if deadline <= horizon:
            yield lead, deadline, reason
    # Nurture leads: the same number of days, counted from the re-check date nobody kept.
    overdue_nurture = (Lead.objects.filter(owner__isnull=False, status=LeadStatus.NURTURE,
                                           next_follow_up_at__lte=horizon - follow_up_days).order_by("pk"))
    for lead in overdue_nurture.only("id", "owner_id", "status", "next_follow_up_at", "company_name",
                                     "contact_name").iterator():
        yield lead, lead.next_follow_up_at + follow_up_days, "not_rechecked"


def pool_sweep_run(*, now=None) -> SweepResult:
    """Return overdue leads to the pool and warn owners a day ahead. Safe to run twice or late."""
    now = now or timezone.now()
    settings = quality_settings()
    result = SweepResult()
    if not settings.pool_enabled:
        return result
    warnings: dict[int, list] = defaultdict(list)
    returns: dict[int, list] = defaultdict(list)
    for lead, deadline, reason in list(_deadlines(settings, now)):
        if deadline <= now:
            if _return_one(lead, reason=reason, now=now):
                returns[lead.owner_id].append(lead)
        elif warn_once(record=lead, owner_id=lead.owner_id, deadline=deadline, reason=reason, now=now):
            warnings[lead.owner_id].append((lead, deadline))
    owners = User.objects.in_bulk(set(warnings) | set(returns))
    for owner_id, items in warnings.items():
        result.warned += len(items)
        soonest = timezone.localtime(min(d for _lead, d in items)).strftime("%Y-%m-%d %H:%M")
        notify(recipient=owners[owner_id], kind="pool.warning", url=reverse("leads:list") + "?owner=me",
               message=ngettext(
                   "%(n)d lead returns to the pool from %(when)s unless you follow up: %(leads)s",
                   "%(n)d leads return to the pool from %(when)s unless you follow up: %(leads)s",
                   len(items)) % {"n": len(items), "when": soonest, "leads": "、".join(str(lead) for lead, _d in items[:5])})
    for owner_id, items in returns.items():
        result.returned += len(items)
        notify(recipient=owners[owner_id], kind="pool.returned", url=reverse("leads:pool"),
               message=ngettext("%(n)d lead returned to the pool: %(leads)s",
                                "%(n)d leads returned to the pool: %(leads)s", len(items))
               % {"n": len(items), "leads": "、".join(str(lead) for lead in items[:5])})
    return result


def _return_one(lead, *, reason, now) -> bool:
    note = {"no_follow_up": _("No follow-up in time."), "not_qualified": _("Not qualified in time."),
            "not_rechecked": _("Nurture lead not re-checked in time.")}[reason]
    with transaction.atomic():
        return _to_pool(lead, ledger_reason=reason, now=now, actor=None, channel=Channel.SYSTEM,
                        action="lead.return_to_pool", note=note)


def _to_pool(lead, *, ledger_reason: str, now, actor, channel: str, action: str, note: str) -> bool:
    """Move `lead` to the pool if it is still its owner's (as read into `lead`) and open; inside the caller's
    transaction: back to `new` with no next step, its owner's line told it left, the ledger row that starts the
    owner's reclaim cool-down, its open tasks cancelled, the audit entry. False if a change in between won."""
    with departures(lead):  # its owner's line no longer sees it
        # Conditional on the owner we read: a reassignment or a claim in between wins. The lead table's triggers
        # move the owner's open-lead counter (leads.loads).
        moved = Lead.objects.filter(pk=lead.pk, owner_id=lead.owner_id, status__in=POOLABLE_STATUSES).update(
            owner=None, in_pool=True, pooled_at=now, status=LeadStatus.NEW, next_follow_up_at=None, updated_at=now)
    if not moved:
        return False
    previous = lead.owner
    ledger_write(record=lead, user_id=previous.pk, kind=PoolEventKind.RETURN, reason=ledger_reason, now=now)
    tasks_cancel(record=lead, now=now)
    audit_record(actor=actor, channel=channel, action=action, target=lead,
                 changes={"owner": [str(previous), None], "in_pool": [False, True], "status": [lead.status, "new"]},
                 note=note)
    return True


def _release_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", _("Say why the lead goes back to the pool."))
    if len(reason) > RELEASE_REASON_MAX:
        raise invalid("reason", _("Keep the reason under %(max)d characters.") % {"max": RELEASE_REASON_MAX})
    return reason


def lead_release(*, lead: Lead, reason: str, actor: User, channel: str = Channel.WEB) -> Lead:
    """Return a lead to the public pool by hand (the owner gives up, or their manager recycles it), as the customers'
    release does. It leaves as the sweep returns one: back to `new`, open tasks cancelled, its owner's line told it
    left, and a ledger row that starts the previous owner's reclaim cool-down (releasing a lead and claiming it back
    does not restart its clock)."""
    reason = _release_reason(reason)
    now = timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
        if lead.owner_id is None:
            return lead
        if not may(actor, lead, Act.MANAGE):
            raise Forbidden(_("Only the owner or their manager can return a lead to the pool."))
        if lead.status not in POOLABLE_STATUSES:
            raise Conflict(_("Only an open lead goes back to the pool; this one is %(status)s.")
                           % {"status": lead.get_status_display()}, code="not_open")
        _to_pool(lead, ledger_reason="released", now=now, actor=actor, channel=channel, action="lead.release",
                 note=reason)
    return Lead.objects.get(pk=lead.pk)


@dataclass
class BulkRelease:
    """What a bulk return did, lead by lead: nothing the person ticked goes unmentioned."""

    released: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # not theirs to release: not the owner, their manager or an admin
    not_open: list = field(default_factory=list)  # in the pool already, or converted, disqualified or merged


def leads_release(*, leads: Iterable[Lead], reason: str, actor: User, channel: str = Channel.WEB) -> BulkRelease:
    """Return many leads to the public pool at once (the lead list's bulk action), each as `lead_release` does (the
    one `_to_pool` step), all in one transaction with one audit entry per lead. At most LIST_BULK_MAX leads; the
    ones the actor may not release and the ones that are not open are told back in the outcome, not skipped."""
    reason = _release_reason(reason)
    ids = sorted({lead.pk for lead in leads})
    if not ids:
        raise invalid("leads", _("Tick the leads to return to the pool."))
    if len(ids) > LIST_BULK_MAX:
        raise invalid("leads", _("Return at most %(max)d leads at a time; %(n)d are ticked.")
                      % {"max": LIST_BULK_MAX, "n": len(ids)})
    now = timezone.now()
    outcome = BulkRelease()
    with transaction.atomic():
        # Locked in id order, so two bulk actions over the same leads cannot deadlock.
        locked = list(Lead.objects.select_for_update(of=("self",)).select_related("owner").filter(pk__in=ids)
                      .order_by("pk"))
        # Who may release: one query for the participants of them all (a collaborator is not the owner's side).
        permitted = {lead.pk for lead in allowed(actor, locked, Act.MANAGE)}
        for lead in locked:
            if lead.owner_id is None or lead.status not in POOLABLE_STATUSES:
                outcome.not_open.append(lead)
            elif lead.pk not in permitted:
                outcome.refused.append(lead)
            elif _to_pool(lead, ledger_reason="released", now=now, actor=actor, channel=channel,
                          action="lead.release", note=reason):
                outcome.released.append(lead)
            else:
                outcome.not_open.append(lead)
    return outcome
