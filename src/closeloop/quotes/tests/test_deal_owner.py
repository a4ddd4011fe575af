"""Each quote keeps its deal's owner (quotes.deal_owner), whatever writes the quote or the deal: the review counts a
manager's line's quotes from it, so it must equal the deal's owner at every moment."""

from django.db import connection

from closeloop.deals.models import Opportunity
from closeloop.deals.services.opportunities import opportunity_transfer
from closeloop.quotes import deal_owner
from closeloop.quotes.models import Quote


def kept_equals_live():
    """Every quote's kept owner is its deal's owner now."""
    rows = list(Quote.objects.values_list("pk", "deal_owner_id", "opportunity__owner_id"))
    assert rows
    assert [(pk, kept, live) for pk, kept, live in rows if kept != live] == []


def test_a_quote_keeps_its_deals_owner_through_every_write(org, make_deal, make_quote):
    first, second = make_deal(owner=org.owner), make_deal(owner=org.teammate)
    quote = make_quote(opportunity=first)
    other = make_quote(opportunity=second, actor=org.teammate)
    assert Quote.objects.get(pk=quote.pk).deal_owner_id == org.owner.pk  # created through the services
    kept_equals_live()

    stale = Quote.objects.get(pk=quote.pk)
    opportunity_transfer(opportunity=first, new_owner=org.outsider, actor=org.admin, reason="离职交接")
    assert Quote.objects.get(pk=quote.pk).deal_owner_id == org.outsider.pk
    stale.title = "改名"
    stale.save()  # every column written, the kept owner as loaded before the transfer
    assert Quote.objects.get(pk=quote.pk).deal_owner_id == org.outsider.pk
    kept_equals_live()

    Opportunity.objects.filter(pk=second.pk).update(owner=org.manager)  # a bulk write
    assert Quote.objects.get(pk=other.pk).deal_owner_id == org.manager.pk
    Quote.objects.filter(pk=other.pk).update(opportunity=first)  # a quote moved to another deal
    assert Quote.objects.get(pk=other.pk).deal_owner_id == org.outsider.pk
    Quote.objects.filter(pk=other.pk).update(deal_owner=org.teammate)  # written wrong: put right
    kept_equals_live()


def test_missing_triggers_are_put_back_and_the_column_filled_again(org, make_deal, make_quote):
    deal = make_deal(owner=org.owner)
    quote = make_quote(opportunity=deal)
    deal_owner.drop(connection)
    Opportunity.objects.filter(pk=deal.pk).update(owner=org.teammate)  # unseen: no trigger
    assert Quote.objects.get(pk=quote.pk).deal_owner_id == org.owner.pk
    assert deal_owner.ensure(connection) is True
    kept_equals_live()
    assert deal_owner.ensure(connection) is False  # all there: nothing done
    opportunity_transfer(opportunity=deal, new_owner=org.outsider, actor=org.admin, reason="调整")
    kept_equals_live()
