"""The quotes' break in the loop, for the breakpoint radar (see core.hooks.RadarBreak): a quote waiting for
approval longer than approvers are given (CLOSELOOP_APPROVAL_DUE_HOURS, the reminders' own limit)."""

from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import RadarBreak

from .models import ApprovalRequest, ApprovalStatus, Quote, QuoteStatus
from .services import APPROVAL_KIND


def approval_waiting(scope, now, threshold):
    submitted = (ApprovalRequest.objects.filter(kind=APPROVAL_KIND, target_id=OuterRef("pk"),
                                                status=ApprovalStatus.PENDING)
                 .order_by("-submitted_at").values("submitted_at")[:1])
    return (scope(Quote.objects).filter(status=QuoteStatus.PENDING_APPROVAL)
            .annotate(broken_since=Subquery(submitted)).filter(broken_since__lte=now - threshold))


def radar_breaks() -> list[RadarBreak]:
    return [
        RadarBreak("quotes.approval_waiting", _("Quote awaiting approval too long"), approval_waiting,
                   _("Open the approval"), lambda quote: quote.get_absolute_url(),
                   default_threshold=timedelta(hours=settings.CLOSELOOP_APPROVAL_DUE_HOURS),
                   owner="opportunity__owner", order=80),
    ]
