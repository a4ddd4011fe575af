"""Delivery services as owner, teammate, manager, service staff, finance and outsider: starting a delivery,
milestones, and the acceptance by the customer's link or a signed form, which releases the contract's
"on acceptance" instalment and tells finance."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from closeloop.contracts.models import InstalmentCondition
from closeloop.core.audit import audit_trail
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import Notification
from closeloop.service import deliveries
from closeloop.service.models import AcceptedVia, DeliveryStatus

from .conftest import PDF, milestones_done, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def test_it_starts_a_delivery_of_a_signed_contract_with_milestones(org, make_delivery, service_staff):
    delivery = make_delivery()
    assert delivery.status == DeliveryStatus.IN_PROGRESS and delivery.owner == service_staff
    assert delivery.customer_id == delivery.contract.customer_id and delivery.title == delivery.contract.title
    assert [m.name for m in delivery.milestones.all()] == ["需求调研", "系统部署", "培训上线"]
    assert all(m.owner == service_staff for m in delivery.milestones.all())
    assert [e.action for e in audit_trail(delivery)].count("milestone.add") == 3
    assert Notification.objects.filter(recipient=service_staff, kind="delivery.assigned").exists()


@pytest.mark.parametrize("who, allowed", [("owner", True), ("manager", True), ("admin", True), ("service", True),
                                          ("teammate", False), ("outsider", False), ("other_manager", False),
                                          ("finance", False)])
def test_who_may_start_a_delivery(org, delivered_contract, service_staff, finance, who, allowed):
    actor = {"service": service_staff, "finance": finance}.get(who) or getattr(org, who)
    contract = delivered_contract()
    if allowed:
        assert deliveries.delivery_create(contract=contract, actor=actor).owner == actor
    else:
        with pytest.raises(Forbidden):
            deliveries.delivery_create(contract=contract, actor=actor)


def test_one_delivery_per_signed_contract(org, make_contract, make_delivery):
    with pytest.raises(Conflict):
        deliveries.delivery_create(contract=make_contract(), actor=org.owner)  # a draft
    delivery = make_delivery()
    with pytest.raises(Conflict):
        deliveries.delivery_create(contract=delivery.contract, actor=org.owner)


def test_a_milestone_needs_a_date_and_its_owner_marks_it_done(org, make_delivery, service_staff):
    with pytest.raises(ValidationFailed):
        deliveries.delivery_create(contract=make_delivery().contract, actor=org.owner,
                                   milestones=[{"name": "部署", "planned_date": None}])
    delivery = make_delivery()
    milestone = deliveries.milestone_add(delivery=delivery, name="验收准备", planned_date=timezone.localdate(),
                                         owner=org.teammate, actor=service_staff)
    # The teammate sees nothing else of the delivery, yet owns this step and may mark it done, and nothing more.
    deliveries.milestone_update(milestone=milestone, data={"done_date": timezone.localdate()}, actor=org.teammate)
    with pytest.raises(Forbidden):
        deliveries.milestone_update(milestone=milestone, data={"name": "改名"}, actor=org.teammate)
    with pytest.raises(Forbidden):
        deliveries.milestone_update(milestone=delivery.milestones.first(), data={"done_date": timezone.localdate()},
                                    actor=org.outsider)
    with pytest.raises(ValidationFailed):
        deliveries.milestone_update(milestone=milestone, actor=service_staff,
                                    data={"done_date": timezone.localdate() + timedelta(days=1)})
    milestone.refresh_from_db()
    assert milestone.done_date == timezone.localdate()


def test_the_customer_accepts_by_link_which_releases_the_acceptance_instalment(org, make_delivery, finance,
                                                                                 service_staff):
    delivery = make_delivery()
    instalment = delivery.contract.instalments.get(condition=InstalmentCondition.ON_ACCEPTANCE)
    assert instalment.due_date is None and not instalment.receivable or instalment.due_date is None
    signature = SimpleUploadedFile("签名.png", png_bytes(), content_type="image/png")
    milestones_done(delivery)
    deliveries.delivery_accept_by_link(delivery=delivery, name="周敏", phone="13912345678", comment="验收通过",
                                       signature=signature)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.ACCEPTED and delivery.accepted_via == AcceptedVia.LINK
    assert delivery.acceptor_name == "周敏" and delivery.signature.read().startswith(b"\x89PNG")
    instalment.refresh_from_db()
    assert instalment.due_date == timezone.localdate() + timedelta(days=10) and instalment.amount == D("21000.00")
    delivery.contract.refresh_from_db()
    assert delivery.contract.delivered_at is not None
    told = Notification.objects.filter(kind="delivery.accepted")
    assert {n.recipient for n in told} == {finance, org.owner, service_staff}
    assert "21,000.00" in told.get(recipient=finance).message
    assert "delivery.accept" in [e.action for e in audit_trail(delivery)]
    with pytest.raises(Conflict):
        deliveries.delivery_accept_by_link(delivery=delivery, name="周敏", phone="13912345678")


@pytest.mark.parametrize("name, content", [("签名.png", b"MZ\x90\x00 a program"), ("签名.png", b"GIF89a...."),
                                           ("签名.png", PDF)])
def test_a_signature_must_be_an_image_by_its_bytes(make_delivery, name, content):
    delivery = make_delivery()
    with pytest.raises(ValidationFailed) as refused:
        deliveries.delivery_accept_by_link(delivery=delivery, name="周敏", phone="13912345678",
                                           signature=SimpleUploadedFile(name, content))
    assert "signature" in refused.value.field_errors
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.IN_PROGRESS and not delivery.signature


def test_the_customer_gives_a_name_and_a_phone(make_delivery):
    with pytest.raises(ValidationFailed) as refused:
        deliveries.delivery_accept_by_link(delivery=make_delivery(), name=" ", phone="")
    assert set(refused.value.field_errors) == {"name", "phone"}
    with pytest.raises(ValidationFailed) as refused:
        deliveries.delivery_accept_by_link(delivery=make_delivery(), name="周敏", phone="1391234567")
    assert "1391234567" in refused.value.field_errors["phone"][0]


def test_the_customer_accepts_no_delivery_with_a_milestone_still_open(make_delivery):
    delivery = make_delivery()
    delivery.milestones.filter(name="需求调研").update(done_date=timezone.localdate())
    with pytest.raises(Conflict) as refused:
        deliveries.delivery_accept_by_link(delivery=delivery, name="周敏", phone="13912345678")
    assert "系统部署、培训上线" in refused.value.message and "需求调研" not in refused.value.message
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.IN_PROGRESS
    deliveries.delivery_accept_by_link(delivery=milestones_done(delivery), name="周敏", phone="139 1234 5678")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.ACCEPTED


def test_staff_record_the_signed_acceptance_form(org, make_delivery, service_staff):
    delivery = make_delivery()
    with pytest.raises(ValidationFailed):
        deliveries.delivery_accept_by_form(delivery=delivery, actor=service_staff, accepted_on=None,
                                           upload=SimpleUploadedFile("验收单.pdf", b"PK\x03\x04zip"))
    with pytest.raises(Forbidden):
        deliveries.delivery_accept_by_form(delivery=delivery, actor=org.outsider, accepted_on=None,
                                           upload=SimpleUploadedFile("验收单.pdf", PDF))
    deliveries.delivery_accept_by_form(delivery=delivery, actor=service_staff, acceptor_name="周敏",
                                       accepted_on=timezone.localdate() - timedelta(days=2),
                                       upload=SimpleUploadedFile("验收单.pdf", PDF))
    delivery.refresh_from_db()
    assert delivery.accepted_via == AcceptedVia.FORM and delivery.recorded_by == service_staff
    assert delivery.acceptance_form.read().startswith(b"%PDF-")
    instalment = delivery.contract.instalments.get(condition=InstalmentCondition.ON_ACCEPTANCE)
    assert instalment.due_date == timezone.localdate() + timedelta(days=8)


def test_an_accepted_delivery_takes_no_more_milestones(make_delivery, service_staff):
    delivery = milestones_done(make_delivery())
    deliveries.delivery_accept_by_link(delivery=delivery, name="周敏", phone="13912345678")
    with pytest.raises(Conflict):
        deliveries.milestone_add(delivery=delivery, name="追加", planned_date=timezone.localdate(), owner=None,
                                 actor=service_staff)


def test_the_contract_page_and_api_cannot_release_the_acceptance_instalment_around_the_delivery(
        client, org, delivered_contract, finance, api_auth):
    from django.urls import reverse

    contract = delivered_contract()
    instalment = contract.instalments.get(condition=InstalmentCondition.ON_ACCEPTANCE)
    for user in (org.owner, finance):
        client.force_login(user)
        page = client.get(contract.get_absolute_url()).content.decode()
        assert reverse("contracts:action", args=[contract.pk, "deliver"]) not in page, user
        client.post(reverse("contracts:action", args=[contract.pk, "deliver"]), {"accepted_on": ""})
    response = client.post(f"/api/contracts/{contract.pk}/delivery-acceptance", {"accepted_on": str(timezone.localdate())},
                           content_type="application/json", **api_auth(org.owner))
    assert response.status_code == 409 and response.json()["code"] == "acceptance_by_delivery"
    contract.refresh_from_db()
    instalment.refresh_from_db()
    assert contract.delivered_at is None and instalment.due_date is None  # still waiting for the delivery
