"""Forecast accuracy: for each past month, the weighted forecast as it stood when the month began (from the stage
history) against the deals won in it, per viewer. Last month: the owner had a deal in 方案报价 (¥10,000, won on the
10th) and one in 初步接洽 (¥20,000, still open), both expected to close in it; the teammate one in 初步接洽 (¥5,000,
won on the 3rd)."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from closeloop.deals.models import Opportunity, StageHistory
from closeloop.deals.services.opportunities import opportunity_move_stage
from closeloop.insights import dashboard

pytestmark = pytest.mark.django_db

FIELDS = {"need": "上线CRM", "budget": "50000", "authority": "总经理"}


def last_month():
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def at(day_offset, hours=0):
    """A local moment `day_offset` days after the first of last month."""
    start = timezone.make_aware(datetime.combine(last_month(), datetime.min.time()))
    return start + timedelta(days=day_offset, hours=hours)


@pytest.fixture
def history(org, make_deal, stages):
    month = last_month()
    path = ["初步接洽", "需求确认", "方案报价", "赢单"]

    def deal(owner, amount, stays, won=True):
        row = make_deal(owner=owner, amount=amount, expected_close_date=(month + timedelta(days=14)).isoformat(),
                        **FIELDS)
        if won:
            for name in path[1:]:
                opportunity_move_stage(opportunity=row, stage=stages[name], actor=owner)
        for name, (entered, exited) in zip(path, stays, strict=False):
            StageHistory.objects.filter(opportunity=row, stage=stages[name]).update(entered_at=entered, exited_at=exited)
        if won:
            Opportunity.objects.filter(pk=row.pk).update(won_at=stays[-1][0])
        return row

    deal(org.owner, "10000", [(at(-12), at(-7)), (at(-7), at(-4)), (at(-4), at(9)), (at(9), None)])
    deal(org.owner, "20000", [(at(-30), None)], won=False)
    deal(org.teammate, "5000", [(at(-30), at(1)), (at(1), at(1, 12)), (at(1, 12), at(2)), (at(2), None)])
    return stages


def accuracy(user):
    today = timezone.localdate()
    scope = dashboard.Scope(viewer=user, start=today - timedelta(days=10), end=today)
    row = dashboard.forecast_accuracy(scope)["rows"][-1]
    assert row["key"] == f"{last_month():%Y-%m}"
    return row["forecast_deals"], row["forecast"], row["won_deals"], row["won"], row["accuracy"]


def test_the_forecast_at_each_months_start_against_what_was_won(org, history):
    first, proposal = history["初步接洽"].probability, history["方案报价"].probability
    owner = Decimal(10000 * proposal + 20000 * first) / 100
    teammate = Decimal(5000 * first) / 100
    assert accuracy(org.owner) == (2, owner, 1, Decimal("10000.00"), round(100 * 10000 / float(owner), 1))
    assert accuracy(org.teammate) == (1, teammate, 1, Decimal("5000.00"), round(100 * 5000 / float(teammate), 1))
    both = owner + teammate
    assert accuracy(org.manager) == (3, both, 2, Decimal("15000.00"), round(100 * 15000 / float(both), 1))
    assert accuracy(org.other_manager) == (0, Decimal("0.00"), 0, Decimal("0.00"), None)
    assert accuracy(org.admin) == accuracy(org.manager)
    # Six past months, oldest first; the won figure drills down to the deals won that month.
    scope = dashboard.Scope(viewer=org.manager, start=timezone.localdate(), end=timezone.localdate())
    rows = dashboard.forecast_accuracy(scope)["rows"]
    assert len(rows) == 6 and rows[0]["key"] < rows[-1]["key"]


def test_won_in_a_month_drills_down_to_its_deals(client, org, history):
    for user, won in [(org.owner, 1), (org.manager, 2), (org.other_manager, 0)]:
        client.force_login(user)
        row = client.get("/insights/").context["figures"]["accuracy"]["rows"][-1]
        assert row["won_deals"] == won
        assert len(client.get(row["url"]).context["page"]["rows"]) == won, user
