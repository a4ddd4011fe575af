"""`closeloop gen-data --deliveries --tickets`: rows the services could have written, seen by whom they should be."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from closeloop.contracts.models import Contract
from closeloop.core.models import Role, User
from closeloop.deals.models import Customer
from closeloop.followup.models import Activity
from closeloop.service import sla
from closeloop.service.models import OPEN_TICKET_STATUSES, Delivery, Milestone, Survey, Ticket

CLOSED = ("resolved", "closed")


def test_it_generates_what_the_services_would_have_written(db):
    # One load for every check: gen-data sets up the demo company first, which takes a while.
    call_command("gen_data", processes=1, reps=6, customers=80, opportunities=120, contracts=90, deliveries=40,
                 tickets=600, service_staff=4, stdout=StringIO())
    check_tickets_spread_over_customers_states_and_the_service_team()
    check_clocks_as_the_services_and_the_sweep_set_them()
    check_replies_and_surveys()
    check_deliveries_of_part_of_the_signed_contracts()
    check_who_sees_the_tickets()


def check_tickets_spread_over_customers_states_and_the_service_team():
    tickets = list(Ticket.objects.all())
    assert len(tickets) == 600
    open_share = sum(t.status in OPEN_TICKET_STATUSES for t in tickets) / len(tickets)
    assert 0.12 < open_share < 0.3
    assert {t.status for t in tickets} == {"new", "in_progress", "waiting", "resolved", "closed"}
    assert {t.priority for t in tickets} == {"P1", "P2", "P3", "P4"}
    assert len({t.category for t in tickets}) == 5
    assert len({t.customer_id for t in tickets}) > 50
    team = set(User.objects.filter(role=Role.SERVICE).values_list("pk", flat=True))
    assert len(team) >= 4
    assert {t.owner_id for t in tickets} - {None} <= team
    assert all(t.owner_id is not None for t in tickets if t.status != "new")
    assert len({t.number for t in tickets}) == 600


def check_clocks_as_the_services_and_the_sweep_set_them():
    now = timezone.now()
    for ticket in Ticket.objects.all():
        assert ticket.sla_policy.priority == ticket.priority
        assert ticket.first_response_due_at == sla.clock(ticket, "response").due_at()
        if ticket.status in ("new", "in_progress"):
            # Running: due where the clock says, escalated once it ran out (the last minutes' wait for the sweep).
            assert ticket.resolution_due_at == sla.clock(ticket, "resolution").due_at()
            assert ticket.paused_since is None
            if ticket.resolution_due_at <= now - timedelta(minutes=5):
                assert ticket.resolution_breached_at is not None
        else:
            assert ticket.paused_since is not None and ticket.resolution_due_at is None
        if ticket.status == "new":
            assert ticket.first_responded_at is None
            if ticket.first_response_due_at <= now - timedelta(minutes=5):
                assert ticket.first_response_breached_at is not None
        else:
            assert ticket.created_at < ticket.first_responded_at < now
            assert (ticket.first_response_breached_at is not None) == (
                ticket.first_responded_at > ticket.first_response_due_at + timedelta(minutes=3))
        assert (ticket.resolved_at is not None) == (ticket.status in CLOSED)
        assert (ticket.closed_at is not None) == (ticket.status == "closed")
    # Nothing older than a sweep's interval is left for the sweep to escalate.
    assert sla.sla_sweep(now - timedelta(minutes=5)) == 0


def check_replies_and_surveys():
    for ticket in Ticket.objects.exclude(status="new"):
        first = ticket.activities.order_by("created_at").first()
        assert first.kind == "email" and first.created_at == ticket.first_responded_at
        assert first.actor_id == ticket.owner_id
    assert not Activity.objects.filter(ticket__status="new").exists()
    resolved = Ticket.objects.filter(status__in=CLOSED)
    assert Survey.objects.filter(ticket__in=resolved).count() == resolved.count()
    assert not Survey.objects.filter(ticket__status__in=OPEN_TICKET_STATUSES).exists()
    answered = Survey.objects.filter(answered_at__isnull=False)
    assert 0.2 < answered.count() / Survey.objects.count() < 0.7
    for survey in Survey.objects.select_related("ticket", "delivery", "customer"):
        assert survey.customer_id == (survey.ticket or survey.delivery).customer_id
        assert survey.owner_id == survey.customer.owner_id
        assert 1 <= (survey.csat or 1) <= 5 and 0 <= (survey.nps or 0) <= 10
    assert len(set(Survey.objects.values_list("key", flat=True))) == Survey.objects.count()


def check_deliveries_of_part_of_the_signed_contracts():
    deliveries = list(Delivery.objects.select_related("contract"))
    assert len(deliveries) == 40
    assert {d.status for d in deliveries} == {"accepted", "in_progress"}
    team = set(User.objects.filter(role=Role.SERVICE).values_list("pk", flat=True))
    for delivery in deliveries:
        assert delivery.contract.status in ("signed", "active", "completed")
        assert delivery.customer_id == delivery.contract.customer_id
        assert delivery.owner_id in team
        milestones = list(delivery.milestones.all())
        assert 2 <= len(milestones) <= 4
        if delivery.status == "accepted":
            assert delivery.contract.delivered_at == delivery.accepted_at
            assert all(m.done_date for m in milestones)
            assert Survey.objects.filter(delivery=delivery).exists()
        else:
            assert delivery.contract.delivered_at is None
    assert Milestone.objects.filter(done_date__isnull=True, planned_date__lt=timezone.localdate()).exists()
    assert len({d.public_key for d in deliveries}) == 40
    assert Contract.objects.filter(delivered_at__isnull=False).count() == sum(d.status == "accepted" for d in deliveries)


def check_who_sees_the_tickets():
    """The service team sees every ticket, a rep their customers' (their manager too), an outsider none."""
    service = User.objects.filter(role=Role.SERVICE).first()
    assert Ticket.objects.visible_to(service).count() == 600
    rep = (User.objects.filter(role=Role.SALES_REP, owned_customers__tickets__isnull=False).distinct().first())
    mine = Ticket.objects.visible_to(rep)
    assert mine.exists()
    assert set(mine.values_list("customer", flat=True)) <= set(Customer.objects.visible_to(rep).values_list("pk", flat=True))
    assert rep.pk in set(mine.values_list("customer__owner", flat=True))
    manager = rep.manager
    owned = set(mine.filter(customer__owner=rep).values_list("pk", flat=True))
    assert owned and owned <= set(Ticket.objects.visible_to(manager).values_list("pk", flat=True))
    outsider = User.objects.create_user("outsider", "", "pw", role=Role.MARKETING)
    assert not Ticket.objects.visible_to(outsider).exists()
    assert not Delivery.objects.visible_to(outsider).exists()

    client = Client()
    client.force_login(service)
    page = client.get("/service/tickets/?status=open")
    assert page.status_code == 200
    first_open = Ticket.objects.filter(status__in=OPEN_TICKET_STATUSES).order_by("-created_at", "-id").first()
    assert first_open.number in page.content.decode()
    client.force_login(rep)
    page = client.get("/service/tickets/?status=all").content.decode()
    assert mine.order_by("-created_at", "-id").first().number in page
    other = Ticket.objects.exclude(pk__in=mine.values("pk")).order_by("-created_at", "-id").first()
    assert other.number not in page
