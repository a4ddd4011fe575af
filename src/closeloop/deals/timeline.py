"""What deals adds to the one timeline (`closeloop.followup.timeline`): a deal's stage history, the history of
the lead it came from, and on a customer's timeline the follow-ups of its deals."""

from closeloop.followup.timeline import ACTIVITY, AUDIT, TimelineEntry

from .models import Opportunity, StageHistory

STAGE_TEMPLATE = "deals/timeline/_stage.html"


def deal_stage_entries(deal, viewer):
    return [TimelineEntry(s.entered_at, "stage", s, STAGE_TEMPLATE)
            for s in StageHistory.objects.filter(opportunity=deal).select_related("stage", "entered_by")]


def deal_related(deal, viewer):
    """The lead a deal was converted from: its trail and follow-ups come before the deal's."""
    if deal.lead_id:
        yield [deal.lead], {AUDIT, ACTIVITY}


def customer_related(customer, viewer):
    """The follow-ups logged on the customer's deals, those the viewer may see."""
    deals = Opportunity.objects.filter(customer=customer)
    if viewer is not None:
        deals = deals.visible_to(viewer)
    yield list(deals.only("id", "name", "customer_id")), {ACTIVITY}
