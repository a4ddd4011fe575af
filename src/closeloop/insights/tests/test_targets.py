"""Sales targets (业绩目标): who may set them, the audit, the Excel import (template, every refused row at once,
nothing saved until all are right), and achievement (完成率) on the dashboard per viewer.

The figures come from the dashboard's `known` records: the owner has four new customers, a ¥10,000 deal won and
¥9,000 collected this month; the teammate one new customer; the outsider one.
"""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.core.audit import audit_trail
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.insights import dashboard, targets
from closeloop.insights.models import SalesTarget
from closeloop.insights.tests.test_dashboard import deal, known  # noqa: F401 (fixtures)

from .dashboards import exported_sheets, period_query, scope_for

pytestmark = pytest.mark.django_db


def this_month():
    return timezone.localdate().replace(day=1)


def save(actor, data, **whose):
    return targets.target_save(actor=actor, month=this_month(), data=data, **whose)


def test_managers_set_targets_for_their_subtree_and_administrators_for_everyone(org):
    target = save(org.manager, {"new_customers": "3", "won_amount": "5万", "collected_amount": ""}, user=org.owner)
    assert (target.new_customers, target.won_amount, target.collected_amount) == (3, Decimal("50000.00"), None)
    save(org.manager, {"won_amount": "80000"}, department=org.team_a)
    for actor, whose in [(org.manager, {"user": org.outsider}), (org.manager, {"department": org.team_b}),
                         (org.owner, {"user": org.owner}), (org.other_manager, {"user": org.owner})]:
        with pytest.raises(Forbidden):
            save(actor, {"won_amount": "1"}, **whose)
    save(org.admin, {"won_amount": "1000"}, user=org.outsider)
    # A change is audited with its old and new values; clearing every value keeps the row, emptied.
    save(org.manager, {"new_customers": "4", "won_amount": "50000"}, user=org.owner)
    entries = list(audit_trail(target).order_by("created_at", "id"))
    assert [entry.action for entry in entries] == ["target.set", "target.set"]
    assert entries[-1].changes == {"new_customers": [3, 4]}
    with pytest.raises(ValidationFailed) as refused:
        save(org.manager, {"new_customers": "three", "won_amount": "lots"}, user=org.owner)
    assert set(refused.value.field_errors) == {"new_customers", "won_amount"}
    assert SalesTarget.objects.count() == 3


def upload(client, rows, name="targets.xlsx"):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["月份", "销售", "团队", "新客户数", "赢单金额", "回款金额"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = name
    return client.post(reverse("insights:targets_import"), {"file": buffer, "month": f"{this_month():%Y-%m}"})


def test_targets_import_from_excel_all_or_nothing(client, org):
    client.force_login(org.manager)
    template = client.get(reverse("insights:targets_template"))
    assert template.status_code == 200 and template["Content-Type"].startswith("application/vnd.openxmlformats")
    month = f"{this_month():%Y-%m}"
    refused = upload(client, [[month, "owner", "", "3", "5万", "3万"], ["2027-13", "teammate", "", "", "", ""],
                              [month, "outsider", "", "1", "", ""], [month, "", "二组", "", "1000", ""],
                              [month, "teammate", "一组", "", "", ""], [month, "teammate", "", "x", "", ""]])
    assert refused.status_code == 422
    problems = refused.context["import_errors"]
    assert problems[0] == "No target was saved: 5 rows need correcting."
    assert [problem.split(":")[0] for problem in problems[1:]] == ["Row 3", "Row 4", "Row 5", "Row 6", "Row 7"]
    assert "outsider is not someone you set targets for" in problems[2]
    assert SalesTarget.objects.count() == 0
    saved = upload(client, [[month, "owner", "", "3", "5万", "3万"], [month, "", "一组", "10", "200000", ""]])
    assert saved.status_code == 302
    assert {(t.user_id, t.department_id, t.new_customers, t.won_amount) for t in SalesTarget.objects.all()} == {
        (org.owner.pk, None, 3, Decimal("50000.00")), (None, org.team_a.pk, 10, Decimal("200000.00"))}
    # A rep has no targets page, and cannot import.
    client.force_login(org.owner)
    assert client.get(reverse("insights:targets")).status_code == 403
    assert upload(client, [[month, "owner", "", "9", "", ""]]).status_code == 403


def test_targets_import_takes_a_reps_name_as_well_as_their_user_name(client, org):
    org.owner.display_name = "张伟"
    org.owner.save(update_fields=["display_name"])
    org.teammate.display_name = org.outsider.display_name = "李娜"  # the outsider is no one the manager sets
    org.teammate.save(update_fields=["display_name"])
    org.outsider.save(update_fields=["display_name"])
    client.force_login(org.manager)
    month = f"{this_month():%Y-%m}"
    assert upload(client, [[month, "张伟", "", "3", "", ""], [month, "李娜", "", "2", "", ""]]).status_code == 302
    assert {(t.user_id, t.new_customers) for t in SalesTarget.objects.all()} == {(org.owner.pk, 3), (org.teammate.pk, 2)}
    org.manager.display_name = "张伟"
    org.manager.save(update_fields=["display_name"])
    refused = upload(client, [[month, "张伟", "", "4", "", ""]])
    assert refused.status_code == 422
    assert "several people are named 张伟; give their user name" in refused.context["import_errors"][1]
    html = client.get(reverse("insights:targets")).content.decode()
    assert "月份, 销售, 团队, 新客户数" in html


def test_the_targets_page_saves_what_changed(client, org):
    client.force_login(org.manager)
    page = client.get(reverse("insights:targets"))
    assert page.status_code == 200
    assert [row["record"] for row in page.context["rows"]] == [org.team_a, org.manager, org.owner, org.teammate]
    data = {"month": f"{this_month():%Y-%m}", f"u{org.owner.pk}-won_amount": "20000",
            f"d{org.team_a.pk}-new_customers": "5"}
    assert client.post(reverse("insights:targets"), data).status_code == 302
    assert SalesTarget.objects.count() == 2
    bad = client.post(reverse("insights:targets"), {**data, f"u{org.teammate.pk}-won_amount": "很多"})
    assert bad.status_code == 422 and "Give an amount in yuan" in bad.content.decode()


@pytest.fixture
def goals(org, known):  # noqa: F811 (the fixture imported above)
    save(org.manager, {"new_customers": "2", "won_amount": "20000", "collected_amount": "10000"}, user=org.owner)
    save(org.manager, {"won_amount": "5000"}, user=org.teammate)
    save(org.manager, {"new_customers": "5", "won_amount": "50000"}, department=org.team_a)
    save(org.other_manager, {"won_amount": "1000"}, user=org.outsider)
    save(org.other_manager, {"won_amount": "3000"}, department=org.team_b)
    return known


def achieved(user, **kwargs):
    figures = dashboard.achievement(scope_for(user, **kwargs))
    return [(row["name"], *[(row[key]["actual"], row[key]["target"], row[key]["rate"]) for key in dashboard.TARGET_KEYS])
            for row in [*figures["teams"], *figures["reps"]]]


D = Decimal


def test_achievement_for_the_rep_and_team_in_view(org, goals):
    owner = ("owner", (4, 2, 200.0), (D("10000.00"), D("20000.00"), 50.0), (D("9000.00"), D("10000.00"), 90.0))
    teammate = ("teammate", (1, None, None), (D("0.00"), D("5000.00"), 0.0), (D("0.00"), None, None))
    team_a = ("一组", (5, 5, 100.0), (D("10000.00"), D("50000.00"), 20.0), (D("9000.00"), None, None))
    outsider = ("outsider", (1, None, None), (D("0.00"), D("1000.00"), 0.0), (D("0.00"), None, None))
    team_b = ("二组", (1, None, None), (D("0.00"), D("3000.00"), 0.0), (D("0.00"), None, None))
    assert achieved(org.owner) == [owner]
    assert achieved(org.teammate) == [teammate]
    assert achieved(org.manager) == [team_a, owner, teammate]
    assert achieved(org.manager, rep=org.teammate) == [teammate]
    assert achieved(org.other_manager) == [team_b, outsider]
    assert achieved(org.admin) == [team_a, team_b, outsider, owner, teammate]


def test_achievement_drills_down_and_exports(client, org, goals):
    query = period_query()
    for user in (org.owner, org.teammate, org.manager, org.other_manager, org.admin):
        client.force_login(user)
        figures = client.get(reverse("insights:dashboard") + query).context["figures"]["targets"]
        for row in [*figures["teams"], *figures["reps"]]:
            customers = client.get(row["new_customers"]["url"]).context["page"]["rows"]
            assert len(customers) == row["new_customers"]["actual"], (user, row["name"])
            won = client.get(row["won_amount"]["url"]).context["page"]["rows"]
            assert sum((won_deal.amount for won_deal in won), D("0.00")) == row["won_amount"]["actual"], (user, row["name"])
    rows = exported_sheets(client, org.manager)["Targets"]
    assert rows[1] == ("一组", 5, 5, 100, 10000, 50000, 20, 9000, None, None)
