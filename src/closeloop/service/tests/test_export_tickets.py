"""The ticket list's Excel export: the rows the list's status (open ones unless told), priority, search and custom
filters select, through the viewer's visibility (service reads every ticket, a rep their customers'), every page;
times as dates, a link to each ticket, then the custom fields the viewer may see."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from closeloop.core import spreadsheets
from closeloop.core.customfields.services import custom_field_create
from closeloop.core.tests.sheets import continued_rows, exported_rows
from closeloop.service import tickets
from closeloop.service.models import TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def raised(org, make_customer, make_ticket):
    """A ticket for a customer of each of the owner, the teammate and the outsider, raised by that rep."""
    return {who: make_ticket(customer=make_customer(owner=getattr(org, who)), actor=getattr(org, who))
            for who in ("owner", "teammate", "outsider")}


def exported(client, user, **query) -> list[dict]:
    return exported_rows(client, user, reverse("service:ticket_export"), "tickets", query)


def numbers(rows) -> set[str]:
    return {row["Number"] for row in rows}


@pytest.mark.parametrize(("who", "expected"), [
    ("owner", {"owner"}), ("teammate", {"teammate"}), ("manager", {"owner", "teammate"}),
    ("outsider", {"outsider"}), ("other_manager", {"outsider"}), ("admin", {"owner", "teammate", "outsider"}),
    ("service", {"owner", "teammate", "outsider"}), ("marketer", set()),
])
def test_the_export_holds_what_the_viewer_may_see(client, org, raised, service_team, who, expected):
    viewer = service_team.second if who == "service" else getattr(org, who)
    assert numbers(exported(client, viewer)) == {raised[key].number for key in expected}


def test_the_export_has_times_and_a_link(client, org, raised, service_team):
    ticket = raised["owner"]
    tickets.ticket_reply(ticket=ticket, actor=service_team.first, body="您好，我们正在处理。")
    ticket.refresh_from_db()
    (row,) = exported(client, org.owner)
    assert row["Subject"] == "系统登录报错" and row["Customer"] == ticket.customer.name
    assert row["Priority"] == "P3 normal" and row["Status"] == ticket.get_status_display()
    assert row["Category"] == ticket.get_category_display()
    assert row["Assignee"] == (str(ticket.owner) if ticket.owner_id else None)
    for column in ("Created", "First response due", "First responded at", "Resolution due"):
        assert isinstance(row[column], datetime), column
    assert row["Resolved at"] is None and row["Closed at"] is None
    assert row["Link"].startswith("http") and row["Link"].endswith(ticket.get_absolute_url())


def test_the_export_takes_every_page(client, org, make_ticket, service_team):
    for _ in range(26):  # more than the list's page of 25
        make_ticket()
    assert len(exported(client, service_team.first)) == 26


def test_the_export_follows_the_lists_filters_and_search(client, org, raised, service_team):
    agent = service_team.first
    tickets.ticket_update(ticket=raised["teammate"], data={"priority": "P1"}, actor=agent)
    tickets.ticket_move(ticket=raised["outsider"], status=TicketStatus.IN_PROGRESS, actor=agent)
    tickets.ticket_move(ticket=raised["outsider"], status=TicketStatus.RESOLVED, actor=agent)
    # Open tickets unless told, as the list shows.
    assert numbers(exported(client, agent)) == {raised["owner"].number, raised["teammate"].number}
    rows = exported(client, agent, status="all")
    assert len(rows) == 3
    assert numbers(exported(client, agent, status=TicketStatus.RESOLVED)) == {raised["outsider"].number}
    assert isinstance(next(row for row in rows if row["Number"] == raised["outsider"].number)["Resolved at"],
                      datetime)
    assert numbers(exported(client, agent, priority="P1")) == {raised["teammate"].number}
    assert numbers(exported(client, agent, q=raised["owner"].number)) == {raised["owner"].number}
    # A search never reaches past visibility.
    assert exported(client, org.owner, q=raised["teammate"].number) == []


def test_the_export_has_the_custom_columns_the_viewer_may_see(client, org, raised, service_team):
    custom_field_create(target="service.Ticket", key="device", field_type="choice", actor=org.admin, data={
        "label_zh": "设备", "label_en": "Device", "options": "A100\nB200"})
    custom_field_create(target="service.Ticket", key="penalty", field_type="money", actor=org.admin, data={
        "label_zh": "违约金", "label_en": "Penalty", "view_roles": ["sales_manager"]})
    tickets.ticket_update(ticket=raised["owner"], data={"custom": {"device": "B200"}}, actor=org.owner)
    tickets.ticket_update(ticket=raised["owner"], data={"custom": {"penalty": "1200"}}, actor=org.manager)
    tickets.ticket_update(ticket=raised["teammate"], data={"custom": {"device": "A100"}}, actor=org.teammate)

    # The rep and the service agent may not see the penalty: no column, not an empty one.
    (row,) = exported(client, org.owner)
    assert row["Device"] == "B200" and "Penalty" not in row
    assert all("Penalty" not in row for row in exported(client, service_team.first))
    rows = {row["Number"]: row for row in exported(client, org.manager)}
    assert rows[raised["owner"].number]["Penalty"] == 1200
    assert rows[raised["teammate"].number]["Penalty"] is None
    assert numbers(exported(client, service_team.first, **{"cf.device": "A100"})) == {raised["teammate"].number}


def test_the_list_links_its_export_with_the_filters(client, org, raised, service_team):
    client.force_login(service_team.first)
    body = client.get(reverse("service:tickets"), {"status": "all", "priority": "P1"}).content.decode()
    assert f'href="{reverse("service:ticket_export")}?status=all&amp;priority=P1"' in body


def test_the_export_reads_in_a_fixed_number_of_queries(client, org, make_ticket, service_team):
    """Every row's customer, owner and team come with it: more rows, not more queries."""
    def queries() -> int:
        client.force_login(service_team.first)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("service:ticket_export")).status_code == 200
        return len(captured)

    make_ticket()
    few = queries()
    for _ in range(3):
        make_ticket()
    assert queries() == few


def test_rows_past_excels_sheet_limit_continue_on_a_next_sheet(client, org, raised, monkeypatch):
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", 2)  # a header and one ticket a sheet
    client.force_login(org.admin)
    names, rows = continued_rows(client.get(reverse("service:ticket_export")).content)
    assert names == ["Tickets", "Tickets (2)", "Tickets (3)"]
    assert sorted(row[0] for row in rows) == sorted(ticket.number for ticket in raised.values())
