"""The breakpoint radar's counts per owner (`radar.recount`, the worker's sweep): after a recount every viewer's
counts, and every owner filter's, equal the live counts through the apps' visibility; the page says when."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.contracts.models import Contract, Instalment
from closeloop.core.hooks import collect
from closeloop.deals.models import Opportunity
from closeloop.followup.models import ParticipantRole
from closeloop.followup.services import participant_add
from closeloop.insights import radar
from closeloop.insights.models import RadarCount, RadarWeek, RadarWeekKept
from closeloop.leads.models import Lead, LeadStatus
from closeloop.service.models import Survey, Ticket

pytestmark = pytest.mark.django_db


def by_key(counts):
    return {kind.key: n for kind, n in counts}


@pytest.fixture
def broken(org, make_lead, make_deal, make_contract, signed_contract, accepted_quote, finance, director, presales,
           make_ticket, make_customer, service_staff):
    """Records broken in every way the radar knows, seen through each path of the visibility rules: owner and
    manager, a collaborator from the other team, a marketer's channel, finance company-wide, a contract owned
    outside the team that sees its deal."""
    mine = make_lead(owner=org.owner)
    theirs = make_lead(owner=org.outsider)
    participant_add(record=theirs, user=org.teammate, role=ParticipantRole.SALES, actor=org.admin)
    make_lead(owner=org.outsider, source="展会")  # the marketer's channel
    nobody = make_lead(owner=False)
    Lead.objects.filter(pk=nobody.pk).update(owner=None, in_pool=False, pooled_at=None, status=LeadStatus.NEW)
    Lead.objects.filter(pk=mine.pk).update(next_follow_up_at=None)
    other_deal = make_deal(owner=org.outsider)
    Opportunity.objects.filter(pk=other_deal.pk).update(next_follow_up_at=None)
    participant_add(record=other_deal, user=presales, role=ParticipantRole.PRESALES, actor=org.admin)
    make_contract(plan=False)
    accepted_quote()
    moved = signed_contract()
    # A contract its deal's owner no longer owns: whoever sees the deal still sees it (the second owner path).
    Contract.objects.filter(pk=moved.pk).update(owner=org.outsider)
    Instalment.objects.filter(contract=moved).update(owner=org.outsider)
    # Service: tickets past their SLA assigned to service staff (the teammate's customer's, the outsider's customer's,
    # one the teammate collaborates on), and unanswered surveys of those customers (one sent when the owner held
    # the account, which the outsider holds now): seen by the customer's owner's line, owned by service.
    from closeloop.service.surveys import survey_for_ticket

    tickets = [make_ticket(customer=make_customer(owner=owner), actor=org.admin)
               for owner in (org.teammate, org.outsider, org.outsider)]
    participant_add(record=tickets[2], user=org.teammate, role=ParticipantRole.SALES, actor=org.admin)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(owner=service_staff)
    for ticket in tickets[:2]:
        survey_for_ticket(ticket)
    Survey.objects.filter(ticket=tickets[1]).update(owner=org.owner)
    return [org.admin, director, org.manager, org.other_manager, org.owner, org.teammate, org.outsider, org.marketer,
            finance, presales, service_staff]


def test_after_a_recount_every_viewer_counts_what_they_see_live(org, broken, service_staff):
    later = timezone.now() + timedelta(days=9)  # the first instalment (due in 7 days) overdue, every wait over
    radar.recount(later)
    assert RadarCount.objects.exists()
    for viewer in broken:
        kept, counted_at = radar.summary(viewer, later)
        assert counted_at == later
        assert by_key(kept) == by_key(radar.counts(viewer, later)), viewer
        for owner in (org.owner, org.teammate, org.outsider, org.manager):
            assert by_key(radar.summary(viewer, later, owner=owner.pk)[0]) == by_key(
                radar.counts(viewer, later, owner=owner.pk)), (viewer, owner)
    # What the paths beyond ownership bring, so the equality above is not only about owners.
    assert by_key(radar.summary(org.teammate, later)[0])["leads.first_contact_overdue"] == 1  # collaborating
    assert by_key(radar.summary(org.marketer, later)[0])["leads.first_contact_overdue"] == 1  # its channel
    assert by_key(radar.summary(broken[-2], later)[0])["deals.no_next_step"] == 1  # pre-sales on the deal
    # The service kinds: by the customer's owner's line (kept per both owners), a collaborator's live part.
    assert by_key(radar.summary(org.teammate, later)[0])["service.ticket_past_sla"] == 2  # own customer's, collaborating
    assert by_key(radar.summary(org.manager, later)[0])["service.ticket_past_sla"] == 1  # not the collaboration
    assert by_key(radar.summary(org.other_manager, later)[0])["service.ticket_past_sla"] == 2
    assert by_key(radar.summary(org.teammate, later)[0])["service.survey_unanswered"] == 1
    assert by_key(radar.summary(org.owner, later)[0])["service.survey_unanswered"] == 1  # sent while they held it
    assert by_key(radar.summary(org.outsider, later)[0])["service.survey_unanswered"] == 1
    assert by_key(radar.summary(service_staff, later)[0])["service.ticket_past_sla"] == 3
    manager = by_key(radar.summary(org.manager, later)[0])
    assert manager["contracts.instalment_overdue"] == 1 and manager["leads.no_next_step"] == 1  # the deal's owner's line; their rep's lead
    assert by_key(radar.summary(org.outsider, later)[0])["contracts.instalment_overdue"] == 1  # the contract's owner
    assert by_key(radar.summary(org.other_manager, later)[0])["contracts.no_plan"] == 0


def test_counts_wait_for_the_next_recount_and_the_page_says_when_they_were_taken(client, org, make_lead):
    url = reverse("insights:radar")
    client.force_login(org.manager)
    assert "counted at" not in client.get(url).content.decode()  # no recount yet: counted live
    lead = make_lead(owner=org.owner)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=2))
    radar.recount()
    response = client.get(url)
    assert response.context["total"] == 1 and response.context["counted_at"] is not None
    body = response.content.decode()
    assert f"counted at {timezone.localtime(response.context['counted_at']):%H:%M} (every 5 minutes)" in body
    second = make_lead(owner=org.owner)
    Lead.objects.filter(pk=second.pk).update(next_follow_up_at=timezone.now() - timedelta(days=1))
    response = client.get(url + "?kind=leads.first_contact_overdue")
    assert response.context["total"] == 1  # counted at the next recount
    assert second.company_name in response.content.decode()  # listed now
    radar.recount()
    assert client.get(url).context["total"] == 2


def test_the_api_says_when_the_counts_were_taken(client, org, api_auth):
    assert client.get("/api/insights/radar", **api_auth(org.manager)).json()["counts_as_of"] is None
    radar.recount()
    assert client.get("/api/insights/radar", **api_auth(org.manager)).json()["counts_as_of"] is not None


def test_a_closed_lead_nobody_owns_is_no_break(org, make_lead):
    # The kind names the statuses it leaves out (for SQLite's plan); a lead sales no longer works is not broken.
    closed = make_lead(owner=False)
    Lead.objects.filter(pk=closed.pk).update(owner=None, in_pool=False, status=LeadStatus.DISQUALIFIED,
                                             disqualify_reason="spam")
    later = timezone.now() + timedelta(hours=2)
    assert by_key(radar.counts(org.admin, later))["leads.no_owner"] == 0
    Lead.objects.filter(pk=closed.pk).update(status=LeadStatus.NEW, disqualify_reason="")
    assert by_key(radar.counts(org.admin, later))["leads.no_owner"] == 1


def test_the_worker_recounts_on_a_schedule():
    assert "insights.radar_recount" in [sweep.name for sweep in collect("sweeps")]


def overdue_lead(make_lead, owner, days=2):
    lead = make_lead(owner=owner)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=days))
    return lead


def trend_of(viewer, now, kind="leads.first_contact_overdue", **kwargs):
    found = radar.trend(viewer, now, **kwargs)
    return None if found is None else dict(zip(found["weeks"], dict((k.key, n) for k, n in found["rows"])[kind], strict=True))


def test_the_recount_keeps_this_weeks_counts_and_replaces_them_at_the_next(org, make_lead):
    before, now = timezone.now(), timezone.now() + timedelta(days=7)
    this_week, last_week = radar.week_of(now), radar.week_of(before)
    assert radar.trend(org.manager, now) is None  # no history before the first recount
    overdue_lead(make_lead, org.owner)
    radar.recount(before)  # last week's last recount
    overdue_lead(make_lead, org.owner)
    overdue_lead(make_lead, org.teammate)
    radar.recount(now)
    radar.recount(now)  # the same week again: replaces, does not add
    rows = RadarWeek.objects.filter(kind="leads.first_contact_overdue")
    assert {(row.week, row.owner_id): row.count for row in rows} == {
        (last_week, org.owner.pk): 1, (this_week, org.owner.pk): 2, (this_week, org.teammate.pk): 1}
    trend = trend_of(org.manager, now)
    assert len(trend) == radar.TREND_WEEKS and list(trend)[-1] == this_week
    assert trend[this_week] == 3 and trend[last_week] == 1  # last week as of its last recount
    assert trend[last_week - timedelta(days=7)] is None  # before the history started
    Lead.objects.filter(owner=org.teammate).delete()
    radar.recount(now)
    assert trend_of(org.manager, now)[this_week] == 2 and trend_of(org.manager, now)[last_week] == 1


def test_a_rep_sees_their_own_trend_a_manager_the_subtree_an_outsider_nothing_of_others(client, org, make_lead, api_auth):
    for owner in (org.owner, org.owner, org.teammate, org.outsider):
        overdue_lead(make_lead, owner)
    now = timezone.now()
    week = radar.week_of(now)
    radar.recount(now)
    assert trend_of(org.owner, now)[week] == 2
    assert trend_of(org.teammate, now)[week] == 1
    assert trend_of(org.manager, now)[week] == 3
    assert trend_of(org.manager, now, owner=org.teammate.pk)[week] == 1
    assert trend_of(org.manager, now, owner=org.outsider.pk)[week] == 0  # not their subtree
    assert trend_of(org.outsider, now)[week] == 1
    assert trend_of(org.outsider, now, owner=org.owner.pk)[week] == 0
    assert trend_of(org.admin, now)[week] == 4
    # The page shows it as a table; the API gives the same weeks.
    client.force_login(org.owner)
    body = client.get(reverse("insights:radar")).content.decode()
    assert "Trend by week" in body and f'title="{week:%Y-%m-%d}"' in body
    chart = client.get(reverse("insights:radar")).context["charts"]["trend"]
    assert chart["labels"][-1] == f"{week:%m-%d}"
    assert [series["data"][-1] for series in chart["series"]] == [2]  # only kinds with something broken: a line each
    answer = client.get("/api/insights/radar", **api_auth(org.manager)).json()["trend"]
    assert len(answer) == radar.TREND_WEEKS and answer[-1]["week"] == f"{week:%Y-%m-%d}"
    assert answer[-1]["counts"]["leads.first_contact_overdue"] == 3
    assert answer[-2]["counts"]["leads.first_contact_overdue"] is None  # before the history: no data


def test_the_trend_is_empty_before_any_recount(client, org, api_auth):
    client.force_login(org.manager)
    assert "No trend yet" in client.get(reverse("insights:radar")).content.decode()
    assert client.get("/api/insights/radar", **api_auth(org.manager)).json()["trend"] == []


def test_the_recount_keeps_a_bounded_history_of_weeks(org, make_lead, settings):
    """`CLOSELOOP_RADAR_WEEKS_KEPT` weeks up to the current one survive a recount; older ones are deleted (0: for
    ever; fewer than the trend shows count as the trend's weeks)."""
    overdue_lead(make_lead, org.owner, days=200)  # broken at every recount below
    now = timezone.now()
    settings.CLOSELOOP_RADAR_WEEKS_KEPT = 10
    for back in range(12, -1, -1):  # a recount in each of the last 13 weeks
        radar.recount(now - timedelta(days=7 * back))
    weeks = sorted(set(RadarWeek.objects.values_list("week", flat=True)))
    this_week = radar.week_of(now)
    assert weeks == [this_week - timedelta(days=7 * back) for back in range(9, -1, -1)]
    assert sorted(RadarWeekKept.objects.values_list("week", flat=True)) == weeks
    assert trend_of(org.owner, now)[this_week - timedelta(days=7 * 7)] == 1  # the trend's oldest week is still kept
    settings.CLOSELOOP_RADAR_WEEKS_KEPT = 3  # fewer than the trend shows: the trend's weeks are kept
    radar.recount(now)
    assert len(set(RadarWeek.objects.values_list("week", flat=True))) == radar.TREND_WEEKS
    settings.CLOSELOOP_RADAR_WEEKS_KEPT = 0  # for ever
    radar.recount(now + timedelta(days=7 * 30))
    assert len(set(RadarWeek.objects.values_list("week", flat=True))) == radar.TREND_WEEKS + 1


def test_a_week_without_recount_is_no_data_not_zero(client, org, make_lead, api_auth):
    """The worker was down one week: the trend, its table, chart and the API say "no data" for it (None, "—", a gap,
    null), while a week it recounted and found nothing broken is a true 0."""
    now = timezone.now()
    this_week = radar.week_of(now)
    down, empty, counted = (this_week - timedelta(days=7 * n) for n in (1, 2, 3))
    lead = overdue_lead(make_lead, org.owner, days=60)
    radar.recount(now - timedelta(days=21))  # three weeks ago: one broken
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=None, status=LeadStatus.QUALIFIED)
    Lead.objects.filter(pk=lead.pk).delete()
    radar.recount(now - timedelta(days=14))  # two weeks ago: nothing broken anywhere, a true 0
    assert not RadarWeek.objects.filter(week=empty).exists()
    # last week: no recount (the worker was down)
    overdue_lead(make_lead, org.owner, days=60)
    radar.recount(now)
    trend = trend_of(org.manager, now)
    assert (trend[counted], trend[empty], trend[down], trend[this_week]) == (1, 0, None, 1)
    assert trend[counted - timedelta(days=7)] is None  # before the history: no data either
    client.force_login(org.manager)
    answer = client.get(reverse("insights:radar"))
    body = answer.content.decode()
    assert "No data for that week" in body and "—</span>" in body
    series = answer.context["charts"]["trend"]["series"]
    assert [series[0]["data"][i] for i in (-4, -3, -2, -1)] == [1, 0, None, 1]  # the chart's gap
    api = {week["week"]: week["counts"]["leads.first_contact_overdue"]
           for week in client.get("/api/insights/radar", **api_auth(org.manager)).json()["trend"]}
    assert (api[f"{counted:%Y-%m-%d}"], api[f"{empty:%Y-%m-%d}"], api[f"{down:%Y-%m-%d}"]) == (1, 0, None)
    # Every week kept: no note.
    client.force_login(org.owner)
    for back in range(radar.TREND_WEEKS):
        radar.recount(now - timedelta(days=7 * back))
    assert "No data for that week" not in client.get(reverse("insights:radar")).content.decode()


def test_the_trend_counts_what_the_radar_counts_for_every_viewer(client, org, broken, finance, api_auth):
    """The trend sums the rows the radar's counts would (owner or second owner in the viewer's line, every row of
    a kind a role sees all of); its current week is the page's counts, what is shared with the viewer included
    (a collaborator's lead and ticket); a past week leaves out only that shared part, which it cannot know."""
    from closeloop.insights.services import thresholds

    later = timezone.now() + timedelta(days=9)
    radar.recount(later)
    a_week_on = later + timedelta(days=7)  # its trend's second-last week is the recount's
    every = radar.kinds()
    limits = thresholds(every)
    for viewer in broken:
        shown, _at = radar.summary(viewer, later)
        this_week = radar.trend(viewer, later, current=shown)
        assert {kind.key: weeks[-1] for kind, weeks in this_week["rows"]} == by_key(shown), viewer
        past = {kind.key: weeks[-2] for kind, weeks in radar.trend(viewer, a_week_on)["rows"]}
        shared = {}
        for kind in every:
            beyond = radar.Beyond(viewer, {})
            found = kind.rows(beyond, later, limits[kind.key])
            shared[kind.key] = 0 if beyond.sees_all else found.count()
        assert past == {key: n - shared[key] for key, n in by_key(shown).items()}, viewer
    # What the rule brings: the deal owner's line sees the contract another owns; finance every contract.
    manager = {kind.key: weeks[-2] for kind, weeks in radar.trend(org.manager, a_week_on)["rows"]}
    assert manager["contracts.instalment_overdue"] == 1
    assert {kind.key: weeks[-2] for kind, weeks in radar.trend(finance, a_week_on)["rows"]}[
        "contracts.instalment_overdue"] == 1
    # The collaborator: today's counts include the outsider's lead and ticket; the past week cannot.
    teammate = radar.trend(org.teammate, a_week_on)
    assert {kind.key: weeks[-2] for kind, weeks in teammate["rows"]}["leads.first_contact_overdue"] == 0
    answer = client.get("/api/insights/radar", **api_auth(org.teammate)).json()
    now_counts = {kind["key"]: kind["count"] for kind in answer["kinds"]}
    assert answer["trend"][-1]["counts"] == now_counts and now_counts["service.ticket_past_sla"] >= 1
