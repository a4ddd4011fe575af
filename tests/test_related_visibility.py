"""Pages that list records related to the one shown list only what the viewer may see: each test puts a related
record the viewer may not see beside one they may, and looks for its name (the customer page's deals and notes are
in deals/tests/test_visibility.py, the duplicate hints in leads/tests/test_duplicates.py)."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from closeloop.deals.models import Opportunity
from closeloop.deals.services.conversion import lead_convert
from closeloop.deals.services.opportunities import opportunity_transfer
from closeloop.followup.services import activity_log


def test_the_lead_page_names_the_deal_it_became_only_to_who_may_see_the_deal(client, org, qualified_lead):
    lead = qualified_lead(source="展会")
    conversion = lead_convert(lead=lead, actor=org.owner, opportunity_name="展会来的保密项目")
    assert conversion.opportunity.name == "展会来的保密项目"
    # Marketing sees the leads of its channels, not the deals sales made of them.
    client.force_login(org.marketer)
    page = client.get(lead.get_absolute_url())
    assert page.status_code == 200 and "展会来的保密项目" not in page.content.decode()
    client.force_login(org.owner)
    assert "展会来的保密项目" in client.get(lead.get_absolute_url()).content.decode()


def test_today_drops_a_deal_that_moved_to_someone_the_viewer_may_not_see(client, org, make_deal):
    deal = make_deal(owner=org.owner, name="交接出去的项目")
    activity_log(actor=org.owner, record=deal, data={
        "kind": "call", "content": "约了下次", "next_follow_up_at": timezone.now() + timedelta(days=1)})
    # A day later the follow-up is due.
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=timezone.now() - timedelta(hours=1))
    client.force_login(org.owner)
    assert "交接出去的项目" in client.get(reverse("followup:today")).content.decode()
    opportunity_transfer(opportunity=deal, new_owner=org.teammate, actor=org.manager, reason="调岗")
    assert "交接出去的项目" not in client.get(reverse("followup:today")).content.decode()
    client.force_login(org.teammate)
    assert "交接出去的项目" in client.get(reverse("followup:today")).content.decode()


def test_a_renewal_deal_names_the_contract_it_renews_only_to_who_may_see_that_contract(client, org, make_deal):
    from closeloop.contracts import plans
    from closeloop.contracts import services as contracts
    from closeloop.contracts.models import Contract, SignedVia
    from closeloop.core.models import Role, User
    from closeloop.followup.models import ParticipantRole
    from closeloop.followup.services import participant_add
    from closeloop.service import renewals
    from closeloop.service.models import Renewal

    deal = make_deal(amount="30000")
    contract = contracts.contract_create_from_deal(opportunity=deal, actor=org.owner, data={"amount": "30000"})
    plans.payment_plan_save(contract=contract, actor=org.owner, instalments=[
        {"title": "全款", "condition": "on_signing", "days_after": "7", "percentage": "100"}])
    contracts.contract_submit(contract=contract, actor=org.owner)
    contracts.contract_sign(contract=contract, actor=org.owner, sign_date=None, via=SignedVia.SCAN)
    Contract.objects.filter(pk=contract.pk).update(start_date=timezone.localdate() - timedelta(days=300),
                                                   end_date=timezone.localdate() + timedelta(days=10))
    renewals.renewal_sweep()
    renewal = Renewal.objects.get().opportunity
    presales = User.objects.create_user("presales", "presales@example.com", "pw", role=Role.PRESALES)
    participant_add(record=renewal, user=presales, role=ParticipantRole.PRESALES, actor=org.owner)
    contract.refresh_from_db()
    client.force_login(presales)
    page = client.get(renewal.get_absolute_url())
    assert page.status_code == 200 and contract.get_absolute_url() not in page.content.decode()
    client.force_login(org.owner)
    assert contract.get_absolute_url() in client.get(renewal.get_absolute_url()).content.decode()


# -- Today, the radar, the weekly digest and the dashboard's drill-downs: each with a record of the other team.

def today_page(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("followup:today"))
    assert response.status_code == 200
    return response.content.decode()


def test_a_managers_today_drops_an_escalation_whose_deal_moved_to_another_team(client, org, make_deal):
    from closeloop.followup.reminders import run_reminder_sweep

    deal = make_deal(owner=org.owner, name="调往二组的项目")
    Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=timezone.now() - timedelta(days=3))
    run_reminder_sweep()
    assert "调往二组的项目" in today_page(client, org.manager)  # escalated to the owner's manager
    opportunity_transfer(opportunity=deal, new_owner=org.outsider, actor=org.admin, reason="调岗")
    assert "调往二组的项目" not in today_page(client, org.manager)


def test_a_managers_today_lists_no_hand_off_on_another_teams_deal(client, org, make_deal):
    from closeloop.followup.services import handoff_request

    # The other team asks the manager's rep for help on a deal of theirs: the rep sees it (they answer it), the
    # manager does not.
    deal = make_deal(owner=org.outsider, name="二组的保密项目")
    handoff_request(record=deal, assignee=org.teammate, title="技术评估", due_at=timezone.now() + timedelta(days=1),
                    actor=org.outsider)
    assert "二组的保密项目" in today_page(client, org.teammate)
    assert "二组的保密项目" in today_page(client, org.other_manager)
    page = today_page(client, org.manager)
    assert "技术评估" not in page and "二组的保密项目" not in page
    # Nor when the manager reads the rep's own Today.
    page = client.get(reverse("followup:person_today", args=[org.teammate.pk])).content.decode()
    assert "二组的保密项目" not in page


def test_a_reps_today_lists_no_task_on_a_record_they_no_longer_see(client, org, make_lead):
    from closeloop.leads.services.editing import lead_assign

    lead = make_lead(owner=org.owner, company_name="改派二组科技有限公司")
    assert "改派二组科技有限公司" in today_page(client, org.owner)  # its first contact is due today
    lead_assign(lead=lead, owner=org.outsider, actor=org.admin)
    assert "改派二组科技有限公司" not in today_page(client, org.owner)
    assert "改派二组科技有限公司" not in today_page(client, org.manager)
    assert "改派二组科技有限公司" in today_page(client, org.outsider)


def test_the_radar_lists_another_teams_broken_deal_only_to_that_team(client, org, make_deal):
    make_deal(owner=org.owner, name="一组逾期项目")
    other = make_deal(owner=org.outsider, name="二组逾期项目")
    Opportunity.objects.update(next_follow_up_at=timezone.now() - timedelta(days=5))
    assert Opportunity.objects.filter(pk=other.pk).exists()
    for user, sees_own, sees_other in [(org.owner, True, False), (org.manager, True, False),
                                       (org.other_manager, False, True), (org.outsider, False, True),
                                       (org.teammate, False, False)]:
        client.force_login(user)
        page = client.get(reverse("insights:radar") + "?kind=deals.follow_up_overdue")
        assert page.status_code == 200
        assert ("一组逾期项目" in page.text, "二组逾期项目" in page.text) == (sees_own, sees_other), user
        export = client.get(reverse("insights:radar_export"))
        assert export.status_code == 200


def test_the_digest_preview_names_no_broken_record_of_another_team(client, org, make_deal):
    from closeloop.insights.digest import week_of

    make_deal(owner=org.owner, name="一组久未推进项目")
    make_deal(owner=org.outsider, name="二组久未推进项目")
    Opportunity.objects.update(next_follow_up_at=timezone.now() - timedelta(days=9))
    url = reverse("insights:digest") + f"?week={week_of(timezone.localdate()) - timedelta(days=7)}"
    client.force_login(org.manager)
    page = client.get(url + f"&manager={org.other_manager.pk}")
    assert "一组久未推进项目" in page.text and "二组久未推进项目" not in page.text
    client.force_login(org.other_manager)
    page = client.get(url)
    assert "二组久未推进项目" in page.text and "一组久未推进项目" not in page.text


def test_a_dashboard_drill_down_aimed_at_another_team_lists_none_of_its_records(client, org, make_deal, make_lead):
    """A manager who edits a drill-down's address to name the other team's rep or team gets a list without their
    records: the lists narrow what the viewer sees, never widen it."""
    from closeloop.followup.services import handoff_request

    make_lead(owner=org.outsider, company_name="二组线索科技有限公司")
    deal = make_deal(owner=org.outsider, name="二组钻取项目")
    handoff_request(record=deal, assignee=org.other_manager, title="二组内部评估",
                    due_at=timezone.now() + timedelta(days=1), actor=org.outsider)
    rep, team = f"rep={org.outsider.pk}&period=year", f"department={org.team_b.pk}"
    urls = [f"/leads/?owner={org.outsider.pk}", f"/leads/?{team}", f"/deals/?owner={org.outsider.pk}", f"/deals/?{team}",
            f"{reverse('insights:handoffs')}?{rep}", f"{reverse('insights:surveys')}?{rep}",
            f"{reverse('insights:collection')}?{rep}", f"{reverse('insights:collection')}?figure=collected&{rep}"]
    client.force_login(org.manager)
    for url in urls:
        page = client.get(url)
        assert page.status_code == 200, url
        assert [name for name in ("二组线索科技有限公司", "二组钻取项目", "二组内部评估") if name in page.text] == [], url
    client.force_login(org.other_manager)
    assert "二组钻取项目" in client.get(f"/deals/?owner={org.outsider.pk}").text
    assert "二组钻取项目" in client.get(f"{reverse('insights:handoffs')}?{rep}").text
