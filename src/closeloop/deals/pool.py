"""The customers' public pool (公海): the same rules, caps and ledger as the leads' pool (leads/pool.py).

The pool settings are the leads app's (`QualitySettings`): whether the pool is on, after how many days
without the owner's follow-up a record returns, how many records a rep may hold and claim a day, and the
reclaim cool-down; claims, returns and warnings go to the one pool ledger (`PoolEvent`). A customer's clock is the
owner's last follow-up on it or on any of its deals (an activity logged on a deal also carries the
customer), or the time the owner got it, whichever is later.

Customers with an open deal never return. The deal is the work in progress: its owner is reminded by
the follow-up, stale and no-activity sweeps and escalated to their manager, who can transfer it. Taking
the customer away while a deal is open would split the deal and the company between two reps (撞单), the
very thing the pool exists to prevent; the manual release refuses it for the same reason.

The sweep is idempotent: a warning is a ledger row unique per (customer, owner, deadline), a return is
a conditional update on the owner read, so running twice, late or on two workers sends nothing twice.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import DateTimeField, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from closeloop.core.audit import audit_record
from closeloop.core.errors import Conflict, Forbidden, invalid
from closeloop.core.models import Channel, User
from closeloop.core.notify import notify
from closeloop.core.sync import departures
from closeloop.followup.models import Activity, ActivityKind
from closeloop.followup.rights import Act, may
from closeloop.leads.pool import (
    WARNING_AHEAD,
    Pool,
    can_use_pool,
    claim_check,
    ledger_write,
    lock_claimer,
    warn_once,
)
from closeloop.leads.quality import PoolEventKind
from closeloop.leads.scoring import quality_settings

from .models import Customer, Opportunity, OpportunityStatus
from .services.ownership import check_new_owner


def _customers_held(user) -> int:
    return Customer.objects.filter(owner=user).count()


CUSTOMERS = Pool(
    Customer, _customers_held,
    cap_message=_lazy("You already hold %(n)d customers, the most allowed (%(max)d); release some to the pool first."),
    daily_message=_lazy("You have claimed %(max)d customers today, the daily limit. Try again tomorrow."),
    cooldown_message=_lazy("This customer returned to the pool from you; you may claim it again after %(date)s."),
)


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
        elif warn_once(record=customer, owner_id=customer.owner_id, deadline=deadline, reason="no_follow_up", now=now):
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


def _return_one(customer: Customer, *, days: int, now) -> bool:
    with transaction.atomic():
        # Checked again in the same statement that moves it: a claim, a transfer, a new deal or a follow-up
        # logged since the scan wins over the sweep.
        still_due = _with_follow_up_clock(_returnable()).filter(
            pk=customer.pk, owner_id=customer.owner_id, followed_up_at__lte=now - timedelta(days=days))
        with departures(customer):
            moved = Customer.objects.filter(Q(pk__in=still_due.values("pk"))).update(
                owner=None, pooled_at=now, owned_since=None, next_follow_up_at=None, updated_at=now)
        if not moved:
            return False
        previous = User.objects.get(pk=customer.owner_id)
        # Also the row the reclaim cool-down reads.
        ledger_write(record=customer, user_id=previous.pk, kind=PoolEventKind.RETURN, reason="no_follow_up", now=now)
        audit_record(actor=None, channel=Channel.SYSTEM, action="customer.return_to_pool", target=customer,
                     changes={"owner": [str(previous), None]},
                     note=_("No follow-up by the owner for %(days)d days.") % {"days": days})
    return True


def customer_claim(*, customer: Customer, actor: User, channel: str = Channel.WEB) -> Customer:
    """Take a customer from the public pool, under the pool's caps and cool-down (the leads' settings)."""
    # Refused as a right (403), as a lead's claim is: the pool is the sales side's, not a field someone got wrong.
    if not can_use_pool(actor):
        raise Forbidden(_("Only sales staff can claim customers from the pool."))
    check_new_owner(actor)
    with transaction.atomic():
        return claim_pooled(customer=customer, owner=actor, actor=actor, channel=channel)


def claim_pooled(*, customer: Customer, owner: User, actor: User, channel: str, note: str = "") -> Customer:
    """Give a pooled customer to `owner` under the pool's caps and cool-down, with its ledger row and audit
    entry, inside the caller's transaction. Every way out of the pool comes through here: a claim, and a lead's
    conversion that finds its company in the pool (it claims for the lead's owner, who must be within the caps
    like anyone claiming by hand)."""
    now = timezone.now()
    lock_claimer(owner)  # the claimer's row, then the customer's: the same order for every claim
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.owner_id is not None:
        raise Conflict(_("Someone claimed this customer first: %(owner)s.") % {"owner": customer.owner})
    claim_check(actor=owner, record=customer, pool=CUSTOMERS, settings=quality_settings(), now=now)
    customer.owner, customer.pooled_at, customer.owned_since = owner, None, now
    customer.save(update_fields=["owner", "pooled_at", "owned_since", "updated_at"])
    ledger_write(record=customer, user_id=owner.pk, kind=PoolEventKind.CLAIM, now=now)
    audit_record(actor=actor, channel=channel, action="customer.claim", target=customer,
                 changes={"owner": [None, str(owner)]}, note=note)
    return customer


def customer_release(*, customer: Customer, actor: User, reason: str, channel: str = Channel.WEB) -> Customer:
    """Return a customer to the public pool (the owner gives up, or their manager recycles it)."""
    if not reason.strip():
        raise invalid("reason", _("Say why the customer goes back to the pool."))
    with transaction.atomic():
        customer = Customer.objects.select_for_update(of=("self",)).select_related("owner").get(pk=customer.pk)
        if customer.owner_id is None:
            return customer
        if not may(actor, customer, Act.MANAGE):
            raise Forbidden(_("Only the owner or their manager can return a customer to the pool."))
        if Opportunity.objects.filter(customer=customer, status=OpportunityStatus.OPEN).exists():
            raise Conflict(_("This customer has open deals; transfer it to another rep instead."))
        old = customer.owner
        customer.owner = None
        customer.pooled_at = timezone.now()
        customer.owned_since = None
        with departures(customer):
            customer.save(update_fields=["owner", "pooled_at", "owned_since", "updated_at"])
        # The row the reclaim cool-down reads, as for a customer the sweep returns and a released lead.
        ledger_write(record=customer, user_id=old.pk, kind=PoolEventKind.RETURN, reason="released",
                     now=customer.pooled_at)
        audit_record(actor=actor, channel=channel, action="customer.release", target=customer,
                     changes={"owner": [str(old), None]}, note=reason)
    return customer
