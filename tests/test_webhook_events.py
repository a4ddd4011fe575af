"""Each app's webhook events: the real services make them, and the body carries the record as the app's API shows
it (leads, deals, quotes, contracts, service). The sending itself is tested in core/tests/test_webhooks.py."""

import json

import pytest
from django.db import transaction

from closeloop.core.models import Channel, WebhookDelivery, WebhookSubscription
from closeloop.core.webhooks.events import EVENTS
from closeloop.deals.services import conversion
from closeloop.deals.services.opportunities import opportunity_move_stage
from closeloop.leads.models import LeadStatus
from closeloop.leads.services.editing import lead_update
from closeloop.service import surveys, tickets
from closeloop.service.models import Survey, Ticket

from .test_service_matrix import world  # noqa: F401 - the records, built once by the real services


@pytest.fixture
def listen(django_capture_on_commit_callbacks):
    """Subscribe to every event, run a write in a committed transaction, return the bodies it made by event."""
    WebhookSubscription.objects.create(name="OA", url="https://203.0.113.10/hook", events=list(EVENTS))

    def run(write):
        before = WebhookDelivery.objects.order_by("-id").values_list("id", flat=True).first() or 0
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            write()
        return {delivery.event: json.loads(delivery.body)
                for delivery in WebhookDelivery.objects.filter(id__gt=before).order_by("id")}
    return run


def test_every_app_declares_its_events():
    assert {"lead.created", "lead.assigned", "lead.converted", "deal.stage_changed", "deal.won", "deal.lost",
            "quote.sent", "quote.accepted", "quote.declined", "contract.created", "contract.signed",
            "contract.payment_received", "contract.completed", "ticket.created", "ticket.resolved",
            "survey.answered"} <= set(EVENTS)


def test_a_lead_assigned_as_it_comes_in_is_created_and_assigned(org, make_lead, listen):
    bodies = listen(lambda: make_lead(owner=False, company_name="杭州规则分配科技有限公司", region="浙江"))
    assert list(bodies) == ["lead.created"]
    bodies = listen(lambda: make_lead(owner=org.owner))
    assert set(bodies) == {"lead.created", "lead.assigned"}
    assert bodies["lead.assigned"]["data"]["owner"] == "owner"


def test_a_converted_lead(org, world, listen):  # noqa: F811
    lead = world.fresh("qualified_lead")
    bodies = listen(lambda: conversion.lead_convert(lead=lead, actor=org.owner))
    assert bodies["lead.converted"]["data"]["id"] == lead.pk
    assert bodies["lead.converted"]["data"]["status"] == LeadStatus.CONVERTED


def test_a_deal_won_and_lost(org, make_deal, stages, listen):
    deal = make_deal(need="x", budget="1", authority="张总", expected_close_date="2026-12-31", amount="99")
    bodies = listen(lambda: opportunity_move_stage(opportunity=deal, stage=stages["赢单"], actor=org.owner))
    assert set(bodies) == {"deal.stage_changed", "deal.won"}
    assert bodies["deal.won"]["data"]["status"] == "won" and bodies["deal.won"]["data"]["amount"] == "99.00"
    other = make_deal(need="x")
    bodies = listen(lambda: opportunity_move_stage(opportunity=other, stage=stages["输单"], actor=org.owner,
                                                   fields={"lost_reason": "其他"}))
    assert set(bodies) == {"deal.stage_changed", "deal.lost"}
    assert bodies["deal.lost"]["data"]["lost_reason"] == "其他"


def test_quotes_contracts_and_payments(org, world, listen):  # noqa: F811
    from closeloop.contracts import payments
    from closeloop.quotes import services as quotes

    quote = world.fresh("quote")
    bodies = listen(lambda: quotes.quote_send(quote=quote, actor=org.owner))
    assert bodies["quote.sent"]["data"]["id"] == quote.pk and bodies["quote.sent"]["data"]["number"]
    contract = world.fresh("signed_contract")
    bodies = listen(lambda: payments.payment_record(contract=contract, data={"amount": "1000"},
                                                    actor=world.people["finance"]))
    data = bodies["contract.payment_received"]["data"]
    assert data["id"] == contract.pk and data["paid_amount"] == "1000.00"


def test_tickets_and_surveys(org, world, listen):  # noqa: F811
    customer = world.fresh("customer")
    created = listen(lambda: tickets.ticket_create(customer=customer, actor=org.owner, data={
        "title": "无法导出", "description": "点击导出没反应", "priority": "P3"}))
    ticket_id = created["ticket.created"]["data"]["id"]
    ticket = Ticket.objects.get(pk=ticket_id)
    resolved = listen(lambda: tickets.ticket_move(ticket=ticket, status="resolved", actor=org.owner))
    assert resolved["ticket.resolved"]["data"]["status"] == "resolved"
    survey = Survey.objects.get(ticket=ticket)
    answered = listen(lambda: surveys.survey_answer(survey=survey, csat=5, nps=10, comment="很满意"))
    assert answered["survey.answered"]["data"]["csat"] == 5 and answered["survey.answered"]["data"]["id"] == survey.pk


def test_an_edit_that_is_no_event_sends_nothing(org, make_lead, listen):
    lead = make_lead()
    assert listen(lambda: lead_update(lead=lead, data={"need": "想了解价格"}, actor=org.owner,
                                      channel=Channel.WEB)) == {}
