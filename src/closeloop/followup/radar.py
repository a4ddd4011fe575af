"""The follow-up family's break in the loop, for the breakpoint radar (see core.hooks.RadarBreak): a hand-off its
assignee has not accepted (nor declined) by its due time.

Counted under the assignee, who must answer (a manager counts their team's); seen by the requester, the assignee's
line and whoever sees the record (`HandoffQuerySet`). Read through the pending hand-offs' partial index."""

from datetime import timedelta

from django.db.models import F
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import RadarBreak

from .models import Handoff, HandoffStatus


def handoff_not_accepted(scope, now, threshold):
    """Pending hand-offs whose due time passed `threshold` ago: broken since the due time."""
    return (scope(Handoff.seen.all()).filter(status=HandoffStatus.PENDING)
            .annotate(broken_since=F("due_at")).filter(broken_since__lt=now - threshold)
            .prefetch_related("record"))


def radar_breaks() -> list[RadarBreak]:
    return [
        RadarBreak("followup.handoff_not_accepted", _("Hand-off not accepted in time"), handoff_not_accepted,
                   _("Answer or chase the hand-off"), lambda handoff: handoff.get_absolute_url(),
                   default_threshold=timedelta(0), owner="assignee", order=75,
                   help=_("A hand-off still waiting for its assignee's answer after its due time (plus the threshold). "
                          "It counts for the assignee, who must accept or decline it, and their manager's team; the "
                          "person who asked and whoever sees the record see it too.")),
    ]
