"""What the dashboard's tests share: one period around today (as a `Scope` and as the page's query), following
every drill-down as each viewer, and the exported workbook read back."""

import io
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from closeloop.insights import dashboard

VIEWERS = ("owner", "teammate", "manager", "other_manager", "admin")


def scope_for(user, **kwargs):
    """The dashboard's scope for `user` over ten days either side of today."""
    today = timezone.localdate()
    return dashboard.Scope(viewer=user, start=today - timedelta(days=10), end=today + timedelta(days=10), **kwargs)


def period_query() -> str:
    """The same period as the page's filters send it."""
    today = timezone.localdate()
    return f"?period=custom&start={today - timedelta(days=10)}&end={today + timedelta(days=10)}"


def follow_drill_downs(client, org, links, *, query: str = "", viewers=VIEWERS) -> int:
    """As each viewer, open the dashboard (with `query`'s filters on top of the period) and follow every (figure,
    url) that `links(figures)` yields: each list shows as many records as its figure says. Returns how many were
    followed."""
    followed = 0
    for user in (getattr(org, name) for name in viewers):
        client.force_login(user)
        response = client.get(reverse("insights:dashboard") + period_query() + query)
        assert response.status_code == 200
        for figure, url in links(response.context["figures"]):
            listed = client.get(url)
            assert listed.status_code == 200, url
            assert len(listed.context["page"]["rows"]) == figure, (user, url)
            followed += 1
    return followed


def exported_sheets(client, user) -> dict[str, list[tuple]]:
    """{sheet name: its rows, the header first} of the dashboard's workbook as `user` downloads it, in the
    workbook's order."""
    client.force_login(user)
    response = client.get(reverse("insights:dashboard_export") + period_query())
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
