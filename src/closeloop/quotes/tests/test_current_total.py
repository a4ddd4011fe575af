"""Each quote keeps its current version's total (quotes.current_total), whatever writes the quote or the version: the
review sums the period's quotes from it, so it must equal the current version's total at every moment."""

from decimal import Decimal

import pytest
from django.db import connection

from closeloop.quotes import current_total, services
from closeloop.quotes.models import Quote, QuoteVersion


def kept_equals_live():
    """Every quote's kept total is its current version's now (both None without a current version)."""
    rows = list(Quote.objects.values_list("pk", "current_total", "current_version__total_incl_tax"))
    assert rows
    assert [(pk, kept, live) for pk, kept, live in rows if kept != live] == []


def test_a_quote_keeps_its_current_versions_total_through_every_write(org, make_quote):
    quote = make_quote(lines=(("10000", "0"), ("5000", "10")))
    assert Quote.objects.get(pk=quote.pk).current_total == Decimal("14500.00")  # lines added through the services
    other = make_quote()
    kept_equals_live()

    services.quote_send(quote=quote, actor=org.owner)
    services.quote_revise(quote=quote, actor=org.owner)  # version 2 becomes the current one
    quote.refresh_from_db()
    stale = Quote.objects.get(pk=quote.pk)
    line = quote.current_version.lines.order_by("pk").first()
    services.quote_line_update(line=line, actor=org.owner, data={"quantity": "3"})
    assert Quote.objects.get(pk=quote.pk).current_total == Decimal("34500.00")
    stale.title = "改名"
    stale.save()  # every column written, the total as loaded before the line changed
    assert Quote.objects.get(pk=quote.pk).current_total == Decimal("34500.00")
    kept_equals_live()

    QuoteVersion.objects.filter(pk=quote.current_version_id).update(total_incl_tax=Decimal("1.05"))  # a bulk write
    assert Quote.objects.get(pk=quote.pk).current_total == Decimal("1.05")
    first = QuoteVersion.objects.filter(quote=quote).order_by("number").first()
    Quote.objects.filter(pk=quote.pk).update(current_version=first)  # pointed back at version 1
    assert Quote.objects.get(pk=quote.pk).current_total == first.total_incl_tax
    Quote.objects.filter(pk=other.pk).update(current_total=Decimal("99"))  # written wrong: put right
    Quote.objects.filter(pk=other.pk).update(current_version=None)
    kept_equals_live()
    assert Quote.objects.get(pk=other.pk).current_total is None


def test_missing_triggers_are_put_back_and_the_column_filled_again(org, make_quote):
    quote = make_quote()
    current_total.drop(connection)
    QuoteVersion.objects.filter(pk=quote.current_version_id).update(total_incl_tax=Decimal("7.77"))  # unseen
    assert Quote.objects.get(pk=quote.pk).current_total == Decimal("10000.00")
    assert current_total.ensure(connection) is True
    kept_equals_live()
    assert current_total.ensure(connection) is False  # all there: nothing done


@pytest.mark.django_db(transaction=True)
def test_a_migrate_rebuilding_the_tables_keeps_the_triggers(data_migration_rows, org, make_quote):
    """post_migrate puts back triggers a rebuilt SQLite table lost (as ensure above; here through migrate)."""
    from django.core.management import call_command

    quote = make_quote()
    current_total.drop(connection)
    call_command("migrate", verbosity=0)
    QuoteVersion.objects.filter(pk=quote.current_version_id).update(total_incl_tax=Decimal("3.30"))
    assert Quote.objects.get(pk=quote.pk).current_total == Decimal("3.30")
