"""The SLA of tickets: the working calendar from the settings, each ticket's clocks, and the sweep that
escalates breaches to the service manager (once per ticket and clock, however often it runs)."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core import configcache
from closeloop.core.models import Role, User
from closeloop.core.notify import notify

from .business_hours import Clock, WorkingCalendar
from .models import CalendarDay, CustomerTier, ServiceLevel, ServiceSettings, SlaPolicy, Ticket, TicketStatus

# Statuses in which the resolution clock stands still: waiting on the customer, and resolved (until reopened).
PAUSED_STATUSES = (TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED)
SWEEP_BATCH = 500


def service_settings() -> ServiceSettings:
    """The settings row, made with its defaults on first use (cached; read-only)."""
    def load():
        row, _created = ServiceSettings.objects.get_or_create(pk=1)
        return row

    return configcache.cached("service.settings", load, models=(ServiceSettings,))


def working_calendar(*, always: bool = False) -> WorkingCalendar:
    def load():
        row = service_settings()
        days = list(CalendarDay.objects.values_list("day", "working"))
        return WorkingCalendar(
            tz=ZoneInfo(settings.TIME_ZONE),
            weekdays=frozenset(int(d) - 1 for d in row.work_weekdays if d in "1234567"),
            start=row.work_start, end=row.work_end,
            holidays=frozenset(day for day, working in days if not working),
            workdays=frozenset(day for day, working in days if working))

    calendar = configcache.cached("service.calendar", load, models=(ServiceSettings, CalendarDay))
    if always:
        return WorkingCalendar(tz=calendar.tz, always=True)
    return calendar


def tier_of(customer) -> str:
    return (ServiceLevel.objects.filter(customer=customer).values_list("tier", flat=True).first()
            or CustomerTier.STANDARD)


def policy_for(*, priority: str, tier: str) -> SlaPolicy | None:
    """The policy of the priority for the tier, or the priority's policy for any tier."""
    policies = {(p.priority, p.tier): p for p in SlaPolicy.objects.filter(priority=priority)}
    return policies.get((priority, tier)) or policies.get((priority, ""))


def clock(ticket: Ticket, which: str) -> Clock | None:
    """The ticket's "response" or "resolution" clock; None when its policy set no target."""
    target = ticket.first_response_target if which == "response" else ticket.resolution_target
    if target is None:
        return None
    calendar = working_calendar(always=ticket.sla_always)
    if which == "response":
        return Clock(calendar, ticket.created_at, target)
    return Clock(calendar, ticket.created_at, target, ticket.paused_minutes, ticket.paused_since)


def apply_policy(ticket: Ticket) -> None:
    """Copy the targets of the ticket's policy onto it and set its due times (a new ticket, or a changed
    priority: the clocks still count from when it was raised)."""
    policy = policy_for(priority=ticket.priority, tier=tier_of(ticket.customer_id))
    ticket.sla_policy = policy
    ticket.first_response_target = policy.first_response_minutes if policy else None
    ticket.resolution_target = policy.resolution_minutes if policy else None
    ticket.sla_always = bool(policy and policy.always)
    set_due_times(ticket)


def set_due_times(ticket: Ticket) -> None:
    response, resolution = clock(ticket, "response"), clock(ticket, "resolution")
    ticket.first_response_due_at = response.due_at() if response else None
    ticket.resolution_due_at = resolution.due_at() if resolution else None


def pause(ticket: Ticket, now: datetime) -> None:
    if ticket.paused_since is None:
        ticket.paused_since = now
        ticket.resolution_due_at = None


def resume(ticket: Ticket, now: datetime) -> None:
    if ticket.paused_since is not None:
        running = clock(ticket, "resolution")
        if running is not None:
            ticket.paused_minutes = running.resume(now).paused_minutes
        ticket.paused_since = None
        set_due_times(ticket)


@dataclass
class Timer:
    """What the ticket page and the lists show of a clock."""

    label: str
    due_at: datetime | None
    remaining: float | None  # working minutes; negative once breached
    state: str  # "met", "running", "paused", "breached", "none"

    @property
    def text(self) -> str:
        if self.remaining is None:
            return ""
        minutes = abs(int(self.remaining))
        hours, minutes = divmod(minutes, 60)
        # Working time, in the reader's language (3小时05分 / 3h05m).
        if hours:
            return _("%(hours)dh%(minutes)02dm") % {"hours": hours, "minutes": minutes}
        return _("%(minutes)dm") % {"minutes": minutes}


def timers(ticket: Ticket, now: datetime | None = None) -> list[Timer]:
    """The ticket's two clocks as shown. The working minutes left are counted only while a clock may still be met:
    once it is breached, met or stopped past its target the state says it all, and counting would walk every
    working day since the ticket was raised (years, for an old ticket)."""
    now = now or timezone.now()
    return [_response_timer(ticket, now), _resolution_timer(ticket, now)]


def _response_timer(ticket: Ticket, now: datetime) -> Timer:
    label = _("First response")
    response = clock(ticket, "response")
    due = ticket.first_response_due_at
    if response is None:
        return Timer(label, None, None, "none")
    if ticket.first_responded_at:
        return Timer(label, due, None, "met" if ticket.first_responded_at <= due else "breached")
    if due is not None and due <= now:
        return Timer(label, due, None, "breached")
    return Timer(label, due, response.remaining(now), "running")


def _resolution_timer(ticket: Ticket, now: datetime) -> Timer:
    label = _("Resolution")
    resolution = clock(ticket, "resolution")
    due = ticket.resolution_due_at
    if resolution is None:
        return Timer(label, None, None, "none")
    stopped = ticket.paused_since or ticket.resolved_at
    if stopped is None:
        if due is not None and due <= now:
            return Timer(label, due, None, "breached")
        return Timer(label, due, resolution.remaining(now), "running")
    met = resolution.met_by(stopped)
    if ticket.resolved_at:
        return Timer(label, due, None, "met" if met else "breached")
    # Waiting on the customer: the minutes it has left when it resumes (none to show once it ran out).
    return Timer(label, due, resolution.remaining(now) if met else None, "paused")


def service_managers() -> list[User]:
    """Who hears of breaches: the configured service manager, else every active administrator."""
    manager = service_settings().service_manager
    if manager is not None and manager.is_active:
        return [manager]
    return list(User.objects.filter(role=Role.ADMIN, is_active=True))


def sla_sweep(now: datetime | None = None) -> int:
    """Escalate every open ticket whose first-response or resolution clock ran out, once per clock: mark it
    breached and tell the service manager (and the assignee). Idempotent: a marked clock is not looked at again,
    and each notice has its own key. Returns how many clocks it escalated."""
    now = now or timezone.now()
    escalated = 0
    for which, due, breached, done in (("response", "first_response_due_at", "first_response_breached_at",
                                        "first_responded_at"),
                                       ("resolution", "resolution_due_at", "resolution_breached_at", "resolved_at")):
        while True:
            with transaction.atomic():
                rows = list(Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                            .filter(**{f"{due}__lte": now, f"{breached}__isnull": True, f"{done}__isnull": True})
                            .filter(~Q(status=TicketStatus.CLOSED))
                            .select_related("customer", "owner").order_by(due, "id")[:SWEEP_BATCH])
                if not rows:
                    break
                managers = service_managers()
                # updated_at too: an API client syncing the tickets hears of the breach.
                Ticket.objects.filter(pk__in=[ticket.pk for ticket in rows]).update(**{breached: now}, updated_at=now)
                for ticket in rows:
                    _escalate(ticket, which, managers)
                escalated += len(rows)
    return escalated


def _escalate(ticket: Ticket, which: str, managers: list[User]) -> None:
    if which == "response":
        message = _("SLA breached: %(ticket)s (%(priority)s, %(customer)s) has had no first response")
    else:
        message = _("SLA breached: %(ticket)s (%(priority)s, %(customer)s) is not resolved in time")
    message = message % {"ticket": ticket.number, "priority": ticket.priority, "customer": ticket.customer.name}
    recipients = {u.pk: u for u in managers}
    if ticket.owner is not None:
        recipients.setdefault(ticket.owner_id, ticket.owner)
    for user in recipients.values():
        notify(recipient=user, kind="ticket.sla_breached", url=ticket.get_absolute_url(), message=message,
               key=f"sla:{ticket.pk}:{which}")
