"""Customers return to the public pool under the leads' pool rules: warned once, returned once, never with an open deal."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.core.errors import ValidationFailed
from closeloop.core.models import AuditEntry, Channel, Notification, SummaryItem
from closeloop.core.schedule import SWEEPS
from closeloop.deals.models import Customer
from closeloop.deals.pool import customer_claim, customer_pool_sweep_run, customer_release
from closeloop.deals.services.customers import contact_create
from closeloop.deals.services.opportunities import opportunity_move_stage
from closeloop.deals.tasks import customer_pool_sweep
from closeloop.followup.models import Activity, ActivityKind
from closeloop.followup.services import activity_log
from closeloop.leads.models import PoolEvent
from closeloop.leads.quality import PoolEventKind
from closeloop.leads.rule_services import quality_settings_update

DAY = timedelta(days=1)
# The leads' default: 15 days without the owner's follow-up.
DAYS = 15


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    def run(now=None):
        with django_capture_on_commit_callbacks(execute=True):
            return customer_pool_sweep_run(now=now)

    return run


@pytest.fixture
def idle_customer(org, make_customer):
    """A customer of org.owner, owned for `days_ago` days without any follow-up, with one contact."""

    def make(days_ago, owner=None, **data):
        customer = make_customer(owner=owner or org.owner, **data)
        contact_create(customer=customer, data={"name": "王伟", "mobile": "13812348000",
                                                         "email": "wang.wei@example.com"}, actor=customer.owner)
        Customer.objects.filter(pk=customer.pk).update(owned_since=timezone.now() - timedelta(days=days_ago))
        return Customer.objects.get(pk=customer.pk)

    return make


def _notes(user, kind):
    return Notification.objects.filter(recipient=user, kind=kind)


def test_the_sweep_warns_once_then_returns_once_however_often_and_late_it_runs(org, idle_customer, sweep):
    customer = idle_customer(days_ago=DAYS - 0.5)
    first, second = sweep(), sweep()
    assert (first.warned, first.returned) == (1, 0)
    assert (second.warned, second.returned) == (0, 0)
    assert _notes(org.owner, "customer.pool_warning").count() == 1
    assert customer.name in _notes(org.owner, "customer.pool_warning").get().message

    # Late: the worker was down for days. One return, one notice, no second warning for the same deadline.
    later = timezone.now() + 3 * DAY
    third, fourth = sweep(later), sweep(later + timedelta(hours=1))
    assert (third.warned, third.returned) == (0, 1)
    assert (fourth.warned, fourth.returned) == (0, 0)
    customer.refresh_from_db()
    assert customer.owner is None and customer.pooled_at == later and customer.owned_since is None
    assert _notes(org.owner, "customer.pool_warning").count() == 1
    assert SummaryItem.objects.filter(recipient=org.owner, kind="customer.pool_returned").count() == 1
    entry = AuditEntry.objects.for_object(customer).get(action="customer.return_to_pool")
    assert entry.channel == Channel.SYSTEM and entry.actor is None
    assert entry.changes["owner"] == [str(org.owner), None] and "15 days" in entry.note


def test_a_late_first_run_returns_without_a_pointless_warning(org, idle_customer, sweep):
    customer = idle_customer(days_ago=DAYS + 10)
    result = sweep()
    assert (result.warned, result.returned) == (0, 1)
    assert not _notes(org.owner, "customer.pool_warning").exists()
    assert Customer.objects.get(pk=customer.pk).owner is None


def test_recent_follow_up_by_the_owner_keeps_the_customer_and_a_touch_does_not(org, idle_customer, sweep):
    followed = idle_customer(days_ago=DAYS + 10)
    activity_log(actor=org.owner, record=followed, data={"kind": "call", "content": "回访"})
    touched = idle_customer(days_ago=DAYS + 10)
    Activity.objects.create(record=touched, kind=ActivityKind.TOUCH, actor=org.owner, content="again")
    # Someone else's follow-up is not the owner's: the owner's clock is the one that counts.
    by_other = idle_customer(days_ago=DAYS + 10)
    Activity.objects.create(record=by_other, kind=ActivityKind.CALL, actor=org.teammate, content="x")
    assert sweep().returned == 2
    assert Customer.objects.get(pk=followed.pk).owner == org.owner
    assert Customer.objects.get(pk=touched.pk).owner is None
    assert Customer.objects.get(pk=by_other.pk).owner is None


def test_a_follow_up_on_a_closed_deal_of_the_customer_counts(org, idle_customer, make_deal, stages, sweep):
    customer = idle_customer(days_ago=DAYS + 10)
    deal = make_deal(customer=customer)
    activity_log(actor=org.owner, record=deal, data={"kind": "visit", "content": "拜访"})
    opportunity_move_stage(opportunity=deal, stage=stages["输单"], actor=org.owner,
                                    fields={"lost_reason": "价格过高"})
    assert sweep().returned == 0
    assert Customer.objects.get(pk=customer.pk).owner == org.owner


def test_a_customer_with_an_open_deal_is_never_taken_away(org, idle_customer, make_deal, sweep):
    customer = idle_customer(days_ago=DAYS + 30)
    make_deal(customer=customer)
    result = sweep(timezone.now() + 60 * DAY)
    assert (result.warned, result.returned) == (0, 0)
    assert Customer.objects.get(pk=customer.pk).owner == org.owner


def test_a_fresh_claim_restarts_the_clock(org, idle_customer, sweep):
    customer = idle_customer(days_ago=DAYS + 10)
    sweep()
    customer_claim(customer=customer, actor=org.teammate)
    assert sweep().returned == 0
    assert Customer.objects.get(pk=customer.pk).owner == org.teammate


def test_the_previous_owner_waits_for_the_cool_down(org, idle_customer, sweep):
    customer = idle_customer(days_ago=DAYS + 10)
    sweep()
    with pytest.raises(ValidationFailed) as excinfo:
        customer_claim(customer=customer, actor=org.owner)
    assert excinfo.value.code == "reclaim_cooldown"
    PoolEvent.objects.filter(kind=PoolEventKind.RETURN).update(created_at=timezone.now() - 8 * DAY)
    assert customer_claim(customer=customer, actor=org.owner).owner == org.owner


def test_a_released_customer_waits_out_the_cool_down_before_its_releaser_claims_it_back(org, idle_customer):
    """Releasing then claiming straight back used to reset the customer's idle clock with no cool-down at all."""
    customer = idle_customer(days_ago=3)
    customer_release(customer=customer, actor=org.owner, reason="不再跟进")
    event = PoolEvent.objects.get(kind=PoolEventKind.RETURN, user_id=org.owner.pk)
    assert event.reason == "released"
    with pytest.raises(ValidationFailed) as excinfo:
        customer_claim(customer=customer, actor=org.owner)
    assert excinfo.value.code == "reclaim_cooldown"
    assert customer_claim(customer=customer, actor=org.teammate).owner == org.teammate


def test_the_pool_rules_are_the_leads_rules(org, idle_customer, sweep):
    customer = idle_customer(days_ago=5)
    quality_settings_update(data={"pool_enabled": False}, actor=org.admin)
    assert sweep(timezone.now() + 30 * DAY).returned == 0
    quality_settings_update(data={"pool_enabled": True, "return_after_days_without_follow_up": 3}, actor=org.admin)
    assert sweep().returned == 1
    assert Customer.objects.get(pk=customer.pk).owner is None


def test_the_sweep_is_a_registered_background_task(org, idle_customer):
    idle_customer(days_ago=DAYS + 1)
    assert "deals.customer_pool_sweep" in SWEEPS
    assert customer_pool_sweep.call() == {"returned": 1, "warned": 0}


def test_after_the_return_contacts_are_masked_until_someone_claims(client, org, idle_customer, sweep):
    customer = idle_customer(days_ago=DAYS + 1)
    sweep()
    # The old owner has no deal with it any more: the customer is out of their sight, except in the pool.
    client.force_login(org.owner)
    assert client.get(reverse("deals:customer_detail", args=[customer.pk])).status_code == 404
    client.force_login(org.teammate)
    assert client.get(reverse("deals:customer_detail", args=[customer.pk])).status_code == 404
    page = client.get(reverse("deals:customer_pool")).content.decode()
    assert customer.name in page and "138****8000" in page and "w***@example.com" in page
    assert "13812348000" not in page and "wang.wei@example.com" not in page
    client.post(reverse("deals:customer_claim", args=[customer.pk]))
    detail = client.get(reverse("deals:customer_detail", args=[customer.pk]))
    assert detail.status_code == 200 and "13812348000" in detail.content.decode()
    assert customer.name not in client.get(reverse("deals:customer_pool")).content.decode()


# One set of caps for both pools, from the pool settings: each pool counts its own records.


@pytest.fixture
def pooled_customer(org, make_customer):
    counter = iter(range(1000))

    def make():
        customer = make_customer(name=f"公海客户{next(counter)}号有限公司")
        customer_release(customer=customer, actor=customer.owner, reason="test")
        return Customer.objects.get(pk=customer.pk)

    return make


def test_the_per_rep_cap_counts_the_customers_a_rep_holds(org, make_customer, pooled_customer):
    quality_settings_update(data={"max_open_leads_per_rep": 2}, actor=org.admin)
    waiting = [pooled_customer(), pooled_customer()]
    make_customer(owner=org.teammate)
    customer_claim(customer=waiting[0], actor=org.teammate)
    with pytest.raises(ValidationFailed) as excinfo:
        customer_claim(customer=waiting[1], actor=org.teammate)
    assert excinfo.value.code == "claim_cap" and "2 customers" in excinfo.value.message
    assert Customer.objects.get(pk=waiting[1].pk).owner is None
    # Leads held do not count against customers, nor customers against leads: each pool counts its own.
    assert customer_claim(customer=waiting[1], actor=org.outsider).owner == org.outsider


def test_the_daily_claims_come_from_the_one_ledger(org, pooled_customer):
    quality_settings_update(data={"max_claims_per_day": 1}, actor=org.admin)
    first, second = pooled_customer(), pooled_customer()
    customer_claim(customer=first, actor=org.teammate)
    event = PoolEvent.objects.get(kind=PoolEventKind.CLAIM)
    assert (event.record, event.user) == (Customer.objects.get(pk=first.pk), org.teammate)
    with pytest.raises(ValidationFailed) as excinfo:
        customer_claim(customer=second, actor=org.teammate)
    assert excinfo.value.code == "daily_claim_cap"
    PoolEvent.objects.filter(kind=PoolEventKind.CLAIM).update(created_at=timezone.now() - 2 * DAY)
    assert customer_claim(customer=second, actor=org.teammate).owner == org.teammate


def test_the_sweep_writes_its_warning_and_return_to_the_pool_ledger(org, idle_customer, sweep):
    customer = idle_customer(days_ago=DAYS - 0.5)
    sweep()
    warning = PoolEvent.objects.get(customer=customer, kind=PoolEventKind.WARNING)
    assert warning.user == org.owner and warning.deadline is not None and warning.reason == "no_follow_up"
    sweep(timezone.now() + 3 * DAY)
    assert PoolEvent.objects.get(customer=customer, kind=PoolEventKind.RETURN).user == org.owner
    assert not Customer.objects.get(pk=customer.pk).owner


def test_a_conversion_claims_a_pooled_customer_under_the_pool_rules(org, make_customer, pooled_customer,
                                                                     qualified_lead):
    """A lead's conversion used to take its company out of the pool with no cap, no cool-down and no ledger row,
    a way around the pool's rules. It claims through the pool's own claim now."""
    from closeloop.deals.services.conversion import lead_convert
    from closeloop.leads.models import Lead, LeadStatus

    quality_settings_update(data={"max_open_leads_per_rep": 1}, actor=org.admin)
    make_customer(owner=org.teammate)
    full = pooled_customer()
    lead = qualified_lead(owner=org.teammate, company_name=full.name)
    with pytest.raises(ValidationFailed) as excinfo:
        lead_convert(lead=lead, actor=org.teammate)
    assert excinfo.value.code == "claim_cap"
    assert Customer.objects.get(pk=full.pk).owner is None
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.QUALIFIED
    result = lead_convert(lead=qualified_lead(owner=org.outsider, company_name=full.name), actor=org.outsider)
    assert result.customer.pk == full.pk and result.customer.owner == org.outsider
    event = PoolEvent.objects.get(kind=PoolEventKind.CLAIM)
    assert (event.record, event.user) == (Customer.objects.get(pk=full.pk), org.outsider)
