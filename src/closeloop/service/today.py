"""What the service app puts on a person's Today page: their signed contracts and won deals that have no
delivery yet, and the milestones they own that are past their planned date."""

from datetime import datetime, time

from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.contracts.models import RECEIVABLE_STATUSES, Contract, ContractStatus
from closeloop.deals.models import Opportunity, OpportunityStatus
from closeloop.followup.today import TODAY_LIMIT, TodayItem

from .models import Milestone


def _at(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(9)))


def awaiting_delivery(user, now) -> list[TodayItem]:
    """Signed contracts the user owns with no delivery, then won deals of theirs none of whose contracts has one."""
    contracts = (Contract.objects.filter(owner=user, status__in=RECEIVABLE_STATUSES, delivery__isnull=True)
                 .select_related("customer").order_by("signed_at", "id")[:TODAY_LIMIT])
    items = [TodayItem("task", contract, contract.signed_at or contract.created_at, False,
                       note=_("Start the delivery")) for contract in contracts]
    # As the breakpoint radar (`service.radar.won_deal_without_delivery`): a deal whose contract was completed is
    # done, delivered outside the service app or before it; "make the contract and start the delivery" would be
    # noise on its owner's Today every day.
    deals = (Opportunity.objects.filter(owner=user, status=OpportunityStatus.WON)
             .exclude(contracts__status__in=(*RECEIVABLE_STATUSES, ContractStatus.COMPLETED))
             .exclude(contracts__delivery__isnull=False)
             .order_by("-won_at", "-id")[:TODAY_LIMIT - len(items)])
    items += [TodayItem("task", deal, deal.won_at or deal.updated_at, False,
                        note=_("Won: contract and delivery to start")) for deal in deals]
    return items


def milestones_overdue(user, now) -> list[TodayItem]:
    """One item per delivery (a record shows once on Today), naming each of the user's milestones past its date."""
    today = timezone.localdate(now)
    milestones = (Milestone.objects.filter(owner=user, done_date__isnull=True, planned_date__lt=today,
                                           delivery__status="in_progress")
                  .select_related("delivery").order_by("planned_date", "id")[:TODAY_LIMIT])
    by_delivery: dict[int, list] = {}
    for milestone in milestones:
        by_delivery.setdefault(milestone.delivery_id, []).append(milestone)
    return [TodayItem("task", late[0].delivery, _at(late[0].planned_date), True,
                      note=_("Milestone overdue: %(name)s") % {"name": "、".join(m.name for m in late)})
            for late in by_delivery.values()]
