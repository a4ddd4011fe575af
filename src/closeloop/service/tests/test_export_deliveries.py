"""The delivery list's Excel export: the rows the list's status, search and custom filters select, through the
viewer's visibility (service reads every delivery), every page; counts as numbers, times as dates, a link to each
delivery, then the custom fields the viewer may see."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from closeloop.contracts import plans
from closeloop.contracts import services as contract_services
from closeloop.contracts.models import SignedVia
from closeloop.core import spreadsheets
from closeloop.core.customfields.services import custom_field_create
from closeloop.core.tests.sheets import continued_rows, exported_rows
from closeloop.service import deliveries
from closeloop.service.models import DeliveryStatus

from .conftest import milestones_done

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def delivered(org, make_deal, accepted_quote, make_contract, service_staff):
    """A delivery (run by the service staff, two milestones, one done) of a signed contract of each of the owner,
    the teammate and the outsider."""
    made, today = {}, timezone.localdate()
    for who in ("owner", "teammate", "outsider"):
        person = getattr(org, who)
        contract = make_contract(quote=accepted_quote(opportunity=make_deal(owner=person), actor=person), actor=person,
                                 plan=False)
        plans.payment_plan_save(contract=contract, actor=person, instalments=[
            {"title": "验收款", "condition": "on_acceptance", "days_after": "10", "percentage": "100"}])
        contract_services.contract_submit(contract=contract, actor=person)
        contract_services.contract_sign(contract=contract, actor=person, sign_date=None, via=SignedVia.SCAN)
        made[who] = deliveries.delivery_create(contract=contract, actor=service_staff, milestones=[
            {"name": "需求调研", "planned_date": today - timedelta(days=10)},
            {"name": "培训上线", "planned_date": today + timedelta(days=7)}])
        deliveries.milestone_update(milestone=made[who].milestones.order_by("position").first(), actor=service_staff,
                                    data={"done_date": today})
    return made


def exported(client, user, **query) -> list[dict]:
    return exported_rows(client, user, reverse("service:delivery_export"), "deliveries", query)


def contracts_of(rows) -> set[str]:
    return {row["Contract"] for row in rows}


@pytest.mark.parametrize(("who", "expected"), [
    ("owner", {"owner"}), ("teammate", {"teammate"}), ("manager", {"owner", "teammate"}),
    ("outsider", {"outsider"}), ("other_manager", {"outsider"}), ("admin", {"owner", "teammate", "outsider"}),
    ("service", {"owner", "teammate", "outsider"}), ("finance", {"owner", "teammate", "outsider"}),
    ("marketer", set()),
])
def test_the_export_holds_what_the_viewer_may_see(client, org, delivered, service_staff, finance, who, expected):
    viewer = {"service": service_staff, "finance": finance}.get(who) or getattr(org, who)
    assert contracts_of(exported(client, viewer)) == {delivered[key].contract.number for key in expected}


def test_the_export_has_numbers_times_and_a_link(client, org, delivered, service_staff):
    delivery = delivered["owner"]
    deliveries.delivery_accept_by_link(delivery=milestones_done(delivery), name="周敏", phone="13912345678")
    delivery.refresh_from_db()
    (row,) = exported(client, org.owner)
    assert row["Delivery"] == delivery.title and row["Customer"] == delivery.customer.name
    assert row["Status"] == "Accepted" and row["Delivery owner"] == "service"
    assert row["Milestones"] == 2 and row["Milestones done"] == 2
    assert isinstance(row["Created"], datetime) and isinstance(row["Accepted at"], datetime)
    assert row["Link"].startswith("http") and row["Link"].endswith(delivery.get_absolute_url())


def test_the_export_takes_every_page(client, org, make_delivery, service_staff):
    for _ in range(26):  # more than the list's page of 25
        make_delivery()
    assert len(exported(client, service_staff)) == 26


def test_the_export_follows_the_lists_filters_and_search(client, org, delivered, service_staff):
    deliveries.delivery_accept_by_link(delivery=milestones_done(delivered["teammate"]), name="周敏", phone="13912345678")
    rows = exported(client, service_staff, status=DeliveryStatus.ACCEPTED)
    assert contracts_of(rows) == {delivered["teammate"].contract.number}
    assert len(exported(client, service_staff, status=DeliveryStatus.IN_PROGRESS)) == 2
    rows = exported(client, service_staff, q=delivered["outsider"].contract.number)
    assert contracts_of(rows) == {delivered["outsider"].contract.number}
    # A search never reaches past visibility.
    assert exported(client, org.owner, q=delivered["outsider"].contract.number) == []


def test_the_export_has_the_custom_columns_the_viewer_may_see(client, org, delivered, service_staff):
    custom_field_create(target="service.Delivery", key="site", field_type="choice", actor=org.admin, data={
        "label_zh": "现场", "label_en": "Site", "options": "上海\n苏州"})
    custom_field_create(target="service.Delivery", key="cost", field_type="money", actor=org.admin, data={
        "label_zh": "实施成本", "label_en": "Cost", "view_roles": ["sales_manager"]})
    deliveries.delivery_update(delivery=delivered["owner"], data={"custom": {"site": "苏州"}}, actor=org.owner)
    deliveries.delivery_update(delivery=delivered["owner"], data={"custom": {"cost": "8000"}}, actor=org.manager)
    deliveries.delivery_update(delivery=delivered["teammate"], data={"custom": {"site": "上海"}}, actor=org.teammate)

    # The owner and the service staff may not see the cost: no column, not an empty one.
    (row,) = exported(client, org.owner)
    assert row["Site"] == "苏州" and "Cost" not in row
    assert all("Cost" not in row for row in exported(client, service_staff))
    rows = {row["Contract"]: row for row in exported(client, org.manager)}
    assert rows[delivered["owner"].contract.number]["Cost"] == 8000
    assert rows[delivered["teammate"].contract.number]["Cost"] is None
    assert contracts_of(exported(client, service_staff, **{"cf.site": "上海"})) == {
        delivered["teammate"].contract.number}


def test_the_list_links_its_export_with_the_filters(client, org, delivered, service_staff):
    client.force_login(service_staff)
    body = client.get(reverse("service:deliveries"), {"status": "accepted"}).content.decode()
    assert f'href="{reverse("service:delivery_export")}?status=accepted"' in body


def test_the_export_reads_in_a_fixed_number_of_queries(client, org, make_delivery, service_staff):
    """Every row's customer, owner and team come with it: more rows, not more queries."""
    def queries() -> int:
        client.force_login(service_staff)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("service:delivery_export")).status_code == 200
        return len(captured)

    make_delivery()
    few = queries()
    for _ in range(3):
        make_delivery()
    assert queries() == few


def test_rows_past_excels_sheet_limit_continue_on_a_next_sheet(client, org, delivered, monkeypatch):
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", 2)  # a header and one delivery a sheet
    client.force_login(org.admin)
    names, rows = continued_rows(client.get(reverse("service:delivery_export")).content)
    assert names == ["Deliveries", "Deliveries (2)", "Deliveries (3)"]
    assert sorted(row[2] for row in rows) == sorted(d.contract.number for d in delivered.values())
