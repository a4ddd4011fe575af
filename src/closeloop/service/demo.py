"""The demo's deliveries: the contract the contracts demo paid in full was delivered and its signed acceptance form
recorded weeks ago (which completed it), the contract in performance is being delivered with a milestone past its
date, and the newly signed one was delivered and accepted by the customer through their link. A service agent runs
them."""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from closeloop.contracts.demo import DELIVERIES_TO_ACCEPT
from closeloop.contracts.models import Contract, ContractStatus
from closeloop.core.errors import DomainError
from closeloop.core.models import Channel

from . import deliveries


def _scanned_form() -> SimpleUploadedFile:
    """A scan of the signed acceptance form: a page with its ruled lines and a signature stroke."""
    from PIL import Image, ImageDraw

    page = Image.new("L", (420, 594), 255)
    draw = ImageDraw.Draw(page)
    for y in range(80, 480, 40):
        draw.line((40, y, 380, y), fill=160)
    draw.line((250, 530, 280, 505, 300, 540, 340, 510), fill=20, width=3)
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return SimpleUploadedFile("验收单.png", buffer.getvalue(), content_type="image/png")


def _accept_handed_over(ctx, staff) -> int:
    """The deliveries the contracts demo left to this app: delivered, and the customer's signed form recorded on
    the day it names, through the same services as the delivery page (which release and complete the contract)."""
    made = 0
    for contract, accepted_on in ctx.shared.get(DELIVERIES_TO_ACCEPT, []):
        delivery = deliveries.delivery_create(contract=contract, actor=contract.owner, owner=staff,
                                              channel=Channel.SYSTEM, milestones=[
            {"name": "部署上线", "planned_date": accepted_on - timedelta(days=10)},
            {"name": "用户培训", "planned_date": accepted_on - timedelta(days=3)}])
        for milestone in delivery.milestones.order_by("position"):
            deliveries.milestone_update(milestone=milestone, actor=staff, channel=Channel.SYSTEM,
                                        data={"done_date": milestone.planned_date})
        deliveries.delivery_accept_by_form(delivery=delivery, upload=_scanned_form(), accepted_on=accepted_on,
                                           acceptor_name="客户项目负责人", actor=staff, channel=Channel.SYSTEM)
        made += 1
    return made


def _agents(ctx) -> list:
    """The service agents (the demo's service2 and service3), or whoever serves when the company has only one."""
    agents = [ctx.users[name] for name in ("service2", "service3") if name in ctx.users]
    return agents or [ctx.users.get("service1") or ctx.admin]


def load_demo_deliveries(ctx) -> str:
    today = ctx.now.date()
    staff = _agents(ctx)[0]
    made = 0
    try:
        with transaction.atomic():
            made += _accept_handed_over(ctx, staff)
            active = (Contract.objects.filter(status=ContractStatus.ACTIVE, delivered_at__isnull=True)
                      .order_by("id").first())
            signed = Contract.objects.filter(status=ContractStatus.SIGNED).order_by("id").first()
            if active is not None:
                deliveries.delivery_create(contract=active, actor=active.owner, owner=staff, channel=Channel.SYSTEM,
                                           notes="客户要求分两期上线", milestones=[
                    {"name": "需求调研", "planned_date": today - timedelta(days=50)},
                    {"name": "系统部署", "planned_date": today - timedelta(days=20)},
                    {"name": "培训与上线", "planned_date": today + timedelta(days=10)}])
                delivery = active.delivery
                first = delivery.milestones.order_by("position").first()
                deliveries.milestone_update(milestone=first, actor=staff, channel=Channel.SYSTEM,
                                            data={"done_date": today - timedelta(days=48)})
                made += 1
            if signed is not None:
                delivery = deliveries.delivery_create(
                    contract=signed, actor=signed.owner, owner=staff, channel=Channel.SYSTEM,
                    milestones=[{"name": "安装调试", "planned_date": today - timedelta(days=1)}])
                deliveries.milestone_update(milestone=delivery.milestones.get(), actor=staff, channel=Channel.SYSTEM,
                                            data={"done_date": today - timedelta(days=1)})
                deliveries.delivery_accept_by_link(delivery=delivery, name="周敏", phone="13912345678",
                                                   comment="系统运行正常，验收通过。")
                made += 1
    except DomainError:
        made = 0
    return f"{made} deliveries"


def load_demo_tickets(ctx) -> str:
    """Tickets in every open state and two closed ones, given in turn to the service agents (the service manager,
    service1, takes none while they are there); the urgent one was raised hours ago and breaches its SLA (the sweep
    escalates it to the service manager)."""
    from closeloop.deals.models import Customer

    from . import sla, tickets
    from .models import ServiceSettings, Ticket, TicketStatus

    manager = ctx.users.get("service1") or ctx.admin
    ServiceSettings.objects.update_or_create(pk=1, defaults={"service_manager": manager})
    customers = list(Customer.objects.filter(owner__isnull=False).select_related("owner").order_by("id")[:5])
    if not customers:
        return "0 tickets"
    plans = [("系统登录后报500错误", "P1", "fault", None), ("报表导出的金额格式不对", "P2", "fault", TicketStatus.IN_PROGRESS),
             ("想增加一个审批字段", "P3", "request", TicketStatus.WAITING), ("如何批量导入客户", "P4", "question", TicketStatus.RESOLVED),
             ("打印模板页眉错位", "P3", "fault", TicketStatus.CLOSED)]
    made = []
    for n, (title, priority, category, status) in enumerate(plans):
        customer = customers[n % len(customers)]
        ticket = tickets.ticket_create(customer=customer, actor=customer.owner, channel=Channel.SYSTEM,
                                       data={"title": title, "priority": priority, "category": category,
                                             "description": "客户电话反馈"})
        if status is not None:
            tickets.ticket_reply(ticket=ticket, actor=ticket.owner, body="您好，已收到，正在处理。", channel=Channel.SYSTEM)
            if status != TicketStatus.IN_PROGRESS:
                tickets.ticket_move(ticket=ticket, status=TicketStatus.RESOLVED if status == TicketStatus.CLOSED
                                    else status, actor=ticket.owner, channel=Channel.SYSTEM)
            if status == TicketStatus.CLOSED:
                tickets.ticket_move(ticket=ticket, status=status, actor=ticket.owner, channel=Channel.SYSTEM)
        made.append(ticket)
    # The urgent one has waited three hours without an answer: past its 30-minute response target.
    urgent = made[0]
    urgent.created_at = ctx.now - timedelta(hours=3)
    sla.apply_policy(urgent)
    Ticket.objects.filter(pk=urgent.pk).update(created_at=urgent.created_at,
                                               first_response_due_at=urgent.first_response_due_at,
                                               resolution_due_at=urgent.resolution_due_at)
    ctx.finish.append(sla.sla_sweep)
    return f"{len(made)} tickets"


def load_demo_surveys(ctx) -> str:
    """The surveys the demo's resolved tickets and accepted delivery were sent: the closed ticket's answered with a
    low score (so its account owner and the service manager have a call-back task), the accepted delivery's with a
    high one, the resolved ticket's still waiting."""
    from . import surveys
    from .models import Survey, TicketStatus

    closed = Survey.objects.filter(ticket__status=TicketStatus.CLOSED).order_by("id").first()
    if closed is not None:
        surveys.survey_answer(survey=closed, csat=2, nps=4, comment="问题解决得太慢，等了三天才有人回复。")
    accepted = Survey.objects.filter(delivery__isnull=False).order_by("id").first()
    if accepted is not None:
        surveys.survey_answer(survey=accepted, csat=5, nps=10, comment="实施团队很专业。")
    answered = Survey.objects.filter(answered_at__isnull=False).count()
    return f"{Survey.objects.count()} surveys ({answered} answered)"


def load_demo_ticket_form(ctx) -> str:
    """The first customer with tickets shares its public ticket form, and a customer raised one through it."""
    from closeloop.deals.models import Customer

    from . import ticket_forms

    customer = Customer.objects.filter(owner__isnull=False, tickets__isnull=False).select_related("owner").order_by("id").first()
    if customer is None:
        return "0 public ticket forms"
    link = ticket_forms.ticket_form_share(customer=customer, actor=customer.owner, channel=Channel.SYSTEM)
    ticket_forms.ticket_submit_public(link=link, data={
        "requester_name": "王芳", "requester_phone": "13800138000", "requester_email": "wangfang@example.com",
        "category": "question", "title": "新员工账号怎么开通", "description": "我们新来了两位同事，需要开通系统账号。"})
    return "1 public ticket form"
