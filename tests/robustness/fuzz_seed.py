"""Records for the schemathesis run (test_api_fuzz.py), made through the services in a fresh database.

The fuzzing token is the rep's. Schemathesis fills path parameters with small integers, so the rep owns
(or takes part in) record id 1 — and a few low ids — of every kind the API exposes: leads, customers,
contacts, deals, activities, a hand-off waiting for the rep's answer, products, quotes with lines and
versions, an approval, contracts with a plan, payments and invoice requests, a delivery with milestones,
tickets with replies, surveys and saved views (users 1–5: the administrator, the rep, the
rep's manager, a pre-sales colleague, a service engineer). An operation on id 1 then reaches the code behind the 404.

Run as a script against the database the environment names (the robustness fixtures' LiveDatabase)."""

from datetime import timedelta


def seed(*, rep_name: str = "rep", admin_name: str = "admin") -> dict[str, list[int]]:
    from django.db import transaction
    from django.utils import timezone

    from closeloop.contracts import invoices, payments, plans
    from closeloop.contracts import services as contracts
    from closeloop.contracts.models import SignedVia
    from closeloop.core.models import Channel, Role, User
    from closeloop.core.savedviews.services import view_save
    from closeloop.core.services import department_save, user_save
    from closeloop.deals.services.customers import contact_create, customer_create
    from closeloop.deals.services.opportunities import opportunity_create
    from closeloop.followup.services import activity_log, handoff_request
    from closeloop.leads.services.editing import lead_assign
    from closeloop.leads.services.intake import lead_submit
    from closeloop.quotes import approvals, catalog
    from closeloop.quotes import services as quotes
    from closeloop.quotes.models import ApprovalChain, ApprovalOperator
    from closeloop.service import deliveries, tickets
    from closeloop.service.models import Survey, TicketStatus

    api = Channel.API
    admin = User.objects.get(username=admin_name)
    rep = User.objects.get(username=rep_name)
    today = timezone.localdate()
    made: dict[str, list[int]] = {}

    def keep(kind, record):
        made.setdefault(kind, []).append(record.pk)
        return record

    with transaction.atomic():
        # The rep's team, with a manager (the approver of the approval below) and a pre-sales colleague.
        department = department_save(actor=admin, name="华东销售一组", parent=None, channel=api)
        manager = User.objects.create_user("fuzz-manager", "manager@example.com", None, role=Role.SALES_MANAGER,
                                           department=department)
        user_save(actor=admin, user=rep, channel=api, data={"department": department, "manager": manager})
        rep.refresh_from_db()
        User.objects.create_user("fuzz-presales", "presales@example.com", None, role=Role.PRESALES,
                                 department=department)
        keep("department", department)

        for n in range(3):
            result = lead_submit(channel=api, actor=rep, data={
                "company_name": f"模糊测试{n + 1}号科技有限公司", "contact_name": f"测试{n + 1}",
                "mobile": f"1380000000{n + 1}", "source": "官网", "need": "想了解报价", "assign_to_me": True})
            lead = result.lead
            if lead.owner_id != rep.pk:
                lead = lead_assign(lead=lead, owner=rep, actor=admin, channel=api)
            keep("lead", lead)
            keep("activity", activity_log(actor=rep, record=lead, channel=api,
                                          data={"kind": "call", "content": "电话沟通需求"}))

        for n in range(2):
            product = catalog.product_save(actor=admin, channel=api, data={
                "code": f"FZ-{n + 1}", "name": f"模糊测试产品{n + 1}", "category": "软件", "unit": "套",
                "list_price": "10000", "cost": "4000", "tax_rate": "13", "price_includes_tax": True})
            keep("product", product)
        # Large discounts wait for the rep's manager, so the rep's second quote makes approval 1.
        catalog.approval_rule_save(actor=admin, data={
            "kind": quotes.APPROVAL_KIND, "name": "折扣超过50%", "metric": "discount_pct",
            "operator": ApprovalOperator.ABOVE, "threshold": "50", "chain": ApprovalChain.MANAGERS, "levels": 1})

        # Customer 3 and deal 4 are the ones the fuzzer may give away (release, transfer: schemathesis.toml), so
        # records 1 and 2 stay the rep's for the operations after those.
        for n in range(3):
            customer = keep("customer", customer_create(actor=rep, channel=api, data={
                "name": f"模糊测试客户{n + 1}有限公司", "industry": "制造业", "city": "上海"}))
            keep("contact", contact_create(customer=customer, actor=rep, channel=api, data={
                "name": f"联系人{n + 1}", "mobile": f"1390000000{n + 1}", "email": f"c{n + 1}@example.com"}))
        customer = customer.__class__.objects.get(pk=made["customer"][0])
        for n in range(3):
            deal = keep("deal", opportunity_create(customer=customer, actor=rep, channel=api, data={
                "name": f"模糊测试项目{n + 1}", "amount": "100000"}))
            keep("activity", activity_log(actor=rep, record=deal, channel=api,
                                          data={"kind": "visit", "content": "上门拜访"}))
        keep("activity", activity_log(actor=rep, record=customer, channel=api,
                                      data={"kind": "note", "content": "客户备注"}))
        deals = list(deal.__class__.objects.filter(pk__in=made["deal"]).order_by("pk"))
        keep("deal", opportunity_create(customer=customer.__class__.objects.get(pk=made["customer"][1]), actor=rep,
                                        channel=api, data={"name": "可转交的项目", "amount": "20000"}))

        # Hand-off 1 waits for the rep's answer (the manager asked); hand-off 2 is the rep's own request.
        keep("handoff", handoff_request(record=deals[0], assignee=rep, title="技术评估", actor=manager,
                                        due_at=timezone.now() + timedelta(days=3), channel=api))
        keep("handoff", handoff_request(record=deals[0], assignee=User.objects.get(username="fuzz-presales"),
                                        title="方案演示", actor=rep, due_at=timezone.now() + timedelta(days=5),
                                        channel=api))

        # Quote 1: a draft with two lines; quote 2: submitted with a large discount (approval 1, pending).
        quote = keep("quote", quotes.quote_create(opportunity=deals[0], actor=rep, channel=api, title="标准报价"))
        for product_id in made["product"]:
            line = quotes.quote_line_add(quote=quote, actor=rep, channel=api,
                                         data={"product": product_id, "quantity": "2"})
            keep("quote_line", line)
        second = keep("quote", quotes.quote_create(opportunity=deals[1], actor=rep, channel=api, title="特价报价"))
        line = quotes.quote_line_add(quote=second, actor=rep, channel=api,
                                     data={"product": made["product"][0], "quantity": "1"})
        quotes.quote_line_update(line=line, actor=rep, channel=api, data={"discount_pct": "60"})
        quotes.quote_submit(quote=second, actor=rep, channel=api, note="大客户特价")
        request = approvals.pending_request(quotes.APPROVAL_KIND, second.pk)
        if request is not None:
            keep("approval", request)

        # Contract 1: signed, with a two-instalment plan, a payment and an invoice request; contract 2: a draft.
        contract = keep("contract", contracts.contract_create_from_deal(
            opportunity=deals[2], actor=rep, channel=api, data={"amount": "100000"}))
        plans.payment_plan_save(contract=contract, actor=rep, channel=api, instalments=[
            {"title": "首付款", "condition": "on_signing", "days_after": "7", "percentage": "50"},
            {"title": "尾款", "condition": "on_date", "due_date": (today + timedelta(days=60)).isoformat(),
             "percentage": "50"}])
        contracts.contract_submit(contract=contract, actor=rep, channel=api, note="常规合同")  # no rule: approved
        contracts.contract_sign(contract=contract, actor=rep, sign_date=today - timedelta(days=3),
                                via=SignedVia.SCAN, channel=api)
        contract.refresh_from_db()
        first = contract.instalments.order_by("position").first()
        keep("payment", payments.payment_record(contract=contract, actor=admin, channel=api, data={
            "amount": "10000", "received_on": today.isoformat(), "method": "transfer", "reference": "FZ0001"}))
        keep("invoice_request", invoices.invoice_request_create(contract=contract, actor=rep, channel=api, data={
            "amount": str(first.amount), "invoice_type": "special", "buyer_tax_id": "91310115MA1K4XYZ12"}))
        keep("contract", contracts.contract_create_from_deal(opportunity=deals[1], actor=rep, channel=api,
                                                             data={"amount": "50000"}))

        delivery = keep("delivery", deliveries.delivery_create(contract=contract, actor=rep, channel=api, milestones=[
            {"name": "部署上线", "planned_date": today + timedelta(days=10)},
            {"name": "用户培训", "planned_date": today + timedelta(days=20)}]))
        made["milestone"] = list(delivery.milestones.order_by("pk").values_list("pk", flat=True))

        # The rep raises tickets for the rep's customer; the service team works them.
        staff = User.objects.create_user("fuzz-service", "service@example.com", None, role=Role.SERVICE)
        for n in range(2):
            ticket = keep("ticket", tickets.ticket_create(customer=customer, actor=rep, channel=api, assignee=staff, data={
                "title": f"系统登录报错{n + 1}", "priority": "P3", "category": "fault", "description": "客户电话反馈"}))
            tickets.ticket_reply(ticket=ticket, actor=staff, body="您好，已收到，正在处理。", channel=api)
        tickets.ticket_move(ticket=ticket, status=TicketStatus.RESOLVED, actor=staff, channel=api)
        made["survey"] = list(Survey.objects.order_by("pk").values_list("pk", flat=True))

        for n, (list_key, filters) in enumerate([("leads", "status=new"), ("deals", "")]):
            keep("saved_view", view_save(list_key=list_key, name=f"我的视图{n + 1}", shared=bool(n), actor=rep,
                                         filters=filters, channel=api))
    return made


if __name__ == "__main__":
    import json
    import sys

    import django

    django.setup()
    sys.stdout.write(json.dumps(seed()) + "\n")
