"""The service's breaks on the breakpoint radar: an open ticket past its SLA (the assignee's, the service manager's
when nobody is assigned) and a survey nobody answered (the account owner's, mended by a call), seen through each
viewer's visibility, counted per owner by the recount as live, on their partial indexes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from closeloop.followup.services import activity_log
from closeloop.insights import radar
from closeloop.service import tickets
from closeloop.service.models import ServiceSettings, Survey, Ticket, TicketStatus

pytestmark = pytest.mark.django_db
S = TicketStatus
PAST_SLA, UNANSWERED = "service.ticket_past_sla", "service.survey_unanswered"
NO_DELIVERY = "service.contract_without_delivery"


def count(user, key, now, owner=None):
    return dict((kind.key, n) for kind, n in radar.counts(user, now, owner=owner))[key]


def kept(user, key, now, owner=None):
    return dict((kind.key, n) for kind, n in radar.summary(user, now, owner=owner)[0])[key]


def test_service_adds_its_kinds_after_the_contracts():
    keys = [kind.key for kind in radar.kinds()]
    assert keys.index(PAST_SLA) > keys.index("contracts.instalment_overdue") and UNANSWERED in keys


def test_a_signed_contract_nobody_delivers_is_its_owners_and_managers_break(org, delivered_contract, service_staff):
    from closeloop.service import deliveries

    contract = delivered_contract()
    now = timezone.now()
    assert count(org.owner, NO_DELIVERY, now) == 0  # signed today: a week to start the delivery
    later = now + timedelta(days=8)
    for user, seen in [(org.owner, 1), (org.manager, 1), (org.admin, 1), (org.teammate, 0), (org.outsider, 0)]:
        assert count(user, NO_DELIVERY, later) == seen, user
    row = radar.listing(radar.kind_of(NO_DELIVERY), org.manager, later, page=1)["rows"][0]
    assert row.record == contract and row.owner == org.owner
    deliveries.delivery_create(contract=contract, actor=org.owner, owner=service_staff)
    assert count(org.owner, NO_DELIVERY, later) == 0


def test_a_ticket_past_its_first_response_then_its_resolution(org, make_ticket, service_team, finance):
    ticket = make_ticket(priority="P1")  # 7×24: respond within 30 minutes
    kind = radar.kind_of(PAST_SLA)
    late = ticket.first_response_due_at + timedelta(minutes=5)
    assert count(org.admin, PAST_SLA, ticket.first_response_due_at - timedelta(minutes=1)) == 0
    for user, seen in [(ticket.owner, 1), (service_team.second, 1), (org.owner, 1), (org.manager, 1), (org.admin, 1),
                       (org.teammate, 0), (org.outsider, 0), (org.other_manager, 0), (finance, 0)]:
        assert count(user, PAST_SLA, late) == seen, user
    row = radar.listing(kind, org.owner, late, page=1)["rows"][0]
    assert row.record == ticket and row.owner == ticket.owner and row.since == ticket.first_response_due_at
    assert row.action_url == ticket.get_absolute_url()
    tickets.ticket_reply(ticket=ticket, actor=ticket.owner, body="正在处理")
    assert count(org.owner, PAST_SLA, late) == 0  # answered in time, resolution still running
    ticket.refresh_from_db()
    after = ticket.resolution_due_at + timedelta(minutes=1)
    assert count(org.owner, PAST_SLA, after) == 1
    assert radar.listing(kind, org.owner, after, page=1)["rows"][0].since == ticket.resolution_due_at
    tickets.ticket_move(ticket=ticket, status=S.WAITING, actor=ticket.owner)
    assert count(org.owner, PAST_SLA, after) == 0  # waiting on the customer: the clock stands still
    tickets.ticket_move(ticket=ticket, status=S.RESOLVED, actor=ticket.owner)
    assert count(org.admin, PAST_SLA, after + timedelta(days=30)) == 0


def test_an_unassigned_ticket_past_its_sla_is_the_service_managers(org, make_ticket, service_team):
    ticket = make_ticket(priority="P1")
    Ticket.objects.filter(pk=ticket.pk).update(owner=None)
    manager = service_team.manager
    late = ticket.first_response_due_at + timedelta(hours=1)
    kind = radar.kind_of(PAST_SLA)
    assert count(manager, PAST_SLA, late, owner=manager.pk) == 1
    assert count(org.admin, PAST_SLA, late, owner=service_team.first.pk) == 0
    assert radar.listing(kind, org.admin, late, page=1, owner=manager.pk)["rows"][0].owner == manager
    radar.recount(late)
    for viewer in (org.admin, manager, service_team.first, org.owner, org.manager, org.outsider):
        assert kept(viewer, PAST_SLA, late) == count(viewer, PAST_SLA, late), viewer
        for owner in (manager, service_team.first, org.owner):
            assert kept(viewer, PAST_SLA, late, owner.pk) == count(viewer, PAST_SLA, late, owner.pk), (viewer, owner)
    assert kept(manager, PAST_SLA, late, manager.pk) == 1 and kept(org.owner, PAST_SLA, late) == 1
    row = ServiceSettings.objects.get(pk=1)
    row.service_manager = None
    row.save()  # through save: the settings cache hears of it
    assert radar.listing(kind, org.admin, late, page=1)["rows"][0].owner is None


def test_a_survey_nobody_answered_waits_for_a_call(org, make_customer, make_ticket, service_team, finance):
    from closeloop.deals.services.customers import contact_create

    customer = make_customer(owner=org.owner)
    contact = contact_create(customer=customer, data={"name": "周敏", "email": "zhou@example.com"}, actor=org.owner)
    ticket = make_ticket(customer=customer, contact=contact)
    tickets.ticket_move(ticket=ticket, status=S.RESOLVED, actor=ticket.owner)
    survey = Survey.objects.get(ticket=ticket)
    kind = radar.kind_of(UNANSWERED)
    assert count(org.admin, UNANSWERED, survey.sent_at + timedelta(days=6)) == 0
    week = survey.sent_at + timedelta(days=8)
    for user, seen in [(org.owner, 1), (org.manager, 1), (service_team.first, 1), (org.admin, 1),
                       (org.teammate, 0), (org.outsider, 0), (finance, 0)]:
        assert count(user, UNANSWERED, week) == seen, user
    row = radar.listing(kind, org.manager, week, page=1)["rows"][0]
    assert row.record == survey and row.owner == org.owner and row.days == 8
    assert row.action_url == ticket.get_absolute_url() + "#survey"
    radar.recount(week)
    assert kept(org.owner, UNANSWERED, week) == 1 and kept(service_team.first, UNANSWERED, week) == 1
    # An expired survey counts before the wait is over (an administrator set a longer one).
    Survey.objects.filter(pk=survey.pk).update(expires_at=survey.sent_at + timedelta(days=2))
    assert count(org.owner, UNANSWERED, survey.sent_at + timedelta(days=3)) == 1
    # A call mends it: the ticket's people log it on the ticket, the account owner on the customer.
    activity_log(actor=ticket.owner, record=ticket, data={"kind": "call", "content": "回访：问题已解决，客户满意"})
    assert count(org.owner, UNANSWERED, week) == 0
    Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=survey.sent_at - timedelta(minutes=1))
    assert count(org.owner, UNANSWERED, week) == 1
    activity_log(actor=org.owner, record=customer, data={"kind": "call", "content": "回访"})
    assert count(org.owner, UNANSWERED, week) == 0


def test_the_kinds_read_their_partial_indexes(org):
    now = timezone.now()
    past_sla = str(radar.kind_of(PAST_SLA).rows(radar.everything, now, timedelta(0)).order_by().explain())
    unanswered = str(radar.kind_of(UNANSWERED).rows(radar.everything, now, timedelta(days=7)).order_by().explain())
    if connection.vendor == "sqlite":  # PostgreSQL plans an empty table by its statistics
        assert "ticket_radar_response_idx" in past_sla and "ticket_radar_resolution_idx" in past_sla, past_sla
        assert "survey_unanswered_idx" in unanswered, unanswered
    assert past_sla and unanswered


def test_resending_a_survey_opens_it_again_and_mends_the_break(client, org, make_customer, make_ticket, service_team):
    from django.urls import reverse

    from closeloop.core.models import AuditEntry
    from closeloop.deals.services.customers import contact_create

    customer = make_customer(owner=org.owner)
    contact = contact_create(customer=customer, data={"name": "周敏", "email": "zhou@example.com"}, actor=org.owner)
    ticket = make_ticket(customer=customer, contact=contact)
    tickets.ticket_move(ticket=ticket, status=S.RESOLVED, actor=ticket.owner)
    survey = Survey.objects.get(ticket=ticket)
    Survey.objects.filter(pk=survey.pk).update(sent_at=survey.sent_at - timedelta(days=20),
                                               expires_at=survey.sent_at - timedelta(days=6))
    now = timezone.now()
    assert count(org.owner, UNANSWERED, now) == 1
    url = reverse("service:survey_resend", args=[survey.pk])
    for user, status in [(org.outsider, 404), (org.teammate, 404)]:
        client.force_login(user)
        assert client.post(url).status_code == status, user
    client.force_login(org.owner)
    assert f'action="{url}"' in client.get(ticket.get_absolute_url()).content.decode()
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url() + "#survey"
    survey.refresh_from_db()
    assert survey.expires_at > now + timedelta(days=13) and not survey.expired
    assert count(org.owner, UNANSWERED, timezone.now()) == 0
    assert AuditEntry.objects.filter(action="survey.resend", actor=org.owner).exists()
    Survey.objects.filter(pk=survey.pk).update(answered_at=now, csat=5, nps=10)
    client.post(url)
    survey.refresh_from_db()
    assert survey.csat == 5  # answered: nothing to resend


WON_NO_DELIVERY, MILESTONE_LATE = "service.won_without_delivery", "service.milestone_overdue"


def set_threshold(admin, key, *, days):
    from closeloop.insights.services import radar_settings_save

    radar_settings_save(actor=admin, kinds=radar.kinds(), data={key: str(days * 24)})


def test_a_won_deal_nothing_was_signed_for_is_its_owners_break_until_its_contract_is_signed(
        org, make_deal, service_staff):
    from closeloop.contracts import plans
    from closeloop.contracts import services as contract_services
    from closeloop.contracts.models import SignedVia
    from closeloop.deals.models import Opportunity, OpportunityStatus
    from closeloop.service import deliveries

    now = timezone.now()
    won = make_deal(owner=org.owner)
    theirs = make_deal(owner=org.outsider)  # another team's won deal: not the manager's to see
    Opportunity.objects.filter(pk__in=[won.pk, theirs.pk]).update(status=OpportunityStatus.WON,
                                                                  won_at=now - timedelta(days=20))
    fresh = make_deal(owner=org.owner)
    Opportunity.objects.filter(pk=fresh.pk).update(status=OpportunityStatus.WON, won_at=now - timedelta(days=3))
    kind = radar.kind_of(WON_NO_DELIVERY)
    for user, seen in [(org.owner, 1), (org.manager, 1), (org.teammate, 0), (org.outsider, 1),
                       (org.other_manager, 1), (service_staff, 0), (org.admin, 2)]:
        assert count(user, WON_NO_DELIVERY, now) == seen, user
    row = radar.listing(kind, org.manager, now, page=1)["rows"][0]
    assert row.record == won and row.owner == org.owner and row.days == 20
    assert row.action_url == reverse("contracts:create") + f"?deal={won.pk}"
    radar.recount(now)
    for viewer in (org.admin, org.owner, org.manager, org.outsider, org.teammate):
        assert kept(viewer, WON_NO_DELIVERY, now) == count(viewer, WON_NO_DELIVERY, now), viewer
    # A draft contract does not mend it: the action opens that contract to sign rather than making another.
    contract = contract_services.contract_create_from_deal(opportunity=won, data={"amount": "30000"}, actor=org.owner)
    assert count(org.owner, WON_NO_DELIVERY, now) == 1
    assert radar.listing(kind, org.owner, now, page=1)["rows"][0].action_url == reverse(
        "contracts:detail", args=[contract.pk])
    plans.payment_plan_save(contract=contract, actor=org.owner, instalments=[
        {"title": "全款", "condition": "on_signing", "days_after": "7", "percentage": "100"}])
    contract_services.contract_submit(contract=contract, actor=org.owner)
    contract_services.contract_sign(contract=contract, actor=org.owner, sign_date=None, via=SignedVia.SCAN)
    # Signed: now the contract's break (a week to start its delivery), not the deal's as well.
    assert count(org.owner, WON_NO_DELIVERY, now) == 0 and count(org.admin, WON_NO_DELIVERY, now) == 1
    deliveries.delivery_create(contract=contract, actor=org.owner, owner=service_staff)
    assert count(org.owner, WON_NO_DELIVERY, now) == 0


def test_a_won_deal_whose_contract_was_completed_without_a_delivery_is_neither_on_today_nor_on_the_radar(
        org, make_deal):
    """Today and the radar agree: a completed contract's deal is done (delivered outside the service app or before
    it), while a won deal with nothing signed, or a signed contract, is on both."""
    from closeloop.contracts import services as contract_services
    from closeloop.contracts.models import Contract, ContractStatus
    from closeloop.deals.models import Opportunity, OpportunityStatus
    from closeloop.service.today import awaiting_delivery

    now = timezone.now()
    won = make_deal(owner=org.owner)
    Opportunity.objects.filter(pk=won.pk).update(status=OpportunityStatus.WON, won_at=now - timedelta(days=20))
    won.refresh_from_db()
    assert [item.record for item in awaiting_delivery(org.owner, now)] == [won]
    assert count(org.owner, WON_NO_DELIVERY, now) == 1
    contract = contract_services.contract_create_from_deal(opportunity=won, data={"amount": "30000"}, actor=org.owner)
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.SIGNED, signed_at=now - timedelta(days=10))
    assert [item.record for item in awaiting_delivery(org.owner, now)] == [Contract.objects.get(pk=contract.pk)]
    assert count(org.owner, "service.contract_without_delivery", now) == 1
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.COMPLETED)
    assert awaiting_delivery(org.owner, now) == []
    assert count(org.owner, WON_NO_DELIVERY, now) == 0
    assert count(org.owner, "service.contract_without_delivery", now) == 0


def test_a_milestone_past_its_date_is_its_owners_and_the_delivery_owners_break(org, make_delivery, service_team):
    from closeloop.service import deliveries

    delivery = make_delivery()  # run by service_team.first; milestones planned 10 and 3 days ago, and in 7
    late = list(delivery.milestones.order_by("planned_date"))
    deliveries.milestone_update(milestone=late[0], data={"done_date": timezone.localdate()},
                                actor=delivery.owner)
    deliveries.milestone_update(milestone=late[1], data={"owner": service_team.second}, actor=delivery.owner)
    now = timezone.now()
    kind = radar.kind_of(MILESTONE_LATE)
    for user, seen in [(service_team.second, 1), (delivery.owner, 1), (org.owner, 1), (org.manager, 1),
                       (org.admin, 1), (org.teammate, 0), (org.outsider, 0), (org.other_manager, 0)]:
        assert count(user, MILESTONE_LATE, now) == seen, user
    row = radar.listing(kind, org.manager, now, page=1)["rows"][0]
    assert row.record == late[1] and row.owner == service_team.second and row.days == 2
    assert row.action_url == delivery.get_absolute_url() + "#milestones"
    assert str(row.record) == f"{delivery.title} · 系统部署"
    assert count(org.admin, MILESTONE_LATE, now, owner=service_team.second.pk) == 1
    assert count(org.admin, MILESTONE_LATE, now, owner=delivery.owner.pk) == 0
    radar.recount(now)
    for viewer in (org.admin, org.owner, org.manager, org.outsider, service_team.second, delivery.owner):
        assert kept(viewer, MILESTONE_LATE, now) == count(viewer, MILESTONE_LATE, now), viewer
    # Two days before, the milestone planned 3 days ago was not yet late; an administrator's longer wait delays it.
    assert count(org.admin, MILESTONE_LATE, now - timedelta(days=3)) == 0
    set_threshold(org.admin, MILESTONE_LATE, days=5)
    assert count(org.admin, MILESTONE_LATE, now) == 0
    assert count(org.admin, MILESTONE_LATE, now + timedelta(days=3)) == 1
    set_threshold(org.admin, MILESTONE_LATE, days=0)
    deliveries.milestone_update(milestone=late[1], data={"done_date": timezone.localdate()},
                                actor=service_team.second)
    assert count(org.admin, MILESTONE_LATE, now) == 0
