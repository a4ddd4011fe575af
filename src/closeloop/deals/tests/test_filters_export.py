"""The deal list and board filtered by rep and by team (only people the viewer may see), and the list's Excel
export: the same filters, the same visibility, the figures as numbers."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from closeloop.core import spreadsheets
from closeloop.core.tests.sheets import continued_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(org, make_deal):
    return {
        "owner": make_deal(owner=org.owner, amount="120000", expected_close_date="2026-03-31"),
        "teammate": make_deal(owner=org.teammate, amount="50000"),
        "outsider": make_deal(owner=org.outsider, amount="8000"),
    }


def listed(client, user, url, **query) -> str:
    client.force_login(user)
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("url", ["deals:list", "deals:board"])
def test_a_manager_filters_by_rep(client, org, deals, url):
    body = listed(client, org.manager, reverse(url), owner=org.teammate.pk)
    assert deals["teammate"].name in body
    assert deals["owner"].name not in body and deals["outsider"].name not in body
    # The choices: the manager's team, never the other team's reps.
    assert ">teammate</option>" in body and ">outsider</option>" not in body


@pytest.mark.parametrize("url", ["deals:list", "deals:board"])
def test_an_administrator_filters_by_team(client, org, deals, url):
    body = listed(client, org.admin, reverse(url), department=org.team_b.pk)
    assert deals["outsider"].name in body
    assert deals["owner"].name not in body and deals["teammate"].name not in body
    body = listed(client, org.admin, reverse(url), department=org.team_a.parent_id)  # 销售部: both teams
    assert all(deal.name in body for deal in deals.values())


def test_a_filter_never_reaches_past_visibility(client, org, deals):
    # A manager asking for the other team, a rep for a teammate: nothing, not the other's deals.
    body = listed(client, org.manager, reverse("deals:list"), department=org.team_b.pk)
    assert deals["outsider"].name not in body and deals["owner"].name not in body
    body = listed(client, org.outsider, reverse("deals:list"), owner=org.owner.pk)
    assert deals["owner"].name not in body
    # A rep is offered no one else and no team.
    body = listed(client, org.owner, reverse("deals:list"))
    assert ">teammate</option>" not in body and 'name="department"' not in body


def export(client, user, **query) -> list[tuple]:
    client.force_login(user)
    response = client.get(reverse("deals:export"), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


@pytest.mark.parametrize(("who", "expected"), [("owner", {"owner"}), ("teammate", {"teammate"}),
                                               ("manager", {"owner", "teammate"}), ("outsider", {"outsider"}),
                                               ("admin", {"owner", "teammate", "outsider"})])
def test_the_export_holds_what_the_viewer_may_see(client, org, deals, who, expected):
    rows = export(client, getattr(org, who))
    names = {row[0] for row in rows[1:]}
    assert names == {deals[key].name for key in expected}


def test_the_export_follows_the_lists_filters_with_numbers_and_dates(client, org, deals):
    rows = export(client, org.manager, owner=org.owner.pk)
    header, *body = rows
    assert len(body) == 1
    row = dict(zip(header, body[0], strict=True))
    assert row["Deal"] == deals["owner"].name and row["Owner"] == str(org.owner) and row["Team"] == "一组"
    assert Decimal(str(row["Amount"])) == Decimal("120000")
    assert row["Expected close"].date() == date(2026, 3, 31)
    assert row["Link"].endswith(deals["owner"].get_absolute_url())


def test_the_list_links_its_export_with_the_filters(client, org, deals):
    client.force_login(org.manager)
    body = client.get(reverse("deals:list"), {"owner": org.owner.pk}).content.decode()
    assert f'{reverse("deals:export")}?owner={org.owner.pk}' in body


def test_rows_past_excels_sheet_limit_continue_on_a_next_sheet(client, org, deals, settings, monkeypatch):
    settings.LANGUAGE_CODE = "zh-hans"
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", 2)  # a header and one deal a sheet
    client.force_login(org.admin)
    names, rows = continued_rows(client.get(reverse("deals:export")).content)
    assert names == ["商机", "商机 (2)", "商机 (3)"]
    assert sorted(row[0] for row in rows) == sorted(deal.name for deal in deals.values())
