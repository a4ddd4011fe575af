"""The quote list's Excel export: the rows the list's filters and search select, through the viewer's visibility,
every page; totals as numbers, dates as dates, a link to each quote, then the custom fields the viewer may see."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from closeloop.core import spreadsheets
from closeloop.core.customfields.services import custom_field_create
from closeloop.core.tests.sheets import continued_rows, exported_rows
from closeloop.quotes import services
from closeloop.quotes.models import QuoteStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def quotes(org, make_deal, make_quote):
    """A quote of ¥10,000 for a deal of each of the owner, the teammate and the outsider."""
    return {who: make_quote(opportunity=make_deal(owner=getattr(org, who)), actor=getattr(org, who))
            for who in ("owner", "teammate", "outsider")}


def exported(client, user, **query) -> list[dict]:
    return exported_rows(client, user, reverse("quotes:export"), "quotes", query)


@pytest.mark.parametrize(("who", "expected"), [
    ("owner", {"owner"}), ("teammate", {"teammate"}), ("manager", {"owner", "teammate"}),
    ("outsider", {"outsider"}), ("other_manager", {"outsider"}), ("admin", {"owner", "teammate", "outsider"}),
    ("finance", {"owner", "teammate", "outsider"}), ("presales", set()),
])
def test_the_export_holds_what_the_viewer_may_see(client, org, quotes, finance, presales, who, expected):
    viewer = {"finance": finance, "presales": presales}.get(who) or getattr(org, who)
    assert {row["Number"] for row in exported(client, viewer)} == {quotes[key].number for key in expected}


def test_the_export_takes_every_page_with_numbers_dates_and_a_link(client, org, make_quote):
    made = [make_quote() for _ in range(27)]  # more than the list's page of 25
    services.quote_update(quote=made[0], data={"title": "=HYPERLINK(\"http://x\")"}, actor=org.owner)
    rows = exported(client, org.owner)
    assert len(rows) == 27
    row = next(row for row in rows if row["Number"] == made[0].number)
    version = made[0].current_version
    assert row["Title"] == "=HYPERLINK(\"http://x\")"  # a text cell, never a formula
    assert isinstance(row["Total incl. tax"], float) and Decimal(str(row["Total incl. tax"])) == Decimal("10000")
    assert Decimal(str(row["Total excl. tax"])) == version.total_excl_tax
    assert row["Version"] == 1
    assert isinstance(row["Valid until"], datetime) and row["Valid until"].date() == version.valid_until
    assert isinstance(row["Created"], datetime) and row["Sent at"] is None
    assert row["Status"] == "Draft" and row["Owner"] == "owner" and row["Team"] == "一组"
    assert row["Customer"] == made[0].opportunity.customer.name and row["Deal"] == made[0].opportunity.name
    assert row["Link"].startswith("http") and row["Link"].endswith(made[0].get_absolute_url())


def test_the_export_follows_the_lists_filters_and_search(client, org, quotes):
    services.quote_send(quote=quotes["owner"], actor=org.owner)
    rows = exported(client, org.manager, status=QuoteStatus.SENT)
    assert [row["Number"] for row in rows] == [quotes["owner"].number]
    assert isinstance(rows[0]["Sent at"], datetime)
    rows = exported(client, org.manager, q=quotes["teammate"].number)
    assert [row["Number"] for row in rows] == [quotes["teammate"].number]
    rows = exported(client, org.manager, owner=org.teammate.pk)
    assert [row["Number"] for row in rows] == [quotes["teammate"].number]
    # A filter never reaches past visibility.
    assert exported(client, org.owner, q=quotes["outsider"].number) == []


def test_the_export_has_the_custom_columns_the_viewer_may_see(client, org, quotes):
    custom_field_create(target="quotes.Quote", key="channel", field_type="choice", actor=org.admin, data={
        "label_zh": "渠道", "label_en": "Sales channel", "options": "直销\n代理"})
    custom_field_create(target="quotes.Quote", key="floor_price", field_type="money", actor=org.admin, data={
        "label_zh": "底价", "label_en": "Floor price", "view_roles": ["sales_manager"]})
    services.quote_update(quote=quotes["owner"], data={"custom": {"channel": "代理"}}, actor=org.owner)
    services.quote_update(quote=quotes["owner"], data={"custom": {"floor_price": "5万"}}, actor=org.manager)
    services.quote_update(quote=quotes["teammate"], data={"custom": {"channel": "直销"}}, actor=org.teammate)

    # The owner may not see the floor price: no column, not an empty one.
    (row,) = exported(client, org.owner)
    assert row["Sales channel"] == "代理" and "Floor price" not in row
    rows = {row["Number"]: row for row in exported(client, org.manager)}
    assert rows[quotes["owner"].number]["Floor price"] == 50000  # a number, as the totals are
    assert rows[quotes["teammate"].number]["Floor price"] is None
    # The list's custom filter narrows the export too.
    assert [row["Number"] for row in exported(client, org.manager, **{"cf.channel": "直销"})] == [
        quotes["teammate"].number]


def test_the_list_links_its_export_with_the_filters(client, org, quotes):
    client.force_login(org.manager)
    body = client.get(reverse("quotes:list"), {"status": "draft"}).content.decode()
    assert f'href="{reverse("quotes:export")}?status=draft"' in body


def test_the_export_reads_in_a_fixed_number_of_queries(client, org, make_quote):
    """Every row's customer, owner and team come with it: more rows, not more queries."""
    def queries() -> int:
        client.force_login(org.owner)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("quotes:export")).status_code == 200
        return len(captured)

    make_quote()
    few = queries()
    for _ in range(3):
        make_quote()
    assert queries() == few


def test_rows_past_excels_sheet_limit_continue_on_a_next_sheet(client, org, quotes, monkeypatch):
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", 3)  # a header and two quotes a sheet
    client.force_login(org.admin)
    names, rows = continued_rows(client.get(reverse("quotes:export")).content)
    assert names == ["Quotes", "Quotes (2)"]
    assert sorted(row[0] for row in rows) == sorted(quote.number for quote in quotes.values())
