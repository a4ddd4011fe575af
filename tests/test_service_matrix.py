"""Who may change what, asked of the services themselves: every write service of leads, deals (customers,
contacts, deals), follow-up, quotes, contracts and service, called as each role, read as one table. The page,
the API, imports and jobs all end in these calls, so this is the rule they obey alike
(tests/test_permission_matrix.py asks the same of a few pages and routes over HTTP).

A cell is `ok` (the service did it), `403` (PermissionDenied: the person sees the record but may not do this) or
`404` (refused, and the record is not even visible to them).

The world: `owner` (a rep in team A under `manager`) owns a lead from the trade-fair channel (展会, which
`marketer` runs), a customer with a contact, a deal on it with `presales` as its pre-sales participant and a
technical assessment handed off to `receiver` (still pending), its quotes and contracts, a delivery and a
ticket. `teammate` is another rep of team A, `other_manager` leads team B (`outsider`'s team); `finance` and
`service` are in no sales team; `admin` administers. Every call runs in a savepoint that is rolled back, so each
role meets the same world.

`test_every_write_service_has_a_row` walks the service modules: a new public `<entity>_<verb>(..., actor)`
without a row here (or a reason in NOT_IN_THE_TABLE) fails, so nobody adds a write without saying who may do it.
"""

import importlib
import inspect
import pkgutil
import re
from datetime import time, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

import closeloop
from closeloop.contracts import documents, invoices, payments, plans
from closeloop.contracts import services as contracts
from closeloop.contracts.models import SignedVia
from closeloop.core import exports
from closeloop.core.customfields import services as custom_fields
from closeloop.core.errors import DomainError, Forbidden, NotFound
from closeloop.core.models import Channel, Role, User, WebhookDelivery, WebhookSubscription
from closeloop.core.savedviews import services as saved_views
from closeloop.core.webhooks import services as webhooks
from closeloop.core.webhooks.models import SubscriptionStatus
from closeloop.deals import pool as customer_pool
from closeloop.deals.models import Customer
from closeloop.deals.services import conversion, customers, opportunities
from closeloop.followup import activity_templates, tags
from closeloop.followup import services as followup
from closeloop.followup.models import Handoff, ParticipantRole
from closeloop.insights import services as insights
from closeloop.insights import targets
from closeloop.leads import pool as lead_pool
from closeloop.leads.models import ImportJob, ImportStatus, Lead, LeadStatus
from closeloop.leads.services import editing, importing, merge
from closeloop.quotes import approvals, catalog
from closeloop.quotes import services as quotes
from closeloop.quotes.models import ApprovalRequest
from closeloop.service import deliveries, renewals, settings_services, surveys, ticket_forms, tickets
from closeloop.service.models import ServiceSettings, Survey

ROLES = ("owner", "teammate", "manager", "other_manager", "marketer", "presales", "receiver", "finance", "service",
         "outsider", "admin")

PDF = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


class World:
    """The records, each built once (outside the rolled-back savepoints) when a row first needs it; `fresh(name)`
    reads it again from the database, so a call never sees what an earlier role's call left on the instance."""

    def __init__(self, org, make_lead, make_deal, people):
        self.org, self.make_lead, self.make_deal, self.people = org, make_lead, make_deal, people
        self.built = {}

    def build(self, name):
        if name not in self.built:
            self.built[name] = getattr(self, f"_build_{name}")()
        return self.built[name]

    def fresh(self, name):
        record = self.build(name)
        return type(record).objects.get(pk=record.pk)

    # -- saved views: the owner's view of the lead list, shared with team A
    def _build_view(self):
        return saved_views.view_save(list_key="leads", name="本周待跟进", shared=True, actor=self.org.owner,
                                     filters="status=contacting", columns=["contact", "owner"])

    # -- leads
    def _build_lead(self):
        return self.make_lead(source="展会")

    def _build_lead2(self):
        return self.make_lead(source="展会", company_name="上海测试重复科技有限公司")

    def _build_qualified_lead(self):
        lead = self.make_lead(source="展会", need="30人销售团队需要CRM", budget="200000", timeline="3个月内")
        return editing.lead_update(lead=lead, data={"status": LeadStatus.QUALIFIED}, actor=self.org.admin,
                                   channel=Channel.WEB)

    def _build_pooled_lead(self):
        """A lead in the pool, as the pool sweep leaves one nobody followed up."""
        lead = self.make_lead(owner=False, source="展会")
        Lead.objects.filter(pk=lead.pk).update(owner=None, in_pool=True, pooled_at=timezone.now())
        return lead

    # -- customers and deals
    def _build_deal(self):
        org, people = self.org, self.people
        deal = self.make_deal(amount="200000")
        followup.participant_add(record=deal, user=people["presales"], role=ParticipantRole.PRESALES,
                                 actor=org.owner)
        followup.handoff_request(record=deal, assignee=people["receiver"], title="技术评估",
                                 due_at=timezone.now() + timedelta(days=3), actor=org.owner)
        return deal

    def _build_customer(self):
        return self.fresh("deal").customer

    def _build_contact(self):
        return customers.contact_create(customer=self.fresh("customer"), data={"name": "李工"}, actor=self.org.owner)

    def _build_tag(self):
        return tags.tag_save(data={"name": "重点客户", "color": "red"}, actor=self.org.admin)

    def _build_handoff(self):
        return Handoff.objects.get(record_id=self.build("deal").pk, assignee=self.people["receiver"])

    def _build_lone_customer(self):
        """A customer of the owner with no open deal (one with an open deal is transferred, not released)."""
        return customers.customer_create(data={"name": "苏州闲置客户实业有限公司"}, actor=self.org.owner)

    def _build_pooled_customer(self):
        """A customer in the pool that none of the roles held lately: a released one keeps its releaser out for the
        reclaim cool-down (`test_pool`), which is not who may claim."""
        customer = self.fresh("lone_customer")
        Customer.objects.filter(pk=customer.pk).update(owner=None, pooled_at=timezone.now(), owned_since=None)
        return customer

    # -- quotes
    def _build_product(self):
        return catalog.product_save(actor=self.org.admin, data={
            "code": "CRM-STD", "name": "CRM标准版", "unit": "套", "list_price": "10000", "cost": "4000",
            "tax_rate": "13", "price_includes_tax": True})

    def _quote(self, price="10000"):
        quote = quotes.quote_create(opportunity=self.fresh("deal"), actor=self.org.owner)
        quotes.quote_line_add(quote=quote, actor=self.org.owner, data={
            "product": self.build("product").pk, "unit_price": price, "discount_pct": "0", "quantity": "1"})
        quote.refresh_from_db()
        return quote

    def _build_quote(self):
        return self._quote()

    def _build_line(self):
        return self.fresh("quote").current_version.lines.get()

    def _build_sent_quote(self):
        return quotes.quote_send(quote=self._quote(), actor=self.org.owner)

    def _build_accepted_quote(self):
        quote = self._quote()
        quotes.quote_send(quote=quote, actor=self.org.owner)
        quotes.quote_decide(quote=quote, accept=True, actor=None, name="周敏", phone="13912345678")
        quote.refresh_from_db()
        return quote

    def _build_quote_awaiting(self):
        """A quote 40% off list waiting for the owner's manager to approve it."""
        catalog.approval_rule_save(actor=self.org.admin, approvers=[], data={
            "kind": "quote", "name": "折扣超过15%", "metric": "discount_pct", "operator": "gt", "threshold": "15",
            "chain": "managers", "levels": 1})
        quote = self._quote(price="6000")
        return quotes.quote_submit(quote=quote, actor=self.org.owner)

    def _build_approval(self):
        return ApprovalRequest.objects.get(target_id=self.build("quote_awaiting").pk, kind="quote")

    # -- contracts
    def _build_contract(self):
        """A draft contract from an accepted quote with a plan of 30% on signing and 70% on acceptance."""
        contract = contracts.contract_create_from_quote(quote=self.fresh("accepted_quote"), actor=self.org.owner)
        plans.payment_plan_save(contract=contract, actor=self.org.owner, instalments=[
            {"title": "首付款", "condition": "on_signing", "days_after": "7", "percentage": "30"},
            {"title": "验收款", "condition": "on_acceptance", "days_after": "10", "percentage": "70"}])
        contract.refresh_from_db()
        return contract

    def _build_pending_contract(self):
        """Submitted over a rule (contracts above ¥5,000 need the owner's manager): waiting for approval."""
        catalog.approval_rule_save(actor=self.org.admin, data={
            "kind": "contract", "name": "合同金额超过2万", "metric": "amount", "operator": "gt", "threshold": "5000",
            "chain": "managers", "levels": 1})
        return contracts.contract_submit(contract=self.fresh("contract"), actor=self.org.owner)

    def _build_submitted_contract(self):
        """Submitted with no approval rule: approved at once, waiting to be signed."""
        return contracts.contract_submit(contract=self.fresh("contract"), actor=self.org.owner)

    def _build_signed_contract(self):
        return contracts.contract_sign(contract=self.fresh("submitted_contract"), actor=self.org.owner,
                                       sign_date=None, via=SignedVia.SCAN)

    def _build_paid_contract(self):
        """Signed and paid in full (finance recorded ¥30,000), its delivery not tracked in Closeloop."""
        contract = self.fresh("signed_contract")
        payments.payment_record(contract=contract, data={"amount": str(contract.amount)}, actor=self.people["finance"])
        return contract

    def _build_payment(self):
        return payments.payment_record(contract=self.fresh("signed_contract"), data={"amount": "5000"},
                                       actor=self.people["finance"])

    def _build_invoice_request(self):
        return invoices.invoice_request_create(contract=self.fresh("signed_contract"), actor=self.org.owner, data={
            "amount": "9000", "invoice_type": "special", "buyer_tax_id": "91330106MA2B1C2D3E"})

    # -- service
    def _build_delivery(self):
        return deliveries.delivery_create(contract=self.fresh("signed_contract"), actor=self.org.owner,
                                          owner=self.people["service"], milestones=[
                                              {"name": "需求调研", "planned_date": timezone.localdate()}])

    def _build_milestone(self):
        return self.fresh("delivery").milestones.get()

    # -- core: outbound webhooks (settings of administrators)
    def _build_custom_field(self):
        return custom_fields.custom_field_create(target="leads.Lead", key="sub_industry", field_type="text",
                                                 data={"label_zh": "细分行业"}, actor=self.people["admin"])

    def _build_webhook(self):
        return WebhookSubscription.objects.create(name="OA", url="https://203.0.113.10/hook", events=["lead.created"],
                                                  created_by=self.people["admin"])

    def _build_paused_webhook(self):
        return WebhookSubscription.objects.create(name="财务", url="https://203.0.113.11/hook",
                                                  events=["deal.won"], status=SubscriptionStatus.PAUSED)

    def _build_webhook_delivery(self):
        return WebhookDelivery.objects.create(subscription=self.build("webhook"), event="lead.created",
                                              record_type="leads.Lead", record_id=self.build("lead").pk)

    def _build_ticket(self):
        return tickets.ticket_create(customer=self.fresh("customer"), actor=self.org.owner, data={
            "title": "系统登录报错", "description": "登录后提示500错误", "priority": "P3"})

    def _build_survey(self):
        """The survey that went to the customer when after-sales service resolved the ticket."""
        tickets.ticket_move(ticket=self.fresh("ticket"), status="resolved", actor=self.people["service"])
        return Survey.objects.get(ticket=self.build("ticket"))

    # -- an import the owner queued
    def _build_import_job(self):
        return ImportJob.objects.create(created_by=self.org.owner, original_name="名片.xlsx", file_kind="xlsx",
                                        status=ImportStatus.QUEUED)

    def _build_service_manager(self):
        """After-sales `service` is also the service manager named in the service settings."""
        ServiceSettings.objects.update_or_create(pk=1, defaults={"service_manager": self.people["service"]})
        return self.people["service"]

    def _build_renewal_deal(self):
        """The renewal deal the sweep opened for the signed contract, ending in a month, for its owner."""
        contract = self.fresh("signed_contract")
        type(contract).objects.filter(pk=contract.pk).update(end_date=timezone.localdate() + timedelta(days=30))
        return renewals.renewal_open(contract_id=contract.pk).opportunity


def some_or_refused(count: int) -> int:
    """A bulk service skips what the person may not change: none changed reads as a refusal."""
    if not count:
        raise PermissionDenied
    return count


def pdf(name="扫描件.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


# A row: the service, the record whose visibility tells 403 from 404, the call (the world, the person acting),
# then the answer for each role in the order of ROLES. The comment above a group says why a cell may surprise.
P = "presales"
MATRIX = [
    #                                                                                 own team mgr omgr mkt pre rcv fin svc out adm
    # Leads: the owner's side works them; marketing sees its channels' leads but does not work them.
    ("leads.services.editing.lead_update", "lead",
     lambda w, a: editing.lead_update(lead=w.fresh("lead"), data={"city": "苏州"}, actor=a, channel=Channel.WEB),
     "ok 404 ok 404 403 404 404 404 404 404 ok"),
    ("leads.services.editing.lead_disqualify", "lead",
     lambda w, a: editing.lead_disqualify(lead=w.fresh("lead"), reason="no_need", actor=a),
     "ok 404 ok 404 403 404 404 404 404 404 ok"),
    # Giving a lead to someone else is a manager's say, as every transfer is: the owner cannot pass it on.
    ("leads.services.editing.lead_assign", "lead",
     lambda w, a: editing.lead_assign(lead=w.fresh("lead"), owner=w.org.teammate, actor=a),
     "403 404 ok 404 403 404 404 404 404 404 ok"),
    ("leads.services.merge.lead_merge", "lead",
     lambda w, a: merge.lead_merge(survivor=w.fresh("lead"), others=[w.fresh("lead2")], field_choices={}, actor=a),
     "ok 404 ok 404 403 404 404 404 404 404 ok"),
    # An import holds a whole sheet of contacts: its uploader and administrators only, even for a manager.
    ("leads.services.importing.import_job_cancel", "import_job",
     lambda w, a: importing.import_job_cancel(job=w.fresh("import_job"), actor=a),
     "ok 404 404 404 404 404 404 404 404 404 ok"),
    # Returning a lead to the pool is the owner's side's, as a customer's release is.
    ("leads.pool.lead_release", "lead",
     lambda w, a: lead_pool.lead_release(lead=w.fresh("lead"), reason="联系不上", actor=a),
     "ok 404 ok 404 403 404 404 404 404 404 ok"),
    # The list's bulk return: the same rule lead by lead (a lead the person may not release is told back, not done).
    ("leads.pool.leads_release", "lead",
     lambda w, a: some_or_refused(len(lead_pool.leads_release(leads=[w.fresh("lead")], reason="联系不上",
                                                              actor=a).released)),
     "ok 404 ok 404 403 404 404 404 404 404 ok"),
    # The pool is open to the sales side only (marketing sees its channels' pooled leads, claims none).
    ("leads.pool.lead_claim", "pooled_lead",
     lambda w, a: lead_pool.lead_claim(lead=w.fresh("pooled_lead"), actor=a),
     "ok ok ok ok 403 404 404 404 404 ok ok"),
    ("deals.services.conversion.lead_convert", "qualified_lead",
     lambda w, a: conversion.lead_convert(lead=w.fresh("qualified_lead"), actor=a),
     "ok 404 ok 404 403 404 404 404 404 404 ok"),
    # Customers and contacts: the owner's side; a deal's pre-sales participant sees the customer, changes nothing.
    ("deals.services.customers.customer_update", "customer",
     lambda w, a: customers.customer_update(customer=w.fresh("customer"), data={"city": "杭州"}, actor=a),
     "ok 404 ok 404 404 403 404 404 404 404 ok"),
    ("deals.services.customers.customer_transfer", "customer",
     lambda w, a: customers.customer_transfer(customer=w.fresh("customer"), new_owner=w.org.teammate, actor=a,
                                              reason="调岗"),
     "403 404 ok 404 404 403 404 404 404 404 ok"),
    ("deals.pool.customer_release", "lone_customer",
     lambda w, a: customer_pool.customer_release(customer=w.fresh("lone_customer"), actor=a, reason="quiet"),
     "ok 404 ok 404 404 404 404 404 404 404 ok"),
    ("deals.pool.customer_claim", "pooled_customer",
     lambda w, a: customer_pool.customer_claim(customer=w.fresh("pooled_customer"), actor=a),
     "ok ok ok ok 404 404 404 404 404 ok ok"),
    ("deals.services.customers.contact_create", "customer",
     lambda w, a: customers.contact_create(customer=w.fresh("customer"), data={"name": "王工"}, actor=a),
     "ok 404 ok 404 404 403 404 404 404 404 ok"),
    ("deals.services.customers.contact_update", "customer",
     lambda w, a: customers.contact_update(contact=w.fresh("contact"), data={"title": "CTO"}, actor=a),
     "ok 404 ok 404 404 403 404 404 404 404 ok"),
    ("deals.services.customers.contact_delete", "customer",
     lambda w, a: customers.contact_delete(contact=w.fresh("contact"), actor=a),
     "ok 404 ok 404 404 403 404 404 404 404 ok"),
    # A new customer for the owner: theirs to make, or their manager's; a colleague may not hand them one.
    ("deals.services.customers.customer_create", None,
     lambda w, a: customers.customer_create(data={"name": "宁波新客户实业有限公司"}, owner=w.org.owner, actor=a),
     "ok 403 ok 403 403 403 403 403 403 403 ok"),
    # Deals: pre-sales takes part but does not change the deal; the pending receiver only answers the hand-off.
    ("deals.services.opportunities.opportunity_create", "customer",
     lambda w, a: opportunities.opportunity_create(customer=w.fresh("customer"), data={"name": "二期"}, actor=a),
     "ok 404 ok 404 404 403 404 404 404 404 ok"),
    ("deals.services.opportunities.opportunity_update", "deal",
     lambda w, a: opportunities.opportunity_update(opportunity=w.fresh("deal"), data={"amount": "1"}, actor=a),
     "ok 404 ok 404 404 403 403 404 404 404 ok"),
    ("deals.services.opportunities.opportunity_move_stage", "deal",
     lambda w, a: opportunities.opportunity_move_stage(
         opportunity=w.fresh("deal"), actor=a,
             stage=w.fresh("deal").pipeline.stages.get(name="需求确认"), fields={"need": "30人销售团队需要CRM"}),
     "ok 404 ok 404 404 403 403 404 404 404 ok"),
    ("deals.services.opportunities.opportunity_transfer", "deal",
     lambda w, a: opportunities.opportunity_transfer(opportunity=w.fresh("deal"), new_owner=w.org.teammate,
                                                     actor=a, reason="调岗"),
     "403 404 ok 404 404 403 403 404 404 404 ok"),
    # The follow-up family on a deal.
    ("followup.services.activity_log", "deal",
     lambda w, a: followup.activity_log(record=w.fresh("deal"), data={"kind": "call", "content": "沟通需求"}, actor=a),
     "ok 404 ok 404 404 ok 403 404 404 404 ok"),
    ("followup.services.comment_add", "deal",
     lambda w, a: followup.comment_add(record=w.fresh("deal"), body="方案下周给到", actor=a),
     "ok 404 ok 404 404 ok 403 404 404 404 ok"),
    ("followup.services.participant_add", "deal",
     lambda w, a: followup.participant_add(record=w.fresh("deal"), user=w.org.teammate,
                                           role=ParticipantRole.SALES, actor=a),
     "ok 404 ok 404 404 403 403 404 404 404 ok"),
    # Anyone may leave a record; taking someone else off is the owner's side's.
    ("followup.services.participant_remove", "deal",
     lambda w, a: followup.participant_remove(record=w.fresh("deal"), user=w.people[P], actor=a),
     "ok 404 ok 404 404 ok 403 404 404 404 ok"),
    ("followup.services.handoff_request", "deal",
     lambda w, a: followup.handoff_request(record=w.fresh("deal"), assignee=w.people["service"], title="上门演示",
                                           due_at=timezone.now() + timedelta(days=2), actor=a),
     "ok 404 ok 404 404 403 403 404 404 404 ok"),
    ("followup.services.handoff_respond", "deal",
     lambda w, a: followup.handoff_respond(handoff=w.fresh("handoff"), accept=True, actor=a),
     "403 404 403 404 404 403 ok 404 404 404 403"),
    ("followup.services.handoff_complete", "deal",
     lambda w, a: followup.handoff_complete(
         handoff=followup.handoff_respond(handoff=w.fresh("handoff"), accept=True, actor=w.people["receiver"]),
         actor=a),
     "403 404 403 404 404 403 ok 404 404 404 403"),
    # Tags: an administrator defines them; who may edit a record sets its tags (one by one or in bulk, where a
    # record the person may not edit is skipped, so the row refuses when nothing was tagged).
    ("followup.tags.tag_save", None,
     lambda w, a: tags.tag_save(data={"name": "政府", "color": "blue"}, actor=a),
     "403 403 403 403 403 403 403 403 403 403 ok"),
    ("followup.tags.tag_delete", None,
     lambda w, a: tags.tag_delete(tag=w.build("tag"), actor=a),
     "403 403 403 403 403 403 403 403 403 403 ok"),
    ("followup.tags.record_tags_set", "deal",
     lambda w, a: tags.record_tags_set(record=w.fresh("deal"), tags=[w.build("tag")], actor=a),
     "ok 404 ok 404 404 403 403 404 404 404 ok"),
    ("followup.tags.records_tag_add", "deal",
     lambda w, a: some_or_refused(tags.records_tag_add(records=[w.fresh("deal")], tag=w.build("tag"), actor=a)),
     "ok 404 ok 404 404 403 403 404 404 404 ok"),
    # Saved views (视图): anyone saves their own; the owner (or an administrator) changes and deletes one; the team's
    # manager (or an administrator) makes a shared one the team's default. Team A sees the shared view.
    # A large export (core/exports.py): anyone signed in queues one of what they see; the job replays the list's
    # export as them, so it holds no more than their list.
    ("core.exports.export_job_create", None,
     lambda w, a: exports.export_job_create(path="/leads/export/", query="q=上海", label="线索", total_rows=30000,
                                            actor=a),
     "ok ok ok ok ok ok ok ok ok ok ok"),
    ("core.savedviews.services.view_save", None,
     lambda w, a: saved_views.view_save(list_key="deals", name="我的大单", shared=False, actor=a, sort="-amount",
                                        columns=["amount"]),
     "ok ok ok ok ok ok ok ok ok ok ok"),
    ("core.savedviews.services.view_save", "view",
     lambda w, a: saved_views.view_save(view=w.fresh("view"), list_key="leads", name="改名", shared=True, actor=a),
     "ok 403 403 404 404 404 404 404 404 404 ok"),
    ("core.savedviews.services.view_delete", "view",
     lambda w, a: saved_views.view_delete(view=w.fresh("view"), actor=a),
     "ok 403 403 404 404 404 404 404 404 404 ok"),
    ("core.savedviews.services.view_set_team_default", "view",
     lambda w, a: saved_views.view_set_team_default(list_key="leads", department=w.org.team_a,
                                                    view=w.fresh("view"), actor=a),
     "403 403 ok 404 404 404 404 404 404 404 ok"),
    # Follow-up templates are settings: an administrator's.
    ("followup.activity_templates.activity_template_save", None,
     lambda w, a: activity_templates.activity_template_save(kind="call", data={"fields": "通话对象*"}, actor=a),
     "403 403 403 403 403 403 403 403 403 403 ok"),
    # Quotes: the owner's side and pre-sales build them; finance reads them.
    ("quotes.services.quote_create", "deal",
     lambda w, a: quotes.quote_create(opportunity=w.fresh("deal"), actor=a),
     "ok 404 ok 404 404 ok 403 404 404 404 ok"),
    ("quotes.services.quote_update", "quote",
     lambda w, a: quotes.quote_update(quote=w.fresh("quote"), data={"notes": "含一年维保"}, actor=a),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    ("quotes.services.quote_line_add", "quote",
     lambda w, a: quotes.quote_line_add(quote=w.fresh("quote"), actor=a, data={
         "product": w.build("product").pk, "unit_price": "10000", "discount_pct": "0", "quantity": "1"}),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    ("quotes.services.quote_line_update", "quote",
     lambda w, a: quotes.quote_line_update(line=w.fresh("line"), data={"quantity": "2"}, actor=a),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    ("quotes.services.quote_line_remove", "quote",
     lambda w, a: quotes.quote_line_remove(line=w.fresh("line"), actor=a),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    ("quotes.services.quote_submit", "quote",
     lambda w, a: quotes.quote_submit(quote=w.fresh("quote"), actor=a),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    ("quotes.services.quote_withdraw", "quote_awaiting",
     lambda w, a: quotes.quote_withdraw(quote=w.fresh("quote_awaiting"), actor=a),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    ("quotes.services.quote_send", "quote",
     lambda w, a: quotes.quote_send(quote=w.fresh("quote"), actor=a),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    ("quotes.services.quote_revise", "sent_quote",
     lambda w, a: quotes.quote_revise(quote=w.fresh("sent_quote"), actor=a),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    # Recording the customer's answer (signed in); the customer answers on the public link with no actor.
    ("quotes.services.quote_decide", "sent_quote",
     lambda w, a: quotes.quote_decide(quote=w.fresh("sent_quote"), accept=True, actor=a, name="周敏"),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    # Approving is the approver's (the owner's manager here) or an administrator's.
    ("quotes.approvals.approval_decide", "quote_awaiting",
     lambda w, a: approvals.approval_decide(request=w.fresh("approval"), approve=True, actor=a),
     "403 404 ok 404 404 403 403 403 404 404 ok"),
    # Contracts: the selling side drafts, submits and signs; an approved one is the managers' and finance's.
    ("contracts.services.contract_create_from_quote", "accepted_quote",
     lambda w, a: contracts.contract_create_from_quote(quote=w.fresh("accepted_quote"), actor=a),
     "ok 404 ok 404 404 ok 403 403 404 404 ok"),
    ("contracts.services.contract_create_from_deal", "deal",
     lambda w, a: contracts.contract_create_from_deal(opportunity=w.fresh("deal"), data={"amount": "200000"},
                                                      actor=a),
     "ok 404 ok 404 404 ok 403 404 404 404 ok"),
    ("contracts.services.contract_update", "contract",
     lambda w, a: contracts.contract_update(contract=w.fresh("contract"), data={"title": "改"}, actor=a),
     "ok 404 ok 404 404 403 403 403 404 404 ok"),
    ("contracts.plans.payment_plan_save", "contract",
     lambda w, a: plans.payment_plan_save(contract=w.fresh("contract"), actor=a, instalments=[
         {"title": "全款", "condition": "on_signing", "days_after": "7", "percentage": "100"}]),
     "ok 404 ok 404 404 403 403 403 404 404 ok"),
    ("contracts.services.contract_submit", "contract",
     lambda w, a: contracts.contract_submit(contract=w.fresh("contract"), actor=a),
     "ok 404 ok 404 404 403 403 403 404 404 ok"),
    ("contracts.services.contract_withdraw", "pending_contract",
     lambda w, a: contracts.contract_withdraw(contract=w.fresh("pending_contract"), actor=a),
     "ok 404 ok 404 404 403 403 403 404 404 ok"),
    ("contracts.services.contract_reopen", "submitted_contract",
     lambda w, a: contracts.contract_reopen(contract=w.fresh("submitted_contract"), actor=a, reason="改条款"),
     "403 404 ok 404 404 403 403 403 404 404 ok"),
    ("contracts.services.contract_sign", "submitted_contract",
     lambda w, a: contracts.contract_sign(contract=w.fresh("submitted_contract"), actor=a, sign_date=None,
                                          via=SignedVia.SCAN),
     "ok 404 ok 404 404 403 403 403 404 404 ok"),
    ("contracts.documents.document_upload", "submitted_contract",
     lambda w, a: documents.document_upload(contract=w.fresh("submitted_contract"), upload=pdf(), actor=a),
     "ok 404 ok 404 404 403 403 403 404 404 ok"),
    ("contracts.services.contract_start", "signed_contract",
     lambda w, a: contracts.contract_start(contract=w.fresh("signed_contract"), actor=a),
     "ok 404 ok 404 404 403 403 403 404 404 ok"),
    ("contracts.services.contract_complete", "paid_contract",
     lambda w, a: contracts.contract_complete(contract=w.fresh("paid_contract"), actor=a),
     "ok 404 ok 404 404 403 403 ok 404 404 ok"),
    # After-sales service records a delivery's acceptance on the delivery they run, though not shown the contract.
    ("contracts.services.contract_delivery_accept", "signed_contract",
     lambda w, a: contracts.contract_delivery_accept(contract=w.fresh("signed_contract"), actor=a,
                                                     accepted_on=timezone.localdate()),
     "ok 404 ok 404 404 403 403 ok ok 404 ok"),
    ("contracts.services.contract_terminate", "signed_contract",
     lambda w, a: contracts.contract_terminate(contract=w.fresh("signed_contract"), actor=a, reason="客户取消"),
     "403 404 ok 404 404 403 403 403 404 404 ok"),
    # Money: finance records and voids payments and issues invoices; the selling side asks for invoices.
    ("contracts.payments.payment_record", "signed_contract",
     lambda w, a: payments.payment_record(contract=w.fresh("signed_contract"), data={"amount": "1000"}, actor=a),
     "403 404 403 404 404 403 403 ok 404 404 ok"),
    ("contracts.payments.payment_void", "signed_contract",
     lambda w, a: payments.payment_void(payment=w.fresh("payment"), actor=a, reason="录错了"),
     "403 404 403 404 404 403 403 ok 404 404 ok"),
    ("contracts.invoices.invoice_request_create", "signed_contract",
     lambda w, a: invoices.invoice_request_create(contract=w.fresh("signed_contract"), actor=a, data={
         "amount": "9000", "invoice_type": "special", "buyer_tax_id": "91330106MA2B1C2D3E"}),
     "ok 404 ok 404 404 403 403 403 404 404 ok"),
    ("contracts.invoices.invoice_issue", "signed_contract",
     lambda w, a: invoices.invoice_issue(request=w.fresh("invoice_request"), data={"invoice_number": "12345678"},
                                         actor=a),
     "403 404 403 404 404 403 403 ok 404 404 ok"),
    ("contracts.invoices.invoice_reject", "signed_contract",
     lambda w, a: invoices.invoice_reject(request=w.fresh("invoice_request"), reason="抬头不对", actor=a),
     "403 404 403 404 404 403 403 ok 404 404 ok"),
    # Who asked takes the request back; finance answers it with a rejection instead.
    ("contracts.invoices.invoice_cancel", "signed_contract",
     lambda w, a: invoices.invoice_cancel(request=w.fresh("invoice_request"), actor=a),
     "ok 404 ok 404 404 403 403 403 404 404 ok"),
    # Deliveries: the contract's people and after-sales service run them.
    ("service.deliveries.delivery_create", "signed_contract",
     lambda w, a: deliveries.delivery_create(contract=w.fresh("signed_contract"), actor=a),
     "ok 404 ok 404 404 403 403 403 ok 404 ok"),
    ("service.deliveries.delivery_update", "delivery",
     lambda w, a: deliveries.delivery_update(delivery=w.fresh("delivery"), data={"notes": "分两期"}, actor=a),
     "ok 404 ok 404 404 403 403 403 ok 404 ok"),
    ("service.deliveries.milestone_add", "delivery",
     lambda w, a: deliveries.milestone_add(delivery=w.fresh("delivery"), name="培训", owner=None, actor=a,
                                           planned_date=timezone.localdate()),
     "ok 404 ok 404 404 403 403 403 ok 404 ok"),
    ("service.deliveries.milestone_update", "delivery",
     lambda w, a: deliveries.milestone_update(milestone=w.fresh("milestone"), actor=a,
                                              data={"done_date": timezone.localdate()}),
     "ok 404 ok 404 404 403 403 403 ok 404 ok"),
    ("service.deliveries.delivery_accept_by_form", "delivery",
     lambda w, a: deliveries.delivery_accept_by_form(delivery=w.fresh("delivery"), upload=pdf("验收单.pdf"),
                                                     accepted_on=None, actor=a),
     "ok 404 ok 404 404 403 403 403 ok 404 ok"),
    # Tickets: raised by whoever sees the customer, dispatched by service, worked by service and the customer's side.
    ("service.tickets.ticket_create", "customer",
     lambda w, a: tickets.ticket_create(customer=w.fresh("customer"), actor=a, data={
         "title": "无法导出", "description": "点击导出没反应", "priority": "P3"}),
     "ok 404 ok 404 404 ok 404 404 ok 404 ok"),
    ("service.tickets.ticket_assign", "ticket",
     lambda w, a: tickets.ticket_assign(ticket=w.fresh("ticket"), assignee=w.people["service"], actor=a),
     "403 404 403 404 404 403 404 404 ok 404 ok"),
    ("service.tickets.ticket_update", "ticket",
     lambda w, a: tickets.ticket_update(ticket=w.fresh("ticket"), data={"priority": "P2"}, actor=a),
     "ok 404 ok 404 404 403 404 404 ok 404 ok"),
    ("service.tickets.ticket_reply", "ticket",
     lambda w, a: tickets.ticket_reply(ticket=w.fresh("ticket"), body="您好，已经定位问题。", actor=a),
     "ok 404 ok 404 404 403 404 404 ok 404 ok"),
    ("service.tickets.ticket_move", "ticket",
     lambda w, a: tickets.ticket_move(ticket=w.fresh("ticket"), status="resolved", actor=a),
     "ok 404 ok 404 404 403 404 404 ok 404 ok"),
    # The customer's own people hand it its public ticket form; a deal's pre-sales participant raises tickets only.
    ("service.ticket_forms.ticket_form_share", "customer",
     lambda w, a: ticket_forms.ticket_form_share(customer=w.fresh("customer"), actor=a),
     "ok 404 ok 404 404 403 404 404 404 404 ok"),
    # A survey nobody answered is sent again by whoever may work its ticket.
    ("service.surveys.survey_resend", "ticket",
     lambda w, a: surveys.survey_resend(survey=w.fresh("survey"), actor=a),
     "ok 404 ok 404 404 403 404 404 ok 404 ok"),
    # "Renew" drafts the quote with quote_create's rights on the renewal deal (the account owner's; the old deal's
    # pre-sales participant is not on the new one).
    ("service.renewals.renewal_quote_draft", "renewal_deal",
     lambda w, a: renewals.renewal_quote_draft(renewal=w.fresh("renewal_deal").renewal_of, actor=a),
     "ok 404 ok 404 404 404 404 404 404 404 ok"),
    # SLA targets and customers' tiers: administrators and the service manager (here `service`) alone.
    ("service.settings_services.sla_policies_save", None,
     lambda w, a: w.build("service_manager") and settings_services.sla_policies_save(actor=a, policies=[
         {"priority": "P1", "tier": "", "first_response_minutes": 30, "resolution_minutes": 240}]),
     "403 403 403 403 403 403 403 403 ok 403 ok"),
    ("service.settings_services.customer_tier_set", "customer",
     lambda w, a: w.build("service_manager") and settings_services.customer_tier_set(
         customer=w.fresh("customer"), tier="vip", actor=a),
     "403 404 403 404 404 403 404 404 ok 404 ok"),
]

ADMIN_ONLY = "403 403 403 403 403 403 403 403 403 403 ok"
MATRIX += [
    ("core.webhooks.services.webhook_subscription_save", None,
     lambda w, a: webhooks.webhook_subscription_save(subscription=w.fresh("webhook"), data={"name": "OA 系统"}, actor=a),
     ADMIN_ONLY),
    ("core.webhooks.services.webhook_subscription_rotate_secret", None,
     lambda w, a: webhooks.webhook_subscription_rotate_secret(subscription=w.fresh("webhook"), actor=a), ADMIN_ONLY),
    ("core.webhooks.services.webhook_subscription_pause", None,
     lambda w, a: webhooks.webhook_subscription_pause(subscription=w.fresh("webhook"), actor=a), ADMIN_ONLY),
    ("core.webhooks.services.webhook_subscription_resume", None,
     lambda w, a: webhooks.webhook_subscription_resume(subscription=w.fresh("paused_webhook"), actor=a), ADMIN_ONLY),
    ("core.webhooks.services.webhook_subscription_delete", None,
     lambda w, a: webhooks.webhook_subscription_delete(subscription=w.fresh("webhook"), actor=a), ADMIN_ONLY),
    ("core.webhooks.services.webhook_delivery_replay", None,
     lambda w, a: webhooks.webhook_delivery_replay(delivery=w.fresh("webhook_delivery"), actor=a), ADMIN_ONLY),
    # Refused before any request is made: a documentation address (203.0.113.0/24) is not public.
    ("core.webhooks.services.webhook_send_test", None,
     lambda w, a: webhooks.webhook_send_test(subscription=w.fresh("paused_webhook"), actor=a), ADMIN_ONLY),
]

# Custom fields and the insights' settings: administrators alone; targets: whoever leads the rep's team, and
# administrators.
MATRIX += [
    ("core.customfields.services.custom_field_create", None,
     lambda w, a: custom_fields.custom_field_create(target="deals.Customer", key="tier_note", field_type="text",
                                                    data={"label_zh": "分级说明"}, actor=a), ADMIN_ONLY),
    ("core.customfields.services.custom_field_update", None,
     lambda w, a: custom_fields.custom_field_update(field=w.fresh("custom_field"), data={"label_zh": "行业细分"},
                                                    actor=a), ADMIN_ONLY),
    ("core.customfields.services.custom_field_hide", None,
     lambda w, a: custom_fields.custom_field_hide(field=w.fresh("custom_field"), hidden=True, actor=a), ADMIN_ONLY),
    ("core.customfields.services.custom_field_index", None,
     lambda w, a: custom_fields.custom_field_index(field=w.fresh("custom_field"), indexed=True, actor=a), ADMIN_ONLY),
    ("insights.services.radar_settings_save", None,
     lambda w, a: insights.radar_settings_save(actor=a, kinds=[], data={}), ADMIN_ONLY),
    ("insights.services.digest_settings_save", None,
     lambda w, a: insights.digest_settings_save(actor=a, send_at=time(8, 30)), ADMIN_ONLY),
    ("insights.targets.target_save", None,
     lambda w, a: targets.target_save(actor=a, month=timezone.localdate(), user=w.people["owner"],
                                      data={"won_amount": "300000"}),
     "403 403 ok 403 403 403 403 403 403 403 ok"),
]

# Functions with an `actor` that are not a person's write of their own, each with why it has no row.
NOT_IN_THE_TABLE = {
    # Steps inside another service, which checked the right before calling them.
    "contracts.services.contract_approval_decided": "called by approval_decide once the last approver agreed",
    "quotes.services.quote_approval_decided": "called by approval_decide once the last approver agreed",
    "contracts.services.start": "contract_start's step, also run by delivery_create",
    "contracts.services.complete": "contract_complete's step",
    "quotes.approvals.approval_submit": "quote_submit's and contract_submit's step, which check who may submit",
    "quotes.approvals.approval_cancel": "quote_withdraw's, contract_withdraw's and contract_terminate's step",
    "contracts.services.complete_if_done": "run by payment_record and the delivery's acceptance",
    "deals.pool.claim_pooled": "customer_claim's step, and an administrator's assignment",
    "deals.services.customers.can_delete_contact": "a predicate, not a write",
    "deals.services.ownership.check_may_give": "customer_create's and opportunity_create's check",
    "leads.pool.claim_check": "lead_claim's and customer_claim's cap check",
    "leads.pool.lock_claimer": "lead_claim's and customer_claim's lock",
    "service.tickets.ticket_fields": "ticket_create's and ticket_update's parsing",
    "leads.dedup.check_intake": "lead_submit's duplicate check",
    "leads.dedup.confirm_in_transaction": "lead_submit's duplicate check",
    "leads.assignment.assign_new_lead": "lead_submit's assignment rules",
    "leads.assignment.after_intake": "lead_submit's assignment rules",
    "leads.assignment.after_intake_batch": "lead_submit_batch's assignment rules",
    "leads.services.intake.lead_touch": "lead_submit's answer to a duplicate",
    # Intake: anyone signed in (and the public form, with no one) may submit a lead; tested with the channels.
    "leads.services.intake.lead_submit": "every channel may submit; leads/tests/test_intake*",
    "leads.services.batch.lead_submit_batch": "an import's rows, started by import_job_start",
    "leads.services.importing.import_job_create": "anyone may import their own file; leads/tests/test_import*",
    "leads.services.importing.import_job_start": "the import's owner; leads/tests/test_import*",
    # Settings: administrators only (one check each, tested beside them).
    "contracts.config.contract_settings_save": "settings",
    "deals.services.pipelines.pipeline_save": "settings",
    "deals.services.pipelines.stage_save": "settings",
    "deals.services.pipelines.stage_move": "settings (administrators: deals/tests/test_stage_move.py)",
    "deals.services.pipelines.stage_delete": "settings",
    "deals.services.pipelines.reason_save": "settings",
    "leads.rule_services.channel_policies_save": "settings",
    "leads.rule_services.quality_settings_update": "settings",
    "leads.rule_services.scoring_rule_save": "settings",
    "leads.rule_services.scoring_rule_delete": "settings",
    "leads.rule_services.assignment_rule_save": "settings",
    "leads.rule_services.assignment_rule_delete": "settings",
    "leads.rule_services.assignment_rule_move": "settings",
    "leads.services_campaigns.campaign_save": "marketing settings",
    "leads.services_campaigns.campaign_regenerate_key": "marketing settings",
    "leads.services_campaigns.lead_source_create": "settings",
    "leads.services_campaigns.lead_source_update": "settings",
    "leads.services_campaigns.lead_source_move": "settings",
    "quotes.catalog.product_save": "the catalogue: settings",
    "quotes.catalog.product_import": "the catalogue: settings",
    "quotes.catalog.tax_rate_save": "settings",
    "quotes.catalog.quote_settings_save": "settings",
    "quotes.catalog.pipeline_quote_settings_save": "settings",
    "quotes.catalog.quote_template_save": "settings",
    "quotes.catalog.approval_rule_save": "settings",
    "service.settings_services.service_settings_save": "settings",
    "contracts.services.contract_delivery_record": "refused to everyone while deliveries record acceptance (test_deliveries)",
    # Custom fields: the cleaning step every record service runs on the values it is given.
    "core.customfields.registry.clean_custom": "the record services' step, which checked the right",
    "core.customfields.registry.clean_record": "the record services' step, which checked the right",
    "core.customfields.registry.clean_new": "the record services' step, which checked the right",
    # Targets: who may set whose targets (reads), and an import of rows each checked as target_save checks them.
    "insights.targets.target_people": "a read: the people whose targets the actor sets",
    "insights.targets.target_teams": "a read: the teams whose targets the actor sets",
    "insights.targets.may_set": "a predicate, not a write",
    "insights.targets.targets_import": "target_save's rule per row; insights/tests/test_targets.py",
}

SERVICE_APPS = ("leads", "deals", "followup", "quotes", "contracts", "service", "insights")
# Core's packages whose writes are in the table too (the rest of core's settings are tested beside them).
WALKED_CORE_PACKAGES = ("closeloop.core.exports", "closeloop.core.webhooks", "closeloop.core.savedviews", "closeloop.core.customfields")
NOT_SERVICE_MODULES = re.compile(r"\.(tests|migrations|management)(\.|$)|\.(views\w*|api\w*|forms|demo|gendata|"
                                 r"urls|apps|admin|audit|timeline|today|radar|selectors)$")


def write_services() -> set[str]:
    """Every public function of the six apps' modules (and WALKED_CORE_PACKAGES) that takes an `actor`, as
    `app.module.function`."""
    found = set()
    for info in pkgutil.walk_packages(closeloop.__path__, "closeloop."):
        app = info.name.split(".")[1]
        if (app not in SERVICE_APPS and not info.name.startswith(WALKED_CORE_PACKAGES)) or NOT_SERVICE_MODULES.search(info.name):
            continue
        module = importlib.import_module(info.name)
        for name, function in vars(module).items():
            if (not name.startswith("_") and inspect.isfunction(function) and function.__module__ == info.name
                    and "actor" in inspect.signature(function).parameters):
                found.add(f"{info.name.removeprefix('closeloop.')}.{name}")
    return found


def test_every_write_service_has_a_row():
    rows = {row[0] for row in MATRIX}
    assert not rows & set(NOT_IN_THE_TABLE)
    assert write_services() - rows - set(NOT_IN_THE_TABLE) == set(), "give each new write service a row"
    assert rows | set(NOT_IN_THE_TABLE) <= write_services(), "a row names a service that is gone"


@pytest.fixture
def world(org, make_lead, make_deal, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    people = {name: getattr(org, name) for name in ("owner", "teammate", "manager", "other_manager", "marketer",
                                                     "outsider", "admin")}
    for name, role in (("presales", Role.PRESALES), ("receiver", Role.PRESALES), ("finance", Role.FINANCE),
                       ("service", Role.SERVICE)):
        people[name] = User.objects.create_user(name, f"{name}@example.com", "pw", role=role, display_name=name)
    return World(org, make_lead, make_deal, people)


class Rollback(Exception):
    pass


def outcome(world, row, user) -> str:
    _service, target, call, _expected = row
    try:
        with transaction.atomic():
            try:
                call(world, user)
                answer = "ok"
            except (Forbidden, NotFound, PermissionDenied):
                answer = "refused"
            except DomainError as exc:  # refused for what the person or the record is, not for who acts
                answer = {"validation_failed": "422", "conflict": "409"}.get(exc.code, exc.code)
            raise Rollback
    except Rollback:
        pass
    if answer == "refused":
        record = world.build(target) if target else None
        seen = record is None or type(record).objects.visible_to(user).filter(pk=record.pk).exists()
        answer = "403" if seen else "404"
    return answer


def build_for(world, row):
    """Build what the row's call reads before any savepoint (a role's call would roll it back)."""
    _service, target, call, _expected = row
    if target:
        world.build(target)
    names = set(re.findall(r'(?:fresh|build)\("(\w+)"\)', inspect.getsource(call)))
    for name in sorted(names, key=lambda name: name != target):
        world.build(name)


@pytest.mark.parametrize("row", MATRIX, ids=[row[0].rsplit(".", 1)[1] for row in MATRIX])
def test_each_role_gets_the_expected_answer(world, row):
    build_for(world, row)
    actual = {role: outcome(world, row, world.people[role]) for role in ROLES}
    assert actual == dict(zip(ROLES, row[3].split(), strict=True))


def test_a_deal_for_someone_else_is_their_managers_doing(org, make_customer):
    customer = make_customer(owner=org.owner)
    with pytest.raises(Forbidden):
        opportunities.opportunity_create(customer=customer, data={"name": "二期"}, actor=org.owner,
                                         owner=org.teammate)
    deal = opportunities.opportunity_create(customer=customer, data={"name": "二期"}, actor=org.manager,
                                            owner=org.teammate)
    assert deal.owner == org.teammate
