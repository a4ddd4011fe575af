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
