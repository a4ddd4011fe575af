"""What the deals app adds to the reminder sweep (`closeloop.followup.reminders`): a deal stale in its
stage, and a deal with no activity for N days. Follow-ups due are the family's own source."""

from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from closeloop.followup.reminders import Due

from .models import Opportunity, OpportunityStatus, Stage

NO_ACTIVITY_DAYS = int(getattr(settings, "CLOSELOOP_NO_ACTIVITY_DAYS", 14))
STALE, NO_ACTIVITY = "stale", "no_activity"


def stale_deals(now):
    for stage in Stage.objects.filter(stale_after_days__isnull=False, is_won=False, is_lost=False):
        limit = timedelta(days=stage.stale_after_days)
        rows = Opportunity.objects.filter(
            stage=stage, status=OpportunityStatus.OPEN, stage_entered_at__lte=now - limit,
        ).select_related("owner__manager")
        for deal in rows.iterator(chunk_size=500):
            yield Due(deal, STALE, deal.stage_entered_at + limit, deal.owner,
                      _("%(record)s has been in “%(stage)s” for more than %(days)d days.")
                      % {"record": deal, "stage": stage.name, "days": stage.stale_after_days})


def quiet_deals(now):
    limit = timedelta(days=NO_ACTIVITY_DAYS)
    rows = (
        Opportunity.objects.filter(status=OpportunityStatus.OPEN)
        .annotate(quiet_since=Coalesce(F("last_activity_at"), F("created_at")))
        .filter(quiet_since__lte=now - limit).select_related("owner__manager")
    )
    for deal in rows.iterator(chunk_size=500):
        yield Due(deal, NO_ACTIVITY, deal.quiet_since + limit, deal.owner,
                  _("No follow-up on %(record)s for %(days)d days.") % {"record": deal, "days": NO_ACTIVITY_DAYS})
