"""What quotes add to the one timeline: a deal's and a customer's timelines show their quotes' trail (creation,
lines, approval rounds and each decision, sending, the customer's answer), each entry marked with its quote."""

from closeloop.followup.timeline import AUDIT

from .models import Quote


def _visible(quotes, viewer):
    if viewer is not None:
        quotes = quotes.visible_to(viewer)
    return list(quotes.only("id", "number", "title"))


def deal_quotes(deal, viewer):
    yield _visible(Quote.objects.filter(opportunity=deal), viewer), {AUDIT}


def customer_quotes(customer, viewer):
    yield _visible(Quote.objects.filter(opportunity__customer=customer), viewer), {AUDIT}
