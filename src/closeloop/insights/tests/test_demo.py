"""The demo sets this month's targets, so a manager's dashboard shows achievement (完成率) from the first start."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

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
