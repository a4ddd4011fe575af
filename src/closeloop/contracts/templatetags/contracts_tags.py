from django import template

from closeloop.deals.models import OpportunityStatus, Stage
from closeloop.followup.rights import Act, may

from ..access import can_create_for_deal
from ..models import Contract, ContractStatus
from ..selectors import awaiting_contract

register = template.Library()


@register.simple_tag
def contracts_of(record, user, field: str = "opportunity"):
    """The contracts of a deal or customer that `user` may see, newest first (at most 10)."""
    return list(Contract.objects.visible_to(user).filter(**{field: record}).select_related("customer")
                .order_by("-created_at", "-id")[:10])


@register.simple_tag
def contract_starts(deal, user) -> dict:
    """What the deal page offers: make a contract (from each accepted quote without one, or from the deal)."""
    if not can_create_for_deal(user, deal):
        return {"allowed": False, "quotes": []}
    quotes = awaiting_contract(deal.quotes.all())
    return {"allowed": True, "quotes": list(quotes.order_by("-decided_at", "-id")[:5])}


@register.simple_tag
def deal_left_open(deal, user, contracts):
    """The won stage to offer when the deal is still open though one of its contracts is signed (or further), and
    `user` may move the deal: nothing closes the deal by itself, and an open deal with its contract signed stays in
    the forecast and the pipeline as if it might still be lost."""
    signed = (ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.COMPLETED)
    if deal.status != OpportunityStatus.OPEN or not any(c.status in signed for c in contracts):
        return None
    if not may(user, deal, Act.EDIT):
        return None
    return Stage.objects.filter(pipeline_id=deal.pipeline_id, is_won=True).order_by("position", "id").first()


@register.simple_tag
def quote_contracts(quote, user) -> dict:
    """What an accepted quote's page offers: its contracts the viewer may see, and making one when it has none."""
    if quote.status != "accepted":
        return {"contracts": [], "start": False}
    contracts = list(Contract.objects.visible_to(user).filter(quote=quote).order_by("-created_at", "-id")[:5])
    start = can_create_for_deal(user, quote.opportunity) and awaiting_contract(
        type(quote).objects.filter(pk=quote.pk)).exists()
    return {"contracts": contracts, "start": start}


@register.filter
def get_bucket(mapping, key):
    """`totals|get_bucket:"d1_30"`: one age bucket's amount."""
    return (mapping or {}).get(key)
