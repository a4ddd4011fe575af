"""The hand-offs' and the stage stays' medians and 90th percentiles equal a plain Python computation over the same
rows, to the microsecond: hand-offs asked on the period's edges (its first local midnight, one microsecond before
it, the last microsecond of its last day, the next midnight), answered on those edges, a microsecond apart, on whole
seconds (stored without a fraction), over days; waiting, declined and accepted without an answer time; for an
administrator, managers, reps and a pre-sales engineer, and a manager's line narrowed to one rep.

Percentiles are by nearest rank: of n durations, the ⌈n/2⌉-th and ⌈9n/10⌉-th shortest (ties in id order).
"""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from closeloop.core.models import Role, User
from closeloop.core.services import department_save
from closeloop.deals.models import StageHistory
from closeloop.deals.services.opportunities import opportunity_move_stage
from closeloop.followup.models import Handoff, HandoffStatus
from closeloop.followup.services import handoff_request
from closeloop.insights import dashboard

from .dashboards import scope_for

pytestmark = pytest.mark.django_db

US, SECOND, HOUR, DAY = timedelta(microseconds=1), timedelta(seconds=1), timedelta(hours=1), timedelta(days=1)
GROUP = ("requested_by__department_id", "assignee__department_id")


def nearest_ranks(durations: list[timedelta]) -> tuple[int, timedelta | None, timedelta | None]:
    ordered, n = sorted(durations), len(durations)
    if not n:
        return 0, None, None
    return n, ordered[math.ceil(n / 2) - 1], ordered[math.ceil(9 * n / 10) - 1]


def expected_handoffs(scope) -> dict:
    """Every hand-off read into Python and counted by the rules the dashboard states: asked in the period, seen by
    the viewer (the set-based visibility, not the dashboard's row-by-row check), from or to someone of the line."""
    seen = set(Handoff.objects.visible_to(scope.viewer).values_list("pk", flat=True))
    groups: dict[tuple, dict] = {}
    for handoff in Handoff.objects.select_related("requested_by", "assignee").order_by("pk"):
        if handoff.pk not in seen or not scope.since <= handoff.created_at < scope.until:
            continue
        if scope.owners is not None and not {handoff.requested_by_id, handoff.assignee_id} & set(scope.owners):
            continue
        key = (handoff.requested_by.department_id, handoff.assignee.department_id)
        group = groups.setdefault(key, {"asked": 0, "accepted": 0, "declined": 0, "waiting": 0, "times": []})
        group["asked"] += 1
        group["accepted"] += handoff.status in dashboard.ACCEPTED
        group["declined"] += handoff.status == HandoffStatus.DECLINED
        group["waiting"] += handoff.status == HandoffStatus.PENDING
        if handoff.status in dashboard.ACCEPTED and handoff.responded_at is not None:
            group["times"].append(handoff.responded_at - handoff.created_at)
    result = {}
    for key, group in groups.items():
        n, median, p90 = nearest_ranks(group.pop("times"))
        result[key] = {"n": n, "median": median, "p90": p90, **group}
    return result


@pytest.fixture
def receivers(org):
    """Two receiving departments and an engineer in none (their hand-offs group under "–")."""
    company = org.team_a.parent.parent
    presales = department_save(actor=org.admin, name="售前部", parent=company)
    delivery = department_save(actor=org.admin, name="交付部", parent=company)

    def person(name, department):
        return User.objects.create_user(name, f"{name}@example.com", "pw", role=Role.PRESALES, department=department,
                                        display_name=name)

    return [person("engineer", presales), person("engineer2", presales), person("implementer", delivery),
            person("freelancer", None)]


@pytest.fixture
def handoffs(org, make_deal, make_lead, receivers):
    """~90 hand-offs on deals and leads of owner, teammate and outsider (and one the administrator asks for), with
    times and outcomes set on the rows."""
    scope = scope_for(org.admin)
    since, until = scope.since, scope.until
    rng = random.Random(12)
    records = [(make_deal(owner=rep), rep) for rep in (org.owner, org.teammate, org.outsider)]
    records += [(make_lead(owner=rep), rep) for rep in (org.owner, org.outsider)]
    records.append((make_deal(owner=org.teammate), org.admin))
    whole = since + 3 * DAY + 5 * HOUR  # a local midnight plus hours: no fraction of a second
    # (asked, answered): the period's edges, microseconds apart, whole seconds, a fraction's borrow, days.
    times = [(since, since + US), (since - US, since + HOUR), (until - US, until), (until, until + HOUR),
             (since, until), (since + HOUR, since + HOUR + 2 * US), (since + HOUR, since + HOUR + 3 * US),
             (whole, whole + SECOND), (whole, whole + SECOND + US), (whole + 999_999 * US, whole + SECOND),
             (whole - US, whole + SECOND), (since + DAY, since + 4 * DAY + 5 * HOUR + 6_789_012 * US),
             (since + 2 * DAY, since + 2 * DAY + 5 * HOUR), (since + 3 * DAY, since + 3 * DAY + 5 * HOUR)]
    for _ in range(70):
        asked = since - DAY + timedelta(microseconds=rng.randrange(int((until - since + 2 * DAY) / US)))
        times.append((asked, asked + timedelta(microseconds=rng.choice([1, 7, 10**6, rng.randrange(10**11)]))))
    statuses = [HandoffStatus.ACCEPTED, HandoffStatus.DONE, HandoffStatus.DECLINED, HandoffStatus.PENDING, "unanswered"]
    for i, (asked, answered) in enumerate(times):
        record, actor = records[i % len(records)]
        row = handoff_request(record=record, assignee=receivers[i % len(receivers)], title="技术评估",
                              due_at=timezone.now() + DAY, actor=actor)
        status = HandoffStatus.ACCEPTED if i < 14 else statuses[rng.randrange(len(statuses))]
        responded = None if status in (HandoffStatus.PENDING, "unanswered") else answered
        Handoff.objects.filter(pk=row.pk).update(
            created_at=asked, responded_at=responded,
            status=HandoffStatus.ACCEPTED if status == "unanswered" else status)
    return times


def viewers(org, receivers):
    return {"admin": org.admin, "manager": org.manager, "other_manager": org.other_manager, "owner": org.owner,
            "teammate": org.teammate, "outsider": org.outsider, "engineer": receivers[0]}


def test_handoff_figures_equal_a_plain_python_count_to_the_microsecond(org, receivers, handoffs):
    assert Handoff.objects.filter(responded_at__isnull=False).exclude(responded_at__second=0).exists()
    today = timezone.localdate()
    for name, user in viewers(org, receivers).items():
        expected = expected_handoffs(scope_for(user))
        assert dashboard.handoff_figures(scope_for(user)) == expected, name
        assert any(group["n"] for group in expected.values()), name
        one_day = dashboard.Scope(viewer=user, start=today, end=today)
        assert dashboard.handoff_figures(one_day) == expected_handoffs(one_day), name
    assert sum(group["n"] for group in expected_handoffs(scope_for(org.admin)).values()) >= 30
    manager_of_owner = dashboard.Scope(viewer=org.manager, start=timezone.localdate() - timedelta(days=10),
                                       end=timezone.localdate() + timedelta(days=10), rep=org.owner)
    assert dashboard.handoff_figures(manager_of_owner) == expected_handoffs(manager_of_owner)


def test_the_handoff_table_shows_the_figures_in_hours(org, receivers, handoffs):
    for name, user in viewers(org, receivers).items():
        scope = scope_for(user)
        expected = expected_handoffs(scope)
        rows = dashboard.handoff_times(scope)["rows"]
        assert {(row["from_id"], row["to_id"]): (row["asked"], row["accepted"], row["declined"], row["waiting"],
                                                  row["median"], row["p90"]) for row in rows} == {
            key: (group["asked"], group["accepted"], group["declined"], group["waiting"],
                  dashboard.in_hours(group["median"]), dashboard.in_hours(group["p90"]))
            for key, group in expected.items()}, name
        assert len(rows) == len(expected)


def test_a_group_with_no_answered_handoff_has_counts_and_no_times(org, make_deal, receivers):
    deal = make_deal(owner=org.owner)
    for _ in range(2):
        handoff_request(record=deal, assignee=receivers[0], title="技术评估", due_at=timezone.now() + DAY,
                        actor=org.owner)
    figures = dashboard.handoff_figures(scope_for(org.manager))
    assert figures == {(org.team_a.pk, receivers[0].department_id): {
        "n": 0, "median": None, "p90": None, "asked": 2, "accepted": 0, "declined": 0, "waiting": 2}}
    assert dashboard.handoff_figures(scope_for(org.other_manager)) == {}


def test_elapsed_is_exact_to_the_microsecond(org, make_deal, receivers):
    """The duration SQLite counts from the stored text, against Python's subtraction: with and without a fraction
    (a whole second is stored without one), a borrow across the second, a leap day, the turn of a year, negative."""
    utc = UTC
    pairs = [(datetime(2026, 1, 1, 0, 0, 0, tzinfo=utc), datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=utc)),
             (datetime(2026, 1, 1, 0, 0, 0, 999_999, tzinfo=utc), datetime(2026, 1, 1, 0, 0, 1, tzinfo=utc)),
             (datetime(2026, 1, 1, 0, 0, 1, tzinfo=utc), datetime(2026, 1, 1, 0, 0, 0, 999_999, tzinfo=utc)),
             (datetime(2028, 2, 28, 23, 59, 59, 123_456, tzinfo=utc), datetime(2028, 3, 1, 0, 0, 0, 654_321, tzinfo=utc)),
             (datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=utc), datetime(2027, 1, 1, 0, 0, 0, tzinfo=utc)),
             (datetime(2020, 5, 17, 3, 4, 5, tzinfo=utc), datetime(2029, 11, 2, 21, 8, 9, 7, tzinfo=utc)),
             (datetime(2026, 6, 1, 12, 0, 0, 500_000, tzinfo=utc), datetime(2026, 6, 1, 12, 0, 0, 500_000, tzinfo=utc))]
    deal = make_deal(owner=org.owner)
    for asked, answered in pairs:
        row = handoff_request(record=deal, assignee=receivers[0], title="技术评估", due_at=timezone.now() + DAY,
                              actor=org.owner)
        Handoff.objects.filter(pk=row.pk).update(created_at=asked, responded_at=answered)
    found = Handoff.objects.order_by("pk").annotate(
        waited=dashboard.Elapsed("responded_at", "created_at")).values_list("waited", flat=True)
    assert list(found) == [answered - asked for asked, answered in pairs]


def test_stage_stay_percentiles_equal_a_plain_python_computation(org, make_deal, stages):
    """The cycle times' helper over stays a microsecond apart and on whole seconds, per stage, and the dashboard's
    rows in days."""
    scope = scope_for(org.manager)
    first, second, third = stages["初步接洽"], stages["需求确认"], stages["方案报价"]
    since = scope.since
    rng = random.Random(5)
    for i in range(23):
        deal = make_deal(owner=(org.owner, org.teammate, org.outsider)[i % 3], amount="1000", need="上线CRM",
                         budget="50000", authority="总经理", expected_close_date="2027-01-15")
        opportunity_move_stage(opportunity=deal, stage=second, actor=deal.owner)
        opportunity_move_stage(opportunity=deal, stage=third, actor=deal.owner)
        for stage in (first, second):
            entered = since + timedelta(microseconds=rng.randrange(10**12))
            stay = timedelta(microseconds=rng.choice([1, 2, 10**6, 86_400 * 10**6, rng.randrange(10**12)]))
            StageHistory.objects.filter(opportunity=deal, stage=stage).update(entered_at=entered,
                                                                               exited_at=entered + stay)
    for user in (org.admin, org.manager, org.owner, org.outsider):
        scope = scope_for(user)
        deals = scope.deals().values("pk")
        stays = StageHistory.objects.filter(opportunity__in=deals, exited_at__isnull=False).filter(
            scope.during("exited_at"))
        expected = {}
        for stay in stays.order_by("pk"):
            expected.setdefault((stay.stage_id,), []).append(stay.exited_at - stay.entered_at)
        expected = {key: dict(zip(("n", "median", "p90"), nearest_ranks(found), strict=True))
                    for key, found in expected.items()}
        assert dashboard.percentiles(stays, group=("stage_id",), start="entered_at", end="exited_at") == expected
        assert user == org.outsider or sum(found["n"] for found in expected.values()) >= 10
        rows = {row["stage"].pk: (row["stays"], row["median"], row["p90"])
                for row in dashboard.cycle_times(scope)["rows"] if row["stays"]}
        assert rows == {key[0]: (found["n"], round(found["median"].total_seconds() / 86400, 1),
                                 round(found["p90"].total_seconds() / 86400, 1)) for key, found in expected.items()}
