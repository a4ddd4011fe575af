"""`closeloop gen-data` makes hand-offs, quotes and first-contact tasks, so the dashboard's hand-off times, first-contact
SLA and quote figures have volume in benchmarks: at a small size, each section shows non-empty figures equal to the
records counted live, for an administrator and a team manager."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from closeloop.core.models import Role, User
from closeloop.followup.models import Handoff, HandoffStatus, Task, TaskStatus
from closeloop.insights import dashboard
from closeloop.leads.assignment import FIRST_CONTACT
from closeloop.leads.models import Lead
from closeloop.quotes.models import ApprovalRequest, ApprovalStatus, Quote, QuoteStatus


def _generate(**options):
    call_command("gen_data", processes=1, chunk=200, stdout=StringIO(), **options)


def test_gen_data_gives_the_hand_off_sla_and_quote_sections_figures_equal_to_live_counts(db):
    _generate(leads=600, customers=80, opportunities=200, activities=100, handoffs=150, quotes=250, contracts=120,
              seed=5)
    today = timezone.localdate()
    now = timezone.now()
    admin = User.objects.get(username="admin")
    manager = User.objects.filter(role=Role.SALES_MANAGER, manager__isnull=False).order_by("username").first()
    for viewer in (admin, manager):
        scope = dashboard.Scope(viewer=viewer, start=today - timedelta(days=800), end=today, period="custom")
        during = {"gte": scope.since, "lt": scope.until}

        handoffs = dashboard.handoff_times(scope)
        live = Handoff.objects.filter(created_at__gte=during["gte"], created_at__lt=during["lt"])
        if viewer != admin:
            live = live.filter(requested_by__in=scope.owners)
        assert handoffs["asked"] == live.count() > 0, viewer
        accepted = sum(row["accepted"] for row in handoffs["rows"])
        assert accepted == live.filter(status__in=(HandoffStatus.ACCEPTED, HandoffStatus.DONE)).count() > 0
        assert all(row["median"] is not None for row in handoffs["rows"] if row["accepted"])

        sla = dashboard.first_contact_sla(scope, now)["total"]
        tasks = Task.objects.filter(kind=FIRST_CONTACT, record_id__in=Lead.objects.visible_to(viewer).values("pk"),
                                    status__in=(TaskStatus.OPEN, TaskStatus.DONE), due_at__gte=during["gte"],
                                    due_at__lt=during["lt"])
        assert sla["due"] == tasks.count() > 0, viewer
        assert sla["met"] == tasks.filter(status=TaskStatus.DONE, closed_at__lte=F("due_at")).count() > 0
        assert sla["late"] == tasks.filter(status=TaskStatus.DONE, closed_at__gt=F("due_at")).count() > 0
        assert sla["missed"] == tasks.filter(status=TaskStatus.OPEN, due_at__lt=now).count() > 0

        figures = {row["key"]: row for row in dashboard.quote_to_cash(scope)["rows"]}
        quotes = Quote.objects.visible_to(viewer)
        assert figures["quotes_sent"]["count"] == quotes.filter(
            sent_at__gte=during["gte"], sent_at__lt=during["lt"]).count() > 0, viewer
        assert figures["quotes_accepted"]["count"] == quotes.filter(
            status=QuoteStatus.ACCEPTED, decided_at__gte=during["gte"], decided_at__lt=during["lt"]).count() > 0
        approved = ApprovalRequest.objects.filter(kind="quote", status=ApprovalStatus.APPROVED,
                                                  target_id__in=quotes.values("pk"), decided_at__gte=during["gte"],
                                                  decided_at__lt=during["lt"])
        assert figures["quotes_approved"]["count"] == approved.count() > 0
        assert figures["quotes_sent"]["amount"] > 0
    # A contract on a deal with an accepted quote is made from it (its current version).
    from closeloop.contracts.models import Contract

    linked = Contract.objects.exclude(quote=None).select_related("quote")
    assert linked.exists()
    assert all(c.quote.status == QuoteStatus.ACCEPTED and c.quote.opportunity_id == c.opportunity_id
               and c.quote_version_id == c.quote.current_version_id for c in linked)
    # Every quote has its version; every owned lead worked on has its first-contact task, once.
    assert not Quote.objects.filter(current_version=None).exists()
    assert Task.objects.filter(kind=FIRST_CONTACT).count() == Task.objects.filter(kind=FIRST_CONTACT).values(
        "record_id").distinct().count()


def test_gen_data_spreads_hand_offs_and_quotes_over_their_statuses(db):
    _generate(leads=200, customers=30, opportunities=60, handoffs=60, quotes=80, seed=9)
    assert {status for status in Handoff.objects.values_list("status", flat=True)} >= {
        HandoffStatus.ACCEPTED, HandoffStatus.DONE, HandoffStatus.DECLINED}
    assert len(set(Quote.objects.values_list("status", flat=True))) >= 5
    assert not Handoff.objects.filter(responded_at__lt=F("created_at")).exists()
    assert not Quote.objects.filter(decided_at__lt=F("sent_at")).exists()
