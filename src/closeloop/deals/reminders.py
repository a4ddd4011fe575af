"""Reminders and SLAs: first contact due (the leads app's first-contact task), next follow-up due, deal stale in stage, no activity for N days.

One sweep finds everything due right now and records each reminder under a unique key
(record, kind, due time, level) before notifying. A second run, a late run, or two workers running at
once find the key taken and send nothing; a new due time (the follow-up was moved) is a new key.
Items still overdue after the grace period escalate once to the owner's manager (level 1).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.notify import notify
from closeloop.leads.models import Lead, LeadStatus
from closeloop.leads.quality import LeadTask, TaskKind, TaskStatus

from .models import Customer, Opportunity, OpportunityStatus, Reminder, ReminderKind, Stage


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# Defaults an installation can override in settings.
NO_ACTIVITY_DAYS = _setting("CLOSELOOP_NO_ACTIVITY_DAYS", 14)
ESCALATION_GRACE_HOURS = _setting("CLOSELOOP_ESCALATION_GRACE_HOURS", 24)
# Items overdue for longer than this were reminded about long ago; the sweep stops scanning them.
LOOKBACK_DAYS = 60


@dataclass
class Due:
    record: object
    kind: str
    due_at: datetime
    owner: object
    message: str

    @property
    def record_key(self) -> str:
        return f"{type(self.record)._meta.model_name}:{self.record.pk}"


def _first_contact(now):
    """Open first-contact tasks (created by lead assignment with their SLA) past their due time."""
    tasks = LeadTask.objects.filter(
        kind=TaskKind.FIRST_CONTACT, status=TaskStatus.OPEN, due_at__lte=now,
        due_at__gte=now - timedelta(days=LOOKBACK_DAYS),
    ).select_related("lead", "owner__manager")
    for task in tasks.iterator(chunk_size=500):
        yield Due(task.lead, ReminderKind.FIRST_CONTACT, task.due_at, task.owner,
                  _("First contact is due for the lead %(record)s.") % {"record": task.lead})


def _follow_ups(now):
    since = now - timedelta(days=LOOKBACK_DAYS)
    querysets = [
        Lead.objects.filter(owner__isnull=False).exclude(
            status__in=[LeadStatus.CONVERTED, LeadStatus.MERGED, LeadStatus.DISQUALIFIED],
        ).exclude(
            # Its first contact is still open: the first-contact reminder covers it, not a second notice.
            pk__in=LeadTask.objects.filter(kind=TaskKind.FIRST_CONTACT, status=TaskStatus.OPEN).values("lead_id"),
        ),
        Customer.objects.filter(owner__isnull=False),
        Opportunity.objects.filter(status=OpportunityStatus.OPEN),
    ]
    for queryset in querysets:
        rows = queryset.filter(next_follow_up_at__lte=now, next_follow_up_at__gte=since).select_related("owner__manager")
        for record in rows.iterator(chunk_size=500):
            yield Due(record, ReminderKind.FOLLOW_UP, record.next_follow_up_at, record.owner,
                      _("Follow-up due: %(record)s.") % {"record": record})


def _stale(now):
    for stage in Stage.objects.filter(stale_after_days__isnull=False, is_won=False, is_lost=False):
        limit = timedelta(days=stage.stale_after_days)
        rows = Opportunity.objects.filter(
            stage=stage, status=OpportunityStatus.OPEN, stage_entered_at__lte=now - limit,
        ).select_related("owner__manager")
        for deal in rows.iterator(chunk_size=500):
            yield Due(deal, ReminderKind.STALE, deal.stage_entered_at + limit, deal.owner,
                      _("%(record)s has been in “%(stage)s” for more than %(days)d days.")
                      % {"record": deal, "stage": stage.name, "days": stage.stale_after_days})


def _no_activity(now):
    limit = timedelta(days=NO_ACTIVITY_DAYS)
    rows = (
        Opportunity.objects.filter(status=OpportunityStatus.OPEN)
        .annotate(quiet_since=Coalesce(F("last_activity_at"), F("created_at")))
        .filter(quiet_since__lte=now - limit).select_related("owner__manager")
    )
    for deal in rows.iterator(chunk_size=500):
        yield Due(deal, ReminderKind.NO_ACTIVITY, deal.quiet_since + limit, deal.owner,
                  _("No follow-up on %(record)s for %(days)d days.") % {"record": deal, "days": NO_ACTIVITY_DAYS})


def _send_once(due: Due, *, level: int, recipient, message: str) -> bool:
    """Record the reminder, then notify; the unique key makes a repeat a no-op."""
    try:
        with transaction.atomic():
            Reminder.objects.create(
                record_key=due.record_key, kind=due.kind, due_at=due.due_at, level=level, recipient=recipient,
                message=message[:300], url=due.record.get_absolute_url(),
            )
            notify(recipient=recipient, kind="reminder.escalation" if level else f"reminder.{due.kind}",
                   message=message, url=due.record.get_absolute_url(),
                   key=f"{due.record_key}:{due.kind}:{due.due_at.isoformat()}:{level}")
    except IntegrityError:
        return False
    return True


def run_reminder_sweep(*, now: datetime | None = None) -> int:
    """Send every reminder and escalation that is due and not yet sent; returns how many were sent."""
    now = now or timezone.now()
    grace = timedelta(hours=ESCALATION_GRACE_HOURS)
    sent = 0
    for source in (_first_contact, _follow_ups, _stale, _no_activity):
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
