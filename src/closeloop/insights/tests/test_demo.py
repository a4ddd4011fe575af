"""The demo sets this month's targets, so a manager's dashboard shows achievement (完成率) from the first start."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from closeloop.core.models import User
from closeloop.insights.models import SalesTarget

pytestmark = pytest.mark.django_db


def test_the_demo_sets_targets_the_dashboard_measures(client):
    out = StringIO()
    call_command("demo", leads=60, stdout=out)
    assert "8 monthly targets" in out.getvalue()
    assert SalesTarget.objects.filter(user__username="rep1", won_amount=300000).exists()
    assert SalesTarget.objects.filter(department__isnull=False).count() == 2
    client.force_login(User.objects.get(username="manager1"))
    page = client.get(reverse("insights:dashboard")).content.decode()
    assert "¥300,000.00" in page or "300,000" in page
    assert "%" in page


def test_the_demo_has_a_lead_and_a_deal_field_the_dashboard_filters_on(client):
    """A new user meets custom fields on the dashboard: the leads' grade and the deals' purchase mode, whose
    filters narrow its figures."""
    call_command("demo", leads=60, stdout=StringIO())
    client.force_login(User.objects.get(username="manager1"))
    form = client.get(reverse("insights:dashboard")).context["form"]
    assert "lead.cf.grade" in form.fields and "deal.cf.purchase_mode" in form.fields
    client.force_login(User.objects.get(username="admin"))
    today = timezone.localdate()
    period = f"?period=custom&start={today - timedelta(days=130)}&end={today}"

    def figures(query=""):
        return client.get(reverse("insights:dashboard") + period + query).context["figures"]

    plain = figures()
    graded = figures("&lead.cf.grade=A类")
    assert 0 < graded["sources"]["total"]["leads"] < plain["sources"]["total"]["leads"]
    assert 0 < figures("&deal.cf.purchase_mode=招标采购")["forecast"]["deals"] < plain["forecast"]["deals"]


def test_the_demo_shows_a_late_hand_off_and_a_contract_to_renew_on_the_radar():
    from closeloop.insights import radar

    call_command("demo", leads=60, stdout=StringIO())
    counts = {kind.key: n for kind, n in radar.counts(User.objects.get(username="admin"), timezone.now())}
    assert counts["followup.handoff_not_accepted"] >= 1
    assert counts["contracts.ending_without_renewal"] >= 1
