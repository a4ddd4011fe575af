"""The breakpoint radar's "contract ending without a renewal opportunity": a signed or running contract whose end
date comes within the threshold (60 days) or passed in the last 30 days, with no open deal for its customer made
after the signature; the contract owner's; mended by the renewal deal's form, prefilled."""

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.contracts.models import Contract, ContractStatus
from closeloop.deals.models import Opportunity, OpportunityStatus
from closeloop.insights import radar
from closeloop.insights.services import radar_settings_save

pytestmark = pytest.mark.django_db

KEY = "contracts.ending_without_renewal"


def seen(user, now, owner=None):
    return {kind.key: n for kind, n in radar.counts(user, now, owner=owner)}[KEY]


@pytest.fixture
def ending(signed_contract):
    """A signed contract of the owner's ending in 30 days."""
    contract = signed_contract()
    Contract.objects.filter(pk=contract.pk).update(end_date=timezone.localdate() + timedelta(days=30))
    contract.refresh_from_db()
    return contract


def ends(contract, days):
    Contract.objects.filter(pk=contract.pk).update(end_date=timezone.localdate() + timedelta(days=days))


def test_an_ending_contract_is_its_owners_line_and_finance(org, ending, finance, director):
    now = timezone.now()
    for user, n in [(org.owner, 1), (org.manager, 1), (org.admin, 1), (finance, 1), (director, 1),
                    (org.teammate, 0), (org.outsider, 0), (org.other_manager, 0), (org.marketer, 0)]:
        assert seen(user, now) == n, user
    assert seen(org.manager, now, owner=org.owner.pk) == 1 and seen(org.manager, now, owner=org.teammate.pk) == 0
    row = radar.listing(radar.kind_of(KEY), org.manager, now, page=1)["rows"][0]
    assert row.record == ending and row.owner == org.owner
    # Broken since the day its end date came within 60 days: 30 days ago.
    assert row.since == timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=30), time.min))
    assert row.days in (29, 30)


@pytest.mark.parametrize("days, counted", [(60, True), (61, False), (0, True), (-30, True), (-31, False)])
def test_the_window_is_the_threshold_before_the_end_and_30_days_after(org, ending, days, counted):
    ends(ending, days)
    assert seen(org.owner, timezone.now()) == int(counted)


def test_an_administrator_narrows_the_window(org, ending):
    radar_settings_save(actor=org.admin, kinds=radar.kinds(), data={KEY: str(10 * 24)})
    ends(ending, 11)
    assert seen(org.owner, timezone.now()) == 0
    ends(ending, 10)
    assert seen(org.owner, timezone.now()) == 1


def test_an_open_deal_for_the_customer_after_the_signature_is_the_renewal(org, ending, make_deal):
    now = timezone.now()
    earlier = make_deal(customer=ending.customer)
    Opportunity.objects.filter(pk=earlier.pk).update(created_at=ending.signed_at - timedelta(days=1))
    assert seen(org.owner, now) == 1  # made before the signature: not a renewal
    renewal = make_deal(customer=ending.customer)
    assert seen(org.owner, now) == 0
    Opportunity.objects.filter(pk=renewal.pk).update(status=OpportunityStatus.WON, won_at=now)
    assert seen(org.owner, now) == 1  # closed: no renewal open any more
    Contract.objects.filter(pk=ending.pk).update(status=ContractStatus.COMPLETED)
    assert seen(org.owner, now) == 0  # completed: off the radar


def test_the_action_opens_the_deal_form_prefilled(client, org, ending):
    row = radar.listing(radar.kind_of(KEY), org.owner, timezone.now(), page=1)["rows"][0]
    assert row.action_url.startswith(reverse("deals:create", args=[ending.customer_id]) + "?name=")
    client.force_login(org.owner)
    form = client.get(row.action_url).context["form"]
    assert form["name"].value() == f"Renewal: {ending.title}"


def test_after_a_recount_every_viewer_counts_the_same(org, ending, finance, signed_contract):
    moved = signed_contract()  # the owner's deal, the outsider's contract: both lines see it
    Contract.objects.filter(pk=moved.pk).update(owner=org.outsider, end_date=timezone.localdate())
    now = timezone.now()
    radar.recount(now)
    for viewer in (org.admin, finance, org.manager, org.other_manager, org.owner, org.teammate, org.outsider):
        kept = {kind.key: n for kind, n in radar.summary(viewer, now)[0]}[KEY]
        assert kept == seen(viewer, now), viewer
        for owner in (org.owner, org.outsider):
            assert {k.key: n for k, n in radar.summary(viewer, now, owner=owner.pk)[0]}[KEY] == seen(
                viewer, now, owner=owner.pk), (viewer, owner)
    assert seen(org.owner, now) == 2 and seen(org.other_manager, now) == 1
