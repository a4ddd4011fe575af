"""The demo's deliveries: the contract in performance is being delivered with a milestone past its date, and the
newly signed one was delivered and accepted by the customer through their link."""

from datetime import timedelta

from django.db import transaction

from closeloop.contracts.models import Contract, ContractStatus
from closeloop.core.errors import DomainError
from closeloop.core.models import Channel

from . import deliveries


def load_demo_deliveries(ctx) -> str:
    today = ctx.now.date()
    staff = ctx.users.get("service1") or ctx.admin
    made = 0
    active = Contract.objects.filter(status=ContractStatus.ACTIVE, delivered_at__isnull=True).order_by("id").first()
    signed = Contract.objects.filter(status=ContractStatus.SIGNED).order_by("id").first()
    try:
        with transaction.atomic():
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
