"""The breakpoint radar's "hand-off not accepted in time": counted under the assignee, seen by the requester, the
assignee's line and whoever sees the record; from its due time plus the threshold; mended by answering it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.followup.services import handoff_request, handoff_respond
from closeloop.insights import radar
from closeloop.insights.services import radar_settings_save

pytestmark = pytest.mark.django_db

KEY = "followup.handoff_not_accepted"


def seen(user, now, owner=None):
    return {kind.key: n for kind, n in radar.counts(user, now, owner=owner)}[KEY]


@pytest.fixture
def handoff(org, make_deal):
    """The outsider (team B) asks the teammate (team A) to assess the outsider's deal."""
    deal = make_deal(owner=org.outsider)
    return handoff_request(record=deal, assignee=org.teammate, title="技术评估", actor=org.outsider,
                           due_at=timezone.now() + timedelta(days=1))


def test_a_pending_hand_off_past_its_due_time_is_seen_by_its_people_and_their_lines(org, handoff):
    assert seen(org.admin, handoff.due_at - timedelta(minutes=1)) == 0  # not due yet
    later = handoff.due_at + timedelta(minutes=1)
    for user, n in [(org.teammate, 1), (org.manager, 1), (org.outsider, 1), (org.other_manager, 1), (org.admin, 1),
                    (org.owner, 0), (org.marketer, 0)]:
        assert seen(user, later) == n, user
    row = radar.listing(radar.kind_of(KEY), org.manager, later, page=1)["rows"][0]
    assert row.record == handoff and row.owner == org.teammate
    assert row.action_url == handoff.record.get_absolute_url() + f"#handoff-{handoff.pk}"
    assert seen(org.manager, later, owner=org.teammate.pk) == 1 and seen(org.manager, later, owner=org.owner.pk) == 0
    handoff_respond(handoff=handoff, actor=org.teammate, accept=True)
    assert seen(org.admin, later) == 0  # answered: mended


def test_the_threshold_counts_from_the_due_time(org, handoff):
    radar_settings_save(actor=org.admin, kinds=radar.kinds(), data={KEY: "2"})
    assert seen(org.admin, handoff.due_at + timedelta(hours=2)) == 0
    assert seen(org.admin, handoff.due_at + timedelta(hours=2, seconds=1)) == 1


def test_the_recount_keeps_the_assignees_counts_and_every_viewer_sees_the_same(org, handoff, make_deal):
    # A second hand-off, inside team A: the owner asks the teammate about the owner's own deal.
    handoff_request(record=make_deal(owner=org.owner), assignee=org.teammate, title="方案", actor=org.owner,
                    due_at=timezone.now() + timedelta(hours=1))
    later = handoff.due_at + timedelta(hours=1)
    radar.recount(later)
    for viewer in (org.admin, org.manager, org.other_manager, org.owner, org.teammate, org.outsider, org.marketer):
        kept = {kind.key: n for kind, n in radar.summary(viewer, later)[0]}[KEY]
        assert kept == seen(viewer, later), viewer
        for owner in (org.teammate, org.outsider):
            assert {k.key: n for k, n in radar.summary(viewer, later, owner=owner.pk)[0]}[KEY] == seen(
                viewer, later, owner=owner.pk), (viewer, owner)
    assert seen(org.manager, later) == 2 and seen(org.owner, later) == 1 and seen(org.other_manager, later) == 1
    trend = radar.trend(org.manager, later)
    assert dict((kind.key, weeks[-1]) for kind, weeks in trend["rows"])[KEY] == 2


def test_the_page_and_the_api_list_it_with_its_action(client, org, handoff, api_auth):
    from closeloop.followup.models import Handoff

    Handoff.objects.filter(pk=handoff.pk).update(due_at=timezone.now() - timedelta(hours=3))
    client.force_login(org.manager)
    body = client.get(reverse("insights:radar") + f"?kind={KEY}").content.decode()
    assert "技术评估" in body and f"#handoff-{handoff.pk}" in body and "Answer or chase the hand-off" in body
    data = client.get(f"/api/insights/radar?kind={KEY}", **api_auth(org.teammate)).json()
    assert [item["record"] for item in data["items"]] == ["技术评估"]
    assert data["items"][0]["owner_id"] == org.teammate.pk and data["items"][0]["hours_broken"] == 3
