"""The customer's quote link: only a sent quote, nothing else of the deal, accept or decline, rate-limited."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from closeloop.core.models import AuditEntry
from closeloop.quotes import services
from closeloop.quotes.models import QuoteStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def test_a_draft_has_no_public_page(client, make_quote):
    quote = make_quote()
    assert client.get(reverse("quote_public", args=[quote.public_key])).status_code == 404
    assert client.get(reverse("quote_public", args=["not-a-key"])).status_code == 404


def test_the_customer_reads_and_accepts_without_logging_in(client, org, make_quote):
    quote = make_quote()
    services.quote_update(quote=quote, actor=org.owner, data={"notes": "内部备注不会出现"})
    services.quote_send(quote=quote, actor=org.owner)
    url = reverse("quote_public", args=[quote.public_key])
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert quote.number in body and "¥10,000.00" in body and "壹万元整" in body
    assert response["Referrer-Policy"] == "same-origin" and "noindex" in response["X-Robots-Tag"]
    # Nothing internal: no costs, no margin, no navigation into the app.
    assert "margin" not in body.lower() and "4,000" not in body and "/deals/" not in body
    response = client.post(url, {"answer": "accept", "name": "周敏", "phone": "139 1234 5678"})
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED and quote.decided_by_name == "周敏"
    body = client.get(url).content.decode()
    assert "Accepted by 周敏" in body and 'name="answer"' not in body
    # The rep's page says the customer answered on the link, not that the rep recorded it.
    client.force_login(org.owner)
    body = client.get(quote.get_absolute_url()).content.decode()
    assert "by 周敏 of the customer, on the quote link (139 1234 5678)" in body and "recorded by" not in body


def test_the_customer_accepting_on_the_link_sets_the_deals_amount(client, org, deal, make_quote):
    quote = make_quote(lines=(("10000", "30"),))
    services.quote_send(quote=quote, actor=org.owner)
    response = client.post(reverse("quote_public", args=[quote.public_key]),
                           {"answer": "accept", "name": "周敏", "phone": "139 1234 5678"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("7000.00")
    entry = AuditEntry.objects.for_object(deal).get(action="opportunity.update")
    assert [Decimal(value) for value in entry.changes["amount"]] == [Decimal("200000"), Decimal("7000")]
    assert entry.channel == "system" and quote.number in entry.note and "周敏" in entry.note


def test_the_quote_page_says_who_recorded_an_answer_given_to_the_rep(client, org, make_quote):
    named, unnamed = make_quote(), make_quote()
    for quote in (named, unnamed):
        services.quote_send(quote=quote, actor=org.owner)
    services.quote_decide(quote=named, accept=True, actor=org.owner, name="周敏")
    services.quote_decide(quote=unnamed, accept=False, actor=org.owner)
    client.force_login(org.owner)
    body = client.get(named.get_absolute_url()).content.decode()
    assert f"by 周敏 · recorded by {org.owner}" in body and "quote link" not in body
    body = client.get(unnamed.get_absolute_url()).content.decode()
    assert f"as recorded by {org.owner} (the customer’s name was not given)" in body


def test_accepting_needs_a_name_and_a_phone(client, org, make_quote):
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    url = reverse("quote_public", args=[quote.public_key])
    response = client.post(url, {"answer": "accept", "name": "", "phone": "abc"})
    assert response.status_code == 422
    assert "Please give your name." in response.content.decode()
    response = client.post(url, {"answer": "decline", "name": "周敏", "note": "预算不够"})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DECLINED and quote.decision_note == "预算不够"


def test_the_csrf_check_stays_on(org, make_quote):
    from django.test import Client

    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("quote_public", args=[quote.public_key]), {"answer": "accept", "name": "x",
                                                                              "phone": "13912345678"})
    assert response.status_code == 403


def test_a_new_version_in_draft_hides_the_link_until_sent_again(client, org, make_quote):
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    services.quote_revise(quote=quote, actor=org.owner)
    assert client.get(reverse("quote_public", args=[quote.public_key])).status_code == 404


def test_the_link_is_rate_limited(client, org, make_quote, settings):
    # An hour's window: a minute's may roll over between the requests on a loaded machine.
    settings.CLOSELOOP_PUBLIC_QUOTE_RATE = "3/h"
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    url = reverse("quote_public", args=[quote.public_key])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(url)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    # Guessing keys counts too.
    assert client.get(reverse("quote_public", args=["guess"])).status_code == 429
