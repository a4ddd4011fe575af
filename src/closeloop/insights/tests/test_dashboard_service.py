"""The dashboard's after-sales section: tickets opened and resolved by assignee with their SLA clocks, and CSAT and
NPS of the surveys answered, exact per viewer. Tickets belong to a line through their customer's owner (owner,
teammate in team A under manager; outsider in team B under other_manager) and are worked by service and service2."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.insights import dashboard
from closeloop.service.models import Survey, Ticket, TicketStatus

from .dashboards import exported_sheets, follow_drill_downs, period_query, scope_for

pytestmark = pytest.mark.django_db

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def served(org, make_customer, make_ticket, service_team):
    now = timezone.now()
    customers = {user: make_customer(owner=user) for user in (org.owner, org.teammate, org.outsider)}

    def ticket(customer, assignee, *, opened, response_due, responded=None, resolved=None, resolution_due=None):
        row = make_ticket(customer=customer, actor=customer.owner)
        Ticket.objects.filter(pk=row.pk).update(
            owner=assignee, created_at=opened, first_response_due_at=response_due, first_responded_at=responded,
            resolved_at=resolved, resolution_due_at=resolution_due or now + DAY,
            status=TicketStatus.RESOLVED if resolved else TicketStatus.IN_PROGRESS)
        return row

    first, second = service_team.first, service_team.second
    mine = customers[org.owner]
    # In time both ways; first response late; opened long ago and resolved late.
    ticket(mine, first, opened=now - 2 * DAY, response_due=now - 2 * DAY + 4 * HOUR, responded=now - 2 * DAY + HOUR,
           resolved=now - DAY, resolution_due=now - DAY + HOUR)
    ticket(mine, first, opened=now - 2 * DAY, response_due=now - 2 * DAY + HOUR, responded=now - 2 * DAY + 3 * HOUR)
    ticket(mine, second, opened=now - 20 * DAY, response_due=now - 20 * DAY + HOUR,
           responded=now - 20 * DAY + HOUR / 2, resolved=now - HOUR, resolution_due=now - 2 * HOUR)
    # The teammate's customer: no first response and its time has passed. The outsider's: not due yet.
    ticket(customers[org.teammate], second, opened=now - DAY, response_due=now - HOUR)
    ticket(customers[org.outsider], first, opened=now - DAY, response_due=now + HOUR)

    def survey(owner, csat, nps, answered):
        Survey.objects.create(customer=customers[owner], owner=owner, expires_at=now + 10 * DAY, sent_at=answered - DAY,
                              answered_at=answered, csat=csat, nps=nps)

    survey(org.owner, 5, 10, now - DAY)
    survey(org.owner, 3, 7, now - 2 * DAY)
    survey(org.owner, 1, 0, now - 30 * DAY)  # outside the period
    survey(org.teammate, 1, 2, now - DAY)
    survey(org.outsider, 4, 9, now - DAY)
    return service_team


def tickets(user):
    return [(row["assignee"], row["opened"], row["resolved"], row["response_met"], row["response_missed"],
             row["response_rate"], row["resolution_met"], row["resolution_missed"], row["resolution_rate"])
            for row in dashboard.service(scope_for(user), timezone.now())["rows"]]


def test_tickets_and_their_sla_by_assignee_per_viewer(org, served):
    assert tickets(org.owner) == [("service", 2, 1, 1, 1, 50.0, 1, 0, 100.0),
                                  ("service2", 0, 1, 0, 0, None, 0, 1, 0.0)]
    assert tickets(org.teammate) == [("service2", 1, 0, 0, 1, 0.0, 0, 0, None)]
    assert tickets(org.manager) == [("service", 2, 1, 1, 1, 50.0, 1, 0, 100.0),
                                    ("service2", 1, 1, 0, 1, 0.0, 0, 1, 0.0)]
    assert tickets(org.other_manager) == [("service", 1, 0, 0, 0, None, 0, 0, None)]
    assert tickets(org.admin) == [("service", 3, 1, 1, 1, 50.0, 1, 0, 100.0),
                                  ("service2", 1, 1, 0, 1, 0.0, 0, 1, 0.0)]
    # After-sales staff read every ticket (a company-wide role): their review is the whole service team's, each
    # assignee a row, not only what is assigned to them (a service manager who works none saw "no tickets").
    assert tickets(served.first) == tickets(served.second) == tickets(org.admin)


def satisfaction(user):
    figures = dashboard.service(scope_for(user), timezone.now())
    overall = figures["overall"]
    return ([(row["label"], row["answered"], row["csat"], row["nps"]) for row in figures["satisfaction"]],
            (overall["answered"], overall["csat"], overall["nps"]))


def test_csat_and_nps_by_account_owner_per_viewer(org, served):
    assert satisfaction(org.owner) == ([("owner", 2, 4.0, 50)], (2, 4.0, 50))
    assert satisfaction(org.teammate) == ([("teammate", 1, 1.0, -100)], (1, 1.0, -100))
    assert satisfaction(org.manager) == ([("owner", 2, 4.0, 50), ("teammate", 1, 1.0, -100)], (3, 3.0, 0))
    assert satisfaction(org.other_manager) == ([("outsider", 1, 4.0, 100)], (1, 4.0, 100))
    rows, overall = satisfaction(org.admin)
    assert rows == [("owner", 2, 4.0, 50), ("outsider", 1, 4.0, 100), ("teammate", 1, 1.0, -100)]
    assert overall[0] == 4 and overall[2] == 25
    # After-sales staff read every survey: the company's CSAT and NPS.
    assert satisfaction(served.first) == satisfaction(org.admin)
    over_time = dashboard.service(scope_for(org.manager), timezone.now())["over_time"]
    assert sum(row["answered"] for row in over_time) == 3


def service_links(figures):
    for row in figures["service"]["rows"]:
        for key, url in row["urls"].items():
            yield row[key], url
    for row in figures["service"]["satisfaction"]:
        yield row["answered"], row["url"]


def test_every_service_figure_drills_down_to_as_many_records(client, org, served):
    assert follow_drill_downs(client, org, service_links) > 40
    # A drill-down keeps its filters on the ticket list's form; a rep cannot widen the line past what they see.
    client.force_login(org.teammate)
    figures = client.get(reverse("insights:dashboard") + period_query()).context["figures"]
    url = figures["service"]["rows"][0]["urls"]["opened"]
    assert 'type="hidden" name="opened_from"' in client.get(url).content.decode()
    assert len(client.get(url.replace("line=me", "line=team")).context["page"]["rows"]) == 1


def test_after_sales_staffs_figures_drill_down_to_as_many_records(client, org, served):
    client.force_login(served.first)
    figures = client.get(reverse("insights:dashboard") + period_query()).context["figures"]
    followed = 0
    for figure, url in service_links(figures):
        assert "line=" not in url
        assert len(client.get(url).context["page"]["rows"]) == figure, url
        followed += 1
    assert followed > 10 and figures["service"]["total"]["opened"] == 4


def test_the_service_tables_export_to_their_sheets(client, org, served):
    sheets = {name: rows[1:] for name, rows in exported_sheets(client, org.manager).items()}
    assert sheets["Tickets"] == [("service", 2, 1, 1, 1, 50, 1, 0, 100), ("service2", 1, 1, 0, 1, 0, 0, 1, 0)]
    assert sheets["Satisfaction"] == [("owner", 2, 4, 50, 1, 1, 0), ("teammate", 1, 1, -100, 0, 0, 1)]


def test_the_service_section_reads_a_bounded_number_of_queries(django_assert_max_num_queries, org, served):
    scope = scope_for(org.manager)
    dashboard.lead_sources(scope)  # the team's ids, kept on the user for the request
    # tickets opened, tickets resolved, assignees' names, surveys by owner, overall, over time
    with django_assert_max_num_queries(6):
        dashboard.service(scope, timezone.now())


@pytest.mark.parametrize("days", [20, 100, 500])
def test_satisfaction_over_time_in_one_pass_equals_the_grouped_one(org, served, days):
    """The dashboard sums CSAT and NPS per week or month between known bounds in one pass; it must give what grouping
    by the truncated local time gives, surveys on either side of a local midnight that starts a week or month
    included, and the overall figure too."""
    from closeloop.service import selectors

    today = timezone.localdate()
    customer = Survey.objects.first().customer
    for back in range(0, days, 9):
        first = (today - timedelta(days=back)).replace(day=1)
        for moment in (dashboard.local_midnight(first) - timedelta(seconds=1), dashboard.local_midnight(first),
                       dashboard.local_midnight(today - timedelta(days=back)) + timedelta(hours=23, minutes=59)):
            Survey.objects.create(customer=customer, owner=org.owner, expires_at=moment + 10 * DAY,
                                  sent_at=moment - DAY, answered_at=moment, csat=1 + back % 5, nps=back % 11)
    for user in (org.admin, org.manager, org.owner):
        scope = dashboard.Scope(viewer=user, start=today - timedelta(days=days), end=today)
        surveys = dashboard.surveys_in(scope)
        for period in ("week", "month"):
            rows, overall = selectors.satisfaction_over_days(surveys, start=scope.start, end=scope.end, period=period)
            assert rows == selectors.satisfaction(user=user, by="period", period=period, surveys=surveys)
            assert overall == selectors.satisfaction_total(surveys)
            assert overall["answered"] > 3
