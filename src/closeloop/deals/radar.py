"""The deals' breaks in the loop, for the breakpoint radar (see core.hooks.RadarBreak): an open deal without a
next step, an overdue follow-up, and a deal stale in its stage (each stage's own "stale after" days)."""

from datetime import timedelta

from django.db.models import Case, DateTimeField, F, Q, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import RadarBreak

from .models import Opportunity, OpportunityStatus, Stage


def _open(scope):
    return scope(Opportunity.objects).filter(status=OpportunityStatus.OPEN)


def no_next_step(scope, now, threshold):
    return (_open(scope).filter(next_follow_up_at__isnull=True)
            .annotate(broken_since=Coalesce("last_activity_at", "stage_entered_at"))
            .filter(broken_since__lte=now - threshold))


def follow_up_overdue(scope, now, threshold):
    return _open(scope).annotate(broken_since=F("next_follow_up_at")).filter(broken_since__lt=now - threshold)


def stale_in_stage(scope, now, threshold):
    """Open deals longer in their stage than the stage allows: one OR term per stage with a limit (a handful),
    over the partial index on (stage, stage_entered_at) of open deals; broken since the limit ran out."""
    stages = list(Stage.objects.filter(stale_after_days__isnull=False, is_won=False, is_lost=False)
                  .values_list("pk", "stale_after_days"))
    if not stages:
        return _open(scope).none().annotate(broken_since=F("stage_entered_at"))
    late = Q()
    for stage, days in stages:
        late |= Q(stage=stage, stage_entered_at__lte=now - timedelta(days=days) - threshold)
    since = Case(*[When(stage=stage, then=F("stage_entered_at") + timedelta(days=days)) for stage, days in stages],
                 output_field=DateTimeField())
    return _open(scope).filter(late).annotate(broken_since=since)


def _log(deal) -> str:
    return deal.get_absolute_url() + "#log-follow-up"


def radar_breaks() -> list[RadarBreak]:
    return [
        RadarBreak("deals.no_next_step", _("Deal with no next step"), no_next_step, _("Log a follow-up"), _log,
                   default_threshold=timedelta(days=1), order=50),
        RadarBreak("deals.follow_up_overdue", _("Deal follow-up overdue"), follow_up_overdue, _("Log a follow-up"),
                   _log, default_threshold=timedelta(0), order=60),
        RadarBreak("deals.stale_in_stage", _("Deal stale in its stage"), stale_in_stage, _("Log a follow-up"), _log,
                   default_threshold=timedelta(0), order=70),
    ]
