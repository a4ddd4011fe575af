from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def num(value) -> str:
    """A quantity or percentage without trailing zeros: 2, 1.5, 13."""
    if value is None or value == "":
        return "—"
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    text = f"{value.normalize():f}"
    return text


@register.simple_tag
def quotes_of(deal, user) -> dict:
    """The deal page's quotes panel: the deal's quotes the user can see, and whether they may start one."""
    from closeloop.deals.models import OpportunityStatus
    from closeloop.followup.rights import Act, may

    from ..models import Quote

    quotes = (Quote.objects.visible_to(user).filter(opportunity=deal).select_related("current_version")
              .order_by("-created_at", "-id"))
    # Won deals too: a customer often asks for a final quote after the verbal yes. Lost deals are closed.
    return {"quotes": list(quotes), "can_create": deal.status != OpportunityStatus.LOST and may(user, deal, Act.QUOTE)}
