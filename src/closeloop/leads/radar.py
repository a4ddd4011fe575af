"""The leads' breaks in the loop, for the breakpoint radar (see core.hooks.RadarBreak): a lead nobody owns outside
the pool, a lead without a next step, and an overdue first contact or follow-up. Each is one query over the
leads the scope lets through (see core.hooks.RadarBreak)."""

from datetime import timedelta

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import RadarBreak

from .models import Lead, LeadStatus

# Leads sales is working on: nurture waits for marketing, the rest are closed.
WORKED = [LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.CONTACTING, LeadStatus.QUALIFIED]
NOT_WORKED = [status for status in LeadStatus if status not in WORKED]


def _worked(scope):
    return scope(Lead.objects).filter(status__in=WORKED)


def no_owner(scope, now, threshold):
    # The same leads as `_worked`, said the other way round: with `status IN` SQLite seeks the owner index
    # (owner NULL, each status) and sorts every unowned lead; with `NOT IN` it walks the kind's partial index
    # in creation order and stops at the page's end.
    return (scope(Lead.objects).exclude(status__in=NOT_WORKED).filter(owner__isnull=True, in_pool=False)
            .annotate(broken_since=F("created_at"))
            .filter(broken_since__lte=now - threshold))


def no_next_step(scope, now, threshold):
    return (_worked(scope).filter(owner__isnull=False, next_follow_up_at__isnull=True)
            .annotate(broken_since=Coalesce("last_activity_at", "assigned_at", "created_at"))
            .filter(broken_since__lte=now - threshold))


def first_contact_overdue(scope, now, threshold):
    return (_worked(scope).filter(owner__isnull=False, last_activity_at__isnull=True)
            .annotate(broken_since=F("next_follow_up_at")).filter(broken_since__lt=now - threshold))


def follow_up_overdue(scope, now, threshold):
    return (_worked(scope).filter(owner__isnull=False, last_activity_at__isnull=False)
            .annotate(broken_since=F("next_follow_up_at")).filter(broken_since__lt=now - threshold))


def _log(lead) -> str:
    return lead.get_absolute_url() + "#log-follow-up"


def radar_breaks() -> list[RadarBreak]:
    return [
        RadarBreak("leads.no_owner", _("Lead with no owner (outside the pool)"), no_owner, _("Assign"),
                   lambda lead: lead.get_absolute_url(), default_threshold=timedelta(hours=1), order=10),
        RadarBreak("leads.no_next_step", _("Lead with no next step"), no_next_step, _("Log a follow-up"), _log,
                   default_threshold=timedelta(days=1), order=20),
        RadarBreak("leads.first_contact_overdue", _("First contact overdue"), first_contact_overdue,
                   _("Log a follow-up"), _log, default_threshold=timedelta(0), order=30),
        RadarBreak("leads.follow_up_overdue", _("Lead follow-up overdue"), follow_up_overdue, _("Log a follow-up"),
                   _log, default_threshold=timedelta(0), order=40),
    ]
