"""Renewals (二次销售): a signed contract ending within the window gets one renewal deal for the account owner in the
default pipeline, audited and announced, flagged when the customer's latest NPS is low; the sweep is idempotent."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.contracts.models import Contract
from closeloop.core.models import AuditEntry, Notification
from closeloop.deals.models import Opportunity, Pipeline
from closeloop.service import renewals, surveys
from closeloop.service.models import Renewal, ServiceSettings, Survey

pytestmark = pytest.mark.django_db


def ending_in(contract, days: int):
    Contract.objects.filter(pk=contract.pk).update(start_date=timezone.localdate() - timedelta(days=300),
                                                   end_date=timezone.localdate() + timedelta(days=days))
    contract.refresh_from_db()
    return contract


def test_a_contract_ending_within_the_window_gets_one_renewal_deal(org, delivered_contract):
    contract = ending_in(delivered_contract(), 30)
    later = ending_in(delivered_contract(), 90)
    assert renewals.renewal_sweep() == 1
    assert renewals.renewal_sweep() == 0  # run again, or late: nothing new
    renewal = Renewal.objects.get()
    deal = renewal.opportunity
    assert renewal.contract == contract and not renewal.low_nps
    assert deal.owner == contract.customer.owner == org.owner and deal.customer == contract.customer
    assert deal.pipeline == Pipeline.default() and deal.amount == contract.amount
    assert deal.expected_close_date == contract.end_date and contract.number in deal.need
    assert AuditEntry.objects.filter(action="renewal.open", target_id=str(contract.pk)).count() == 1
    assert set(Notification.objects.filter(kind="renewal.opened").values_list("recipient__username", flat=True)) \
        == {"owner", "manager"}
    assert not Renewal.objects.filter(contract=later).exists()
    # A longer window reaches the later contract.
    row = ServiceSettings.objects.get(pk=1)
    row.renewal_days = 120
    row.save()
    assert renewals.renewal_sweep() == 1 and Renewal.objects.filter(contract=later).exists()


def test_contracts_that_cannot_renew_do_not_hold_back_the_next_batch(org, delivered_contract, monkeypatch):
    from closeloop.core.models import Role, User
    from closeloop.deals.models import Customer

    stuck = ending_in(delivered_contract(), 10)
    nobody = User.objects.create_user("clerk", password="x", role=Role.FINANCE)
    Customer.objects.filter(pk=stuck.customer_id).update(owner=None)
    Contract.objects.filter(pk=stuck.pk).update(owner=nobody)
    later = ending_in(delivered_contract(), 30)
    monkeypatch.setattr(renewals, "BATCH", 1)
    assert renewals.renewal_sweep() == 1
    assert Renewal.objects.filter(contract=later).exists() and not Renewal.objects.filter(contract=stuck).exists()


def test_ended_contracts_and_contracts_without_an_end_are_left(org, delivered_contract):
    ending_in(delivered_contract(), -1)
    delivered_contract()  # no end date
    assert renewals.renewal_sweep() == 0 and not Opportunity.objects.filter(name__contains="续约").exists()


def test_a_customer_with_a_low_nps_is_flagged_on_the_renewal(org, delivered_contract, make_ticket, service_team):
    contract = ending_in(delivered_contract(), 20)
    ticket = make_ticket(customer=contract.customer)
    from closeloop.service import tickets

    tickets.ticket_move(ticket=ticket, status="resolved", actor=ticket.owner)
    surveys.survey_answer(survey=Survey.objects.get(ticket=ticket), csat=3, nps=4)
    renewals.renewal_sweep()
    renewal = Renewal.objects.get()
    assert renewal.low_nps and "NPS" in renewal.opportunity.need
    assert "NPS" in Notification.objects.filter(kind="renewal.opened", recipient=org.owner).get().message


def test_the_contract_and_the_deal_show_the_renewal_to_their_people(client, org, delivered_contract):
    contract = ending_in(delivered_contract(), 10)
    renewals.renewal_sweep()
    deal = Renewal.objects.get().opportunity
    for user in (org.owner, org.manager):
        client.force_login(user)
        assert deal.get_absolute_url() in client.get(contract.get_absolute_url()).content.decode(), user
        assert contract.get_absolute_url() in client.get(deal.get_absolute_url()).content.decode(), user
    for user in (org.teammate, org.outsider):
        client.force_login(user)
        assert client.get(deal.get_absolute_url()).status_code == 404, user


def test_the_renewal_window_is_a_setting(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("service:settings"), {
        "work_weekdays": "12345", "work_start": "09:00", "work_end": "18:00", "assignment_strategy": "round_robin",
        "renewal_days": "90", "rows": "0"})
    assert response.status_code == 302 and ServiceSettings.objects.get(pk=1).renewal_days == 90
    refused = client.post(reverse("service:settings"), {
        "work_weekdays": "12345", "work_start": "09:00", "work_end": "18:00", "assignment_strategy": "round_robin",
        "renewal_days": "0", "rows": "0"})
    assert refused.status_code == 422


def test_a_product_categorys_window_opens_its_renewal_earlier(client, org, delivered_contract):
    from closeloop.quotes.models import Product

    software = ending_in(delivered_contract(), 80)
    other = ending_in(delivered_contract(), 80)
    Product.objects.filter(pk__in=software.lines.values("product_id")).update(category="软件")
    assert renewals.renewal_sweep() == 0  # 80 days away, the global window is 60
    client.force_login(org.admin)
    url = reverse("service:settings")
    data = {"work_weekdays": "12345", "work_start": "09:00", "work_end": "18:00", "assignment_strategy": "round_robin",
            "renewal_days": "60", "holidays": "", "workdays": ""}
    bad = client.post(url, {**data, "renewal_windows": "软件 九十"})
    assert bad.status_code == 422 and "Line 1" in bad.content.decode()
    assert client.post(url, {**data, "renewal_windows": "软件 90\n硬件 30"}).status_code == 302
    assert "软件 90" in client.get(url).content.decode()
    assert AuditEntry.objects.filter(action="service_settings.update", changes__has_key="renewal_windows").exists()
    assert renewals.renewal_sweep() == 1
    assert Renewal.objects.get().contract == software and not Renewal.objects.filter(contract=other).exists()
    # A contract with lines of several categories takes the longest window of them; without one, the global one.
    assert renewals.window_days(["软件", "硬件"], 60, {"软件": 90, "硬件": 30}) == 90
    assert renewals.window_days(["硬件", ""], 60, {"硬件": 30}) == 60 and renewals.window_days([], 45, {}) == 45


def test_renew_drafts_the_quote_from_the_old_contracts_lines(client, org, delivered_contract):
    from decimal import Decimal

    from closeloop.core.money import quantize

    contract = ending_in(delivered_contract(), 30)
    assert renewals.renewal_sweep() == 1
    renewal = Renewal.objects.get()
    url = reverse("service:renewal_quote", args=[renewal.pk])
    client.force_login(org.outsider)
    assert client.post(url).status_code == 404
    client.force_login(org.owner)
    assert f'action="{url}"' in client.get(renewal.opportunity.get_absolute_url()).content.decode()
    response = client.post(url)
    renewal.refresh_from_db()
    quote = renewal.quote
    assert response.status_code == 302 and response["Location"] == quote.get_absolute_url()
    assert quote.opportunity == renewal.opportunity and quote.status == "draft" and contract.number in quote.title
    old = list(contract.lines.order_by("position"))
    new = list(quote.current_version.lines.order_by("position"))
    assert [(n.product_id, n.name, n.quantity, n.discount_pct, n.tax_rate) for n in new] == [
        (o.product_id, o.name, o.quantity, o.discount_pct, o.tax_rate) for o in old]
    assert [n.amount_incl_tax for n in new] == [o.amount_incl_tax for o in old] == [Decimal("10000.00"), Decimal("20000.00")]
    assert quantize(sum(n.amount_incl_tax for n in new)) == contract.amount == Decimal("30000.00")
    assert AuditEntry.objects.filter(action="renewal.quote", target_id=str(contract.pk), actor=org.owner).count() == 1
    assert AuditEntry.objects.filter(action="quote.create", target_id=str(quote.pk)).exists()
    # Once: the deal page links the draft, and asking again gives the same quote.
    page = client.get(renewal.opportunity.get_absolute_url()).content.decode()
    assert f'action="{url}"' not in page and quote.number in page
    assert renewals.renewal_quote_draft(renewal=renewal, actor=org.owner) == quote
    assert quote.opportunity.quotes.count() == 1


def test_a_colleague_on_the_renewal_deal_alone_does_not_copy_the_old_contracts_lines(client, org, delivered_contract):
    """The deal page does not show them the old contract; "renew" would copy its lines and prices into a quote."""
    from closeloop.followup.models import ParticipantRole
    from closeloop.followup.services import participant_add

    ending_in(delivered_contract(), 30)
    assert renewals.renewal_sweep() == 1
    renewal = Renewal.objects.get()
    participant_add(record=renewal.opportunity, user=org.outsider, role=ParticipantRole.SALES, actor=org.owner)
    assert not Contract.objects.visible_to(org.outsider).filter(pk=renewal.contract_id).exists()
    client.force_login(org.outsider)
    url = reverse("service:renewal_quote", args=[renewal.pk])
    page = client.get(renewal.opportunity.get_absolute_url())
    assert page.status_code == 200 and f'action="{url}"' not in page.content.decode()
    assert client.post(url).status_code == 404
    renewal.refresh_from_db()
    assert renewal.quote is None
