"""Delivery factories on top of the contract ones: a signed contract whose plan has an "on acceptance" instalment,
after-sales staff, and a delivery of it with milestones."""

import importlib
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from closeloop.contracts import plans
from closeloop.contracts import services as contract_services
from closeloop.contracts.models import SignedVia
from closeloop.contracts.tests.conftest import (  # noqa: F401 (fixtures)
    accepted_quote,
    api_auth,
    deal,
    director,
    discount_rule,
    finance,
    make_contract,
    make_product,
    make_quote,
    presales,
    signed_contract,
)
from closeloop.core.models import Role, User
from closeloop.core.tests.conftest import receiver, run_worker  # noqa: F401 (fixtures)
from closeloop.service import deliveries


@pytest.fixture
def default_sla_policies(transactional_db):
    """The SLA policies the data migration adds, again: a transactional test (a browser test) starts from a database
    that the previous one flushed, data migrations' rows included."""
    from django.apps import apps

    importlib.import_module("closeloop.service.migrations.0003_default_sla_policies").add(apps, None)


@pytest.fixture
def service_staff(org):
    return User.objects.create_user("service", "service@example.com", "pw", role=Role.SERVICE, display_name="service")


@pytest.fixture
def delivered_contract(org, make_contract):  # noqa: F811 (the fixture imported above)
    """A signed ¥30,000 contract: 30% on signing, 70% (¥21,000) 10 days after the delivery is accepted."""
    def make(instalments=None):
        contract = make_contract(plan=False)
        plans.payment_plan_save(contract=contract, actor=org.owner, instalments=instalments or [
            {"title": "首付款", "condition": "on_signing", "days_after": "7", "percentage": "30"},
            {"title": "验收款", "condition": "on_acceptance", "days_after": "10", "percentage": "70"}])
        contract_services.contract_submit(contract=contract, actor=org.owner)
        contract_services.contract_sign(contract=contract, actor=org.owner, sign_date=None, via=SignedVia.SCAN)
        contract.refresh_from_db()
        return contract

    return make


@pytest.fixture
def make_delivery(org, delivered_contract, service_staff):
    """A delivery of a new signed contract run by the service staff: one milestone done, one 3 days late, one ahead."""
    def make(contract=None, owner=None):
        contract = contract or delivered_contract()
        today = timezone.localdate()
        return deliveries.delivery_create(contract=contract, actor=org.owner, owner=owner or service_staff, milestones=[
            {"name": "需求调研", "planned_date": today - timedelta(days=10)},
            {"name": "系统部署", "planned_date": today - timedelta(days=3)},
            {"name": "培训上线", "planned_date": today + timedelta(days=7)}])

    return make


def milestones_done(delivery):
    """Mark the delivery's open milestones done today: the customer accepts only a delivery whose milestones are."""
    delivery.milestones.filter(done_date__isnull=True).update(done_date=timezone.localdate())
    return delivery


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 12), "white").save(buffer, format="PNG")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def service_team(org, service_staff):
    """Two service colleagues (service, service2) in a service department, and their manager who hears breaches."""
    from closeloop.core.services import department_save
    from closeloop.service.models import ServiceSettings

    department = department_save(actor=org.admin, name="客户服务部", parent=None)
    service_staff.department = department
    service_staff.save()
    second = User.objects.create_user("service2", "service2@example.com", "pw", role=Role.SERVICE,
                                      display_name="service2", department=department)
    lead = User.objects.create_user("service_lead", "lead@example.com", "pw", role=Role.SERVICE,
                                    display_name="service_lead", department=department, on_leave=True)
    ServiceSettings.objects.update_or_create(pk=1, defaults={"service_manager": lead})

    class Team:
        pass

    team = Team()
    team.first, team.second, team.manager, team.department = service_staff, second, lead, department
    return team


@pytest.fixture
def make_ticket(org, make_customer, service_team):
    from closeloop.service import tickets

    def make(customer=None, actor=None, **data):
        customer = customer or make_customer(owner=org.owner)
        fields = {"title": "系统登录报错", "description": "登录后提示500错误", "priority": "P3", **data}
        return tickets.ticket_create(customer=customer, data=fields, actor=actor or org.owner)

    return make
