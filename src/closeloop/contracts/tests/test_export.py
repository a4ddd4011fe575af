"""The contract list's Excel export: the rows the list's filters and search select, through the viewer's visibility
(finance reads every contract), every page; amounts as numbers, dates as dates, a link to each contract, then the
custom fields the viewer may see."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from closeloop.contracts import services
from closeloop.contracts.models import ContractStatus, SignedVia
from closeloop.core import spreadsheets
from closeloop.core.customfields.services import custom_field_create
from closeloop.core.models import Role, User
from closeloop.core.tests.sheets import continued_rows, exported_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def contracts(org, make_deal, accepted_quote, make_contract):
    """A draft ¥30,000 contract on a deal of each of the owner, the teammate and the outsider."""
    made = {}
    for who in ("owner", "teammate", "outsider"):
        person = getattr(org, who)
        made[who] = make_contract(quote=accepted_quote(opportunity=make_deal(owner=person), actor=person), actor=person)
    return made


def exported(client, user, **query) -> list[dict]:
    return exported_rows(client, user, reverse("contracts:export"), "contracts", query)


@pytest.mark.parametrize(("who", "expected"), [
    ("owner", {"owner"}), ("teammate", {"teammate"}), ("manager", {"owner", "teammate"}),
    ("outsider", {"outsider"}), ("other_manager", {"outsider"}), ("admin", {"owner", "teammate", "outsider"}),
    ("finance", {"owner", "teammate", "outsider"}), ("service", set()),
])
def test_the_export_holds_what_the_viewer_may_see(client, org, contracts, finance, who, expected):
    service = User.objects.create_user("service", "service@example.com", "pw", role=Role.SERVICE)
    viewer = {"finance": finance, "service": service}.get(who) or getattr(org, who)
    assert {row["Number"] for row in exported(client, viewer)} == {contracts[key].number for key in expected}


def test_the_export_takes_every_page_with_numbers_dates_and_a_link(client, org, contracts, make_contract):
    for _ in range(25):  # with the fixture's owner contract, more than the list's page of 25
        make_contract(plan=False)
    contract = contracts["owner"]
    services.contract_submit(contract=contract, actor=org.owner)
    services.contract_sign(contract=contract, actor=org.owner, sign_date=date(2026, 11, 30), via=SignedVia.SCAN)
    contract.refresh_from_db()
    rows = exported(client, org.owner)
    assert len(rows) == 26
    row = next(row for row in rows if row["Number"] == contract.number)
    assert row["Title"] == contract.title and row["Customer"] == contract.customer.name
    assert row["Deal"] == contract.opportunity.name and row["Status"] == contract.get_status_display()
    assert isinstance(row["Amount"], float) and Decimal(str(row["Amount"])) == Decimal("30000")
    assert Decimal(str(row["Paid"])) == contract.paid_amount and Decimal(str(row["Invoiced"])) == Decimal("0")
    assert isinstance(row["Sign date"], datetime) and row["Sign date"].date() == date(2026, 11, 30)
    assert isinstance(row["Created"], datetime)
    assert row["Owner"] == "owner" and row["Team"] == "一组"
    assert row["Link"].startswith("http") and row["Link"].endswith(contract.get_absolute_url())


def test_the_export_follows_the_lists_filters_and_search(client, org, contracts, finance):
    services.contract_submit(contract=contracts["teammate"], actor=org.teammate)
    contracts["teammate"].refresh_from_db()
    assert contracts["teammate"].status != ContractStatus.DRAFT
    rows = exported(client, finance, status=contracts["teammate"].status)
    assert [row["Number"] for row in rows] == [contracts["teammate"].number]
    assert len(exported(client, finance, status=ContractStatus.DRAFT)) == 2
    rows = exported(client, org.manager, q=contracts["owner"].number)
    assert [row["Number"] for row in rows] == [contracts["owner"].number]
    rows = exported(client, org.admin, owner=org.outsider.pk)
    assert [row["Number"] for row in rows] == [contracts["outsider"].number]
    # A filter never reaches past visibility.
    assert exported(client, org.owner, q=contracts["outsider"].number) == []


def test_the_export_has_the_custom_columns_the_viewer_may_see(client, org, contracts, finance):
    custom_field_create(target="contracts.Contract", key="channel", field_type="choice", actor=org.admin, data={
        "label_zh": "渠道", "label_en": "Sales channel", "options": "直销\n代理"})
    custom_field_create(target="contracts.Contract", key="floor_price", field_type="money", actor=org.admin, data={
        "label_zh": "底价", "label_en": "Floor price", "view_roles": ["sales_manager"]})
    services.contract_update(contract=contracts["owner"], data={"custom": {"channel": "代理"}}, actor=org.owner)
    services.contract_update(contract=contracts["owner"], data={"custom": {"floor_price": "2.5万"}},
                             actor=org.manager)
    services.contract_update(contract=contracts["teammate"], data={"custom": {"channel": "直销"}}, actor=org.teammate)

    # The owner and finance may not see the floor price: no column, not an empty one.
    (row,) = exported(client, org.owner)
    assert row["Sales channel"] == "代理" and "Floor price" not in row
    assert all("Floor price" not in row for row in exported(client, finance))
    rows = {row["Number"]: row for row in exported(client, org.manager)}
    assert rows[contracts["owner"].number]["Floor price"] == 25000
    assert rows[contracts["teammate"].number]["Floor price"] is None
    assert [row["Number"] for row in exported(client, org.manager, **{"cf.channel": "直销"})] == [
        contracts["teammate"].number]


def test_the_list_links_its_export_with_the_filters(client, org, contracts):
    client.force_login(org.manager)
    body = client.get(reverse("contracts:list"), {"status": "draft"}).content.decode()
    assert f'href="{reverse("contracts:export")}?status=draft"' in body


def test_the_export_reads_in_a_fixed_number_of_queries(client, org, make_contract):
    """Every row's customer, owner and team come with it: more rows, not more queries."""
    def queries() -> int:
        client.force_login(org.owner)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("contracts:export")).status_code == 200
        return len(captured)

    make_contract(plan=False)
    few = queries()
    for _ in range(3):
        make_contract(plan=False)
    assert queries() == few


def test_rows_past_excels_sheet_limit_continue_on_a_next_sheet(client, org, contracts, monkeypatch):
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", 2)  # a header and one contract a sheet
    client.force_login(org.admin)
    names, rows = continued_rows(client.get(reverse("contracts:export")).content)
    assert names == ["Contracts", "Contracts (2)", "Contracts (3)"]
    assert sorted(row[0] for row in rows) == sorted(contract.number for contract in contracts.values())
