"""The service's breaks in the loop, for the breakpoint radar (see core.hooks.RadarBreak): a won deal nothing was
signed or delivered for, a signed contract nobody started delivering, a milestone past its planned date, an open
ticket past its SLA, and a resolved ticket or accepted delivery whose survey nobody answered.

Each reads its own partial index (models: `ticket_radar_response_idx`, `ticket_radar_resolution_idx`,
`survey_unanswered_idx`), so the recount walks the few broken rows rather than every ticket or survey."""

from datetime import timedelta

from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Q, Subquery, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.contracts.models import Contract, ContractStatus
from closeloop.core.hooks import RadarBreak
from closeloop.deals.models import Opportunity, OpportunityStatus

from .models import Delivery, DeliveryStatus, Milestone, Survey, Ticket
from .sla import service_settings


def contract_without_delivery(scope, now, threshold):
    """Signed contracts (in performance or not yet) with no delivery started: broken since the signature. Few rows
    are signed and open at once, and the delivery's one-to-one key answers the NOT EXISTS."""
    return (scope(Contract.objects).filter(status__in=[ContractStatus.SIGNED, ContractStatus.ACTIVE],
                                           delivered_at__isnull=True, signed_at__isnull=False)
            .filter(~Exists(Delivery.objects.filter(contract=OuterRef("pk"))))
            .annotate(broken_since=F("signed_at")).filter(broken_since__lte=now - threshold))


def won_deal_without_delivery(scope, now, threshold):
    """Won deals with no signed contract and no delivery: broken since the win. A deal with a signed (or performed)
    contract is its contract's break (`contract_without_delivery`) or delivered, not counted twice. Each row
    carries its latest live contract, if any (`live_contract`): the mending action signs that one rather than
    making another."""
    signed = Contract.objects.filter(opportunity=OuterRef("pk"), status__in=[
        ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.COMPLETED])
    delivered = Delivery.objects.filter(contract__opportunity=OuterRef("pk"))
    live = (Contract.objects.filter(opportunity=OuterRef("pk")).exclude(status=ContractStatus.TERMINATED)
            .order_by("-created_at", "-pk").values("pk")[:1])
    return (scope(Opportunity.objects).filter(status=OpportunityStatus.WON, won_at__lte=now - threshold)
            .filter(~Exists(signed), ~Exists(delivered))
            .annotate(broken_since=F("won_at"), live_contract=Subquery(live)))


def _sign_or_make_contract(deal) -> str:
    if deal.live_contract:
        return reverse("contracts:detail", args=[deal.live_contract])
    return reverse("contracts:create") + f"?deal={deal.pk}"


def milestone_overdue(scope, now, threshold):
    """Milestones not done after their planned date (from the day after it, as on the delivery's page) of deliveries
    still running: the milestone owner's break, and the delivery owner's. Read through the open milestones'
    partial index."""
    day = timezone.localdate(now - threshold)
    return (scope(Milestone.objects).filter(done_date__isnull=True, planned_date__lt=day,
                                            delivery__status=DeliveryStatus.IN_PROGRESS)
            .select_related("delivery").annotate(broken_since=F("planned_date")))


def ticket_past_sla(scope, now, threshold):
    """Open tickets whose first response or resolution is overdue (escalated or not): broken since the earlier
    clock ran out. A ticket waiting on the customer has no resolution due time (its clock stands still)."""
    late = now - threshold
    response = Q(first_responded_at__isnull=True, first_response_due_at__lt=late)
    resolution = Q(resolved_at__isnull=True, resolution_due_at__lt=late)
    # Open (neither resolved nor closed) inside each branch, so each branch implies its partial index's condition
    # and SQLite plans the OR as one walk of each index.
    still_open = Q(resolved_at__isnull=True, closed_at__isnull=True)
    return (scope(Ticket.objects).filter((still_open & response) | (still_open & resolution))
            .annotate(broken_since=Case(When(response, then=F("first_response_due_at")),
                                        default=F("resolution_due_at"), output_field=DateTimeField())))


def survey_unanswered(scope, now, threshold):
    """Surveys unanswered `threshold` after they were sent, or expired, unless someone followed the customer up
    since: a call logged on the ticket or delivery (its people) or on the customer (the account owner) mends it."""
    return (scope(Survey.objects).filter(answered_at__isnull=True)
            .filter(Q(sent_at__lte=now - threshold) | Q(expires_at__lte=now))
            .filter(Q(ticket__isnull=True) | Q(ticket__last_activity_at__isnull=True)
                    | Q(ticket__last_activity_at__lt=F("sent_at")))
            .filter(Q(delivery__isnull=True) | Q(delivery__last_activity_at__isnull=True)
                    | Q(delivery__last_activity_at__lt=F("sent_at")))
            .filter(Q(customer__last_activity_at__isnull=True) | Q(customer__last_activity_at__lt=F("sent_at")))
            .select_related("ticket", "delivery")
            .annotate(broken_since=F("sent_at")))


def _service_manager() -> int | None:
    return service_settings().service_manager_id


def radar_breaks() -> list[RadarBreak]:
    return [
        RadarBreak("service.won_without_delivery", _("Won deal with no contract signed or delivery started"),
                   won_deal_without_delivery, _("Make or sign the contract"), _sign_or_make_contract,
                   default_threshold=timedelta(days=14), order=112),
        RadarBreak("service.contract_without_delivery", _("Signed contract with no delivery started"),
                   contract_without_delivery, _("Start the delivery"),
                   lambda contract: reverse("service:delivery_create") + f"?contract={contract.pk}",
                   default_threshold=timedelta(days=7), also_owner="opportunity__owner", order=115),
        RadarBreak("service.milestone_overdue", _("Milestone overdue"), milestone_overdue,
                   _("Mark the milestone done"), lambda milestone: milestone.get_absolute_url(),
                   default_threshold=timedelta(0), also_owner="delivery__owner", order=117),
        RadarBreak("service.ticket_past_sla", _("Ticket past its SLA"), ticket_past_sla, _("Work the ticket"),
                   lambda ticket: ticket.get_absolute_url(), default_threshold=timedelta(0),
                   also_owner="customer__owner", unowned=_service_manager, order=120),
        RadarBreak("service.survey_unanswered", _("Resolved ticket or accepted delivery without a survey answer"),
                   survey_unanswered, _("Resend the survey or call the customer"),
                   lambda survey: survey.get_absolute_url(), default_threshold=timedelta(days=7),
                   also_owner="customer__owner", order=130),
    ]
