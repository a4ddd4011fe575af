"""Customers return to the public pool (公海) under the same rules as leads.

The pool settings are the leads app's (`QualitySettings`): whether the pool is on, after how many days
without the owner's follow-up a record returns, and the reclaim cool-down. A customer's clock is the
owner's last follow-up on it or on any of its deals (an activity logged on a deal also carries the
customer), or the time the owner got it, whichever is later.

Customers with an open deal never return. The deal is the work in progress: its owner is reminded by
the follow-up, stale and no-activity sweeps and escalated to their manager, who can transfer it. Taking
the customer away while a deal is open would split the deal and the company between two reps (撞单), the
very thing the pool exists to prevent; the manual release refuses it for the same reason.

The sweep is idempotent: a warning is a ledger row unique per (customer, kind, deadline), a return
is a conditional update on the owner read, so running twice, late or on two workers sends nothing twice.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from closeloop.core.audit import audit_record
from closeloop.core.models import Channel, User
from closeloop.core.notify import notify
from closeloop.followup.models import Activity, ActivityKind, Reminder
from closeloop.leads.pool import WARNING_AHEAD
from closeloop.leads.scoring import quality_settings

from .models import Customer, Opportunity, OpportunityStatus

# Ledger kinds of the customer pool: one warning per return deadline, and the return itself (the reclaim
# cool-down reads it).
POOL_WARNING, POOL_RETURNED = "pool_warning", "pool_returned"


@dataclass
class CustomerSweepResult:
    returned: int = 0
    warned: int = 0


def _with_follow_up_clock(customers):
    """Annotate `followed_up_at`: the owner's last follow-up on the customer or its deals, or when they got it."""
    def last_follow_up(activities):
        # A touch is the customer writing in again, not the owner following up.
        return Subquery(
            activities.filter(actor=OuterRef("owner")).exclude(kind=ActivityKind.TOUCH).order_by()
            .values("record_type").annotate(at=Max("created_at")).values("at"),
            output_field=DateTimeField(),
        )

    on_customer = last_follow_up(Activity.objects.for_record_id(Customer, OuterRef("pk")))
    on_deals = last_follow_up(Activity.objects.for_records(
        Opportunity, Opportunity.objects.filter(customer=OuterRef(OuterRef("pk"))).values("pk")))
    # Customers owned before `owned_since` existed count from their creation.
    owned_from = Coalesce("owned_since", "created_at")
    # Greatest() of a NULL is NULL on SQLite, so each follow-up falls back to the ownership time first.
    return customers.annotate(followed_up_at=Greatest(Coalesce(on_customer, owned_from), Coalesce(on_deals, owned_from),
                                                      owned_from))


def _returnable():
    return Customer.objects.filter(owner__isnull=False).exclude(
        pk__in=Opportunity.objects.filter(status=OpportunityStatus.OPEN).values("customer_id"))


def _deadlines(days: int, now):
    """(customer, deadline) for owned customers without open deals whose deadline falls within the warning window."""
    window = timedelta(days=days)
    stale = _with_follow_up_clock(_returnable()).filter(followed_up_at__lte=now + WARNING_AHEAD - window)
    for customer in stale.only("id", "name", "owner_id", "owned_since", "created_at").order_by("pk").iterator():
        yield customer, customer.followed_up_at + window


def customer_pool_sweep_run(*, now=None) -> CustomerSweepResult:
    """Warn owners a day ahead, then return overdue customers to the pool. Safe to run twice or late."""
    now = now or timezone.now()
    settings = quality_settings()
    result = CustomerSweepResult()
    if not settings.pool_enabled:
        return result
    days = settings.return_after_days_without_follow_up
    warnings: dict[int, list] = defaultdict(list)
    returns: dict[int, list] = defaultdict(list)
    for customer, deadline in list(_deadlines(days, now)):
        if deadline <= now:
            if _return_one(customer, days=days, now=now):
                returns[customer.owner_id].append(customer)
        elif _warn_once(customer, deadline=deadline, now=now):
            warnings[customer.owner_id].append((customer, deadline))
    owners = User.objects.in_bulk(set(warnings) | set(returns))
    for owner_id, items in warnings.items():
        result.warned += len(items)
        soonest = timezone.localtime(min(d for _customer, d in items)).strftime("%Y-%m-%d %H:%M")
        notify(recipient=owners[owner_id], kind="customer.pool_warning", url=reverse("deals:customer_list"),
               message=ngettext(
                   "%(n)d customer returns to the pool from %(when)s unless you follow up: %(names)s",
                   "%(n)d customers return to the pool from %(when)s unless you follow up: %(names)s",
                   len(items)) % {"n": len(items), "when": soonest, "names": "、".join(str(c) for c, _d in items[:5])})
    for owner_id, items in returns.items():
        result.returned += len(items)
        notify(recipient=owners[owner_id], kind="customer.pool_returned", url=reverse("deals:customer_pool"),
               message=ngettext("%(n)d customer returned to the pool: %(names)s",
                                "%(n)d customers returned to the pool: %(names)s", len(items))
               % {"n": len(items), "names": "、".join(str(c) for c in items[:5])})
    return result


def _warn_once(customer: Customer, *, deadline, now) -> bool:
    """Record the warning; False when this deadline was already warned (the unique row exists)."""
    try:
        with transaction.atomic():
            warning = Reminder(
                kind=POOL_WARNING, due_at=deadline, level=0, recipient_id=customer.owner_id,
                url=customer.get_absolute_url(), sent_at=now,
                message=(_("%(customer)s returns to the public pool unless you follow up.")
                         % {"customer": customer})[:300],
            )
            warning.set_record(customer)
            warning.save()
    except IntegrityError:  # warned before, by this run's predecessor or a concurrent sweep
        return False
    return True


def _return_one(customer: Customer, *, days: int, now) -> bool:
    with transaction.atomic():
        # Checked again in the same statement that moves it: a claim, a transfer, a new deal or a follow-up
        # logged since the scan wins over the sweep.
        still_due = _with_follow_up_clock(_returnable()).filter(
            pk=customer.pk, owner_id=customer.owner_id, followed_up_at__lte=now - timedelta(days=days))
        moved = Customer.objects.filter(Q(pk__in=still_due.values("pk"))).update(
            owner=None, pooled_at=now, owned_since=None, next_follow_up_at=None, updated_at=now)
        if not moved:
            return False
        previous = User.objects.get(pk=customer.owner_id)
        # Also the record the reclaim cool-down reads.
        returned = Reminder(
            kind=POOL_RETURNED, due_at=now, level=0, recipient=previous, url=reverse("deals:customer_pool"),
            sent_at=now, message=(_("%(customer)s returned to the public pool.") % {"customer": customer})[:300],
        )
        returned.set_record(customer)
        returned.save()
        audit_record(actor=None, channel=Channel.SYSTEM, action="customer.return_to_pool", target=customer,
                     changes={"owner": [str(previous), None]},
                     note=_("No follow-up by the owner for %(days)d days.") % {"days": days})
    return True
