"""A manager's and an administrator's Today: the team's overdue work by person, their hand-offs not accepted,
and a team member's own Today one click away, for the people who oversee them only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.core.models import Role, User
from closeloop.deals.models import Opportunity
from closeloop.followup.models import Handoff, Task
from closeloop.followup.services import handoff_request
from closeloop.leads.models import Lead

pytestmark = pytest.mark.django_db


def today(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("followup:today"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def overdue_work(org, make_lead, make_deal):
    """owner: one deal follow-up and one first contact overdue; outsider (the other team): one deal overdue."""
    past = timezone.now() - timedelta(days=2)
    deal = make_deal()
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=past)
    lead = make_lead()
    Task.objects.filter(record_id=lead.pk, kind="first_contact").update(due_at=past)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=past)
    other = make_deal(owner=org.outsider)
    Opportunity.objects.filter(pk=other.pk).update(next_follow_up_at=past)
    return deal, lead, other


def team_row(page: str, person) -> str:
    start = page.index(f'href="{reverse("followup:person_today", args=[person.pk])}"')
    return page[start:page.index("</tr>", start)]


def test_a_managers_today_counts_the_teams_overdue_work_by_person(client, org, overdue_work):
    page = today(client, org.manager)
    assert 'id="today-team"' in page
    # One overdue follow-up (the deal) and one first contact (the new lead, counted once, under its task).
    row = team_row(page, org.owner)
    assert row.count(">1</a>") == 2, row
    assert "Overdue follow-ups" in page and "Overdue: First contact" in page
    # The teammate is listed with nothing overdue; the other team is not the manager's.
    assert str(org.teammate) in page and team_row(page, org.teammate).count("</a>") == 1
    assert reverse("followup:person_today", args=[org.outsider.pk]) not in page


def test_an_administrators_today_has_company_wide_figures(client, org, overdue_work):
    page = today(client, org.admin)
    assert "Company-wide" in page
    assert str(org.owner) in page and str(org.outsider) in page
    assert "<tfoot>" in page  # the company's totals
    # A director (the sales department's manager) sees both teams.
    director = User.objects.create_user("director", role=Role.SALES_MANAGER, department=org.team_a.parent,
                                        display_name="周总监")
    page = today(client, director)
    assert reverse("followup:person_today", args=[org.owner.pk]) in page
    assert reverse("followup:person_today", args=[org.outsider.pk]) in page


def test_a_team_without_anything_overdue_still_shows_the_team(client, org):
    page = today(client, org.manager)
    assert 'id="today-team"' in page and str(org.owner) in page
    assert "Nothing due today" not in page


def test_reps_have_no_team_section(client, org, overdue_work):
    assert 'id="today-team"' not in today(client, org.owner)


def test_the_teams_handoffs_not_accepted_are_listed(client, org, make_lead):
    lead = make_lead()
    handoff_request(record=lead, actor=org.owner, assignee=org.marketer, title="核实资质",
                    due_at=timezone.now() + timedelta(hours=1))
    Handoff.objects.update(due_at=timezone.now() - timedelta(hours=1))
    page = today(client, org.manager)
    assert 'id="today-team_handoffs"' in page and "核实资质" in page and "Not accepted, overdue" in page
    assert 'id="today-team_handoffs"' not in today(client, org.other_manager)


@pytest.mark.parametrize(("who", "status"), [("manager", 200), ("admin", 200), ("other_manager", 404),
                                             ("teammate", 404), ("outsider", 404), ("owner", 404)])
def test_a_persons_today_is_for_who_oversees_them(client, org, overdue_work, who, status):
    deal = overdue_work[0]
    client.force_login(getattr(org, who))
    response = client.get(reverse("followup:person_today", args=[org.owner.pk]))
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert deal.name in body and "Log follow-up" not in body
