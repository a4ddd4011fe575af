"""The deal list's totals: exact for a list short enough to read through, "more than N" beyond it."""

from decimal import Decimal

from django.urls import reverse

from closeloop.deals import selectors
from closeloop.deals.models import Opportunity


def test_totals_are_exact_up_to_the_cap(org, make_deal):
    for amount in ("0.10", "0.20", "1234567890.33"):
        make_deal(amount=amount)
    totals = selectors.money_totals(Opportunity.objects.all(), cap=3)
    assert totals == {"count": 3, "capped": False, "amount": Decimal("1234567890.63"),
                      "weighted": Decimal("123456789.06")}


def test_totals_beyond_the_cap_say_more_than_and_give_no_sums(org, make_deal):
    for amount in ("100", "200", "300"):
        make_deal(amount=amount)
    totals = selectors.money_totals(Opportunity.objects.all(), cap=2)
    assert totals == {"count": 2, "capped": True, "amount": None, "weighted": None}


def test_list_page_shows_more_than_the_cap(client, org, make_deal, monkeypatch):
    for amount in ("100", "200", "300"):
        make_deal(amount=amount)
    client.force_login(org.owner)
    body = client.get(reverse("deals:list")).content.decode()
    assert "¥600.00" in body  # under the cap: the exact sum
    monkeypatch.setattr(selectors, "TOTALS_CAP", 2)
    body = client.get(reverse("deals:list")).content.decode()
    assert "More than <strong>2</strong> deals" in body and "¥600.00" not in body


def test_manager_sees_the_team_and_only_the_team(client, org, make_deal):
    mine = make_deal(owner=org.owner, amount="100")
    teammate = make_deal(owner=org.teammate, amount="200")
    outsider = make_deal(owner=org.outsider, amount="400")
    visible = set(Opportunity.objects.visible_to(org.manager).values_list("pk", flat=True))
    assert {mine.pk, teammate.pk} <= visible and outsider.pk not in visible
    client.force_login(org.manager)
    body = client.get(reverse("deals:list")).content.decode()
    assert "¥300.00" in body and outsider.name not in body
