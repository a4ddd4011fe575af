"""Delivery pages as owner, teammate, manager, service staff, finance and outsider; the customer's acceptance link
without login; the Today sections; the contract's and customer's panels; zh-hans."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from closeloop.service.models import Delivery, DeliveryStatus

from .conftest import PDF, milestones_done, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def get(client, user, url, **kwargs):
    client.force_login(user)
    return client.get(url, **kwargs)


def test_a_delivery_is_seen_by_its_people_service_and_finance_only(client, org, make_delivery, service_staff,
                                                                  finance):
    delivery = make_delivery()
    url = delivery.get_absolute_url()
    for user, status in [(org.owner, 200), (org.manager, 200), (org.admin, 200), (finance, 200),
                         (service_staff, 200), (org.teammate, 404), (org.outsider, 404), (org.other_manager, 404)]:
        assert get(client, user, url).status_code == status, user
    for user, count in [(org.owner, 1), (org.manager, 1), (service_staff, 1), (org.teammate, 0), (org.outsider, 0)]:
        body = get(client, user, reverse("service:deliveries")).content.decode()
        assert body.count(delivery.get_absolute_url()) == count, user


def test_the_list_reads_in_a_fixed_number_of_queries(client, org, make_delivery, django_assert_max_num_queries):
    for _ in range(3):
        make_delivery()
    client.force_login(org.owner)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("service:deliveries")).status_code == 200


def test_the_delivery_page_reads_the_same_queries_for_any_number_of_milestones(client, org, make_delivery, finance):
    """Who may complete each milestone is known from one can_run answer, not asked again per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from closeloop.service import deliveries

    delivery = make_delivery()

    def count(user):
        client.force_login(user)
        client.get(delivery.get_absolute_url())  # the calendar, settings and session warm up
        with CaptureQueriesContext(connection) as queries:
            assert client.get(delivery.get_absolute_url()).status_code == 200
        return len(queries)

    users = (org.owner, org.manager, finance)
    before = [count(user) for user in users]
    for n in range(5):
        deliveries.milestone_add(delivery=delivery, actor=org.owner, name=f"阶段{n}", owner=org.teammate,
                                 planned_date=timezone.localdate() + timedelta(days=n))
    assert [count(user) for user in users] == before


def test_the_rep_starts_the_delivery_from_the_contract_page(client, org, delivered_contract, service_staff):
    contract = delivered_contract()
    client.force_login(org.owner)
    body = client.get(contract.get_absolute_url()).content.decode()
    assert "Start the delivery" in body
    start = f"{reverse('service:delivery_create')}?contract={contract.pk}"
    assert get(client, org.teammate, start).status_code == 404
    assert get(client, org.outsider, start).status_code == 404
    client.force_login(org.owner)
    # The owner is chosen among after-sales service first (sorted), and one of them is proposed.
    form = client.get(start).context["form"]
    assert form.initial["owner"] == service_staff.pk
    groups = [label for label, _choices in form.fields["owner"].choices[1:]]
    assert groups == ["After-sales service", "Everyone else"]
    assert [pk for pk, _name in form.fields["owner"].choices[1][1]] == [service_staff.pk]
    others = [name for _pk, name in form.fields["owner"].choices[2][1]]
    assert others == sorted(others) and str(org.owner) in others
    body = client.get(start).content.decode()
    assert body.index('<optgroup label="After-sales service">') < body.index(f'>{org.owner}</option>')
    response = client.post(start, {"title": "", "owner": service_staff.pk, "notes": "",
                                   "m0-name": "部署", "m0-planned_date": "2027-01-10", "m0-owner": "",
                                   "m1-name": "", "m1-planned_date": ""})
    delivery = Delivery.objects.get()
    assert response.status_code == 302 and response["Location"] == delivery.get_absolute_url()
    assert delivery.owner == service_staff and delivery.milestones.get().owner == service_staff
    body = client.get(contract.get_absolute_url()).content.decode()
    assert delivery.get_absolute_url() in body and "Start the delivery" not in body
    body = client.get(contract.customer.get_absolute_url()).content.decode()
    assert delivery.get_absolute_url() in body


def test_the_proposed_owner_is_the_first_least_busy_service_colleague_as_listed(client, org, delivered_contract,
                                                                               make_delivery, service_staff):
    """The proposal is one of the choices the services accept: among active after-sales service, the fewest
    deliveries in progress (accepted ones do not count), ties broken in the order the list shows them (by the
    name shown, which for a colleague without a display name is their full name)."""
    from closeloop.core.models import Role, User
    from closeloop.service.forms import DeliveryForm, default_delivery_owner

    busy = make_delivery(owner=service_staff)  # service_staff ("service") has one delivery in progress
    zed = User.objects.create_user("a-zed", role=Role.SERVICE, first_name="Zed")  # shown as "Zed"
    bob = User.objects.create_user("b-bob", role=Role.SERVICE, display_name="Bob")
    User.objects.create_user("a-gone", role=Role.SERVICE, display_name="Aaron", is_active=False)
    listed = [pk for pk, _name in DeliveryForm().fields["owner"].choices[1][1]]
    assert listed == [bob.pk, zed.pk, service_staff.pk]  # "Bob" < "Zed" < "service", as sorted()
    assert default_delivery_owner(org.owner) == bob  # Bob and Zed have none in progress; Bob is listed first
    Delivery.objects.filter(pk=busy.pk).update(owner=bob, status=DeliveryStatus.ACCEPTED,
                                                   accepted_at=timezone.now(), accepted_via="form")
    make_delivery(owner=zed)
    assert default_delivery_owner(org.admin) == bob  # an accepted delivery is no work in progress
    assert default_delivery_owner(zed) == zed  # a service colleague starting one runs it
    client.force_login(org.owner)
    form = client.get(reverse("service:delivery_create") + f"?contract={delivered_contract().pk}").context["form"]
    assert form.initial["owner"] == bob.pk and bob.pk in listed


def test_the_delivery_owner_choice_reads_chinese_when_blank(client, org, delivered_contract):
    # The owner's blank choice read "---------" where every other list reads "- 请选择 -".
    client.force_login(org.owner)
    page = client.get(reverse("service:delivery_create") + f"?contract={delivered_contract().pk}",
                      HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<option value="">- 请选择 -</option>' in page and "---------" not in page


def test_a_milestone_without_a_date_is_refused_on_the_page(client, org, delivered_contract):
    contract = delivered_contract()
    client.force_login(org.owner)
    response = client.post(f"{reverse('service:delivery_create')}?contract={contract.pk}",
                           {"owner": org.owner.pk, "m0-name": "部署", "m0-planned_date": ""})
    assert response.status_code == 422 and "planned date" in response.content.decode()
    assert not Delivery.objects.exists()


def test_service_staff_add_and_complete_milestones(client, org, make_delivery, service_staff):
    delivery = make_delivery()
    client.force_login(service_staff)
    response = client.post(reverse("service:milestone_add", args=[delivery.pk]),
                           {"name": "验收准备", "planned_date": "2027-02-01", "owner": ""})
    assert response.status_code == 302
    milestone = delivery.milestones.get(name="验收准备")
    client.post(reverse("service:milestone_done", args=[delivery.pk, milestone.pk]))
    milestone.refresh_from_db()
    assert milestone.done_date == timezone.localdate()
    client.force_login(org.outsider)
    response = client.post(reverse("service:milestone_done", args=[delivery.pk, milestone.pk]), {"reopen": "1"})
    assert response.status_code == 404


def test_the_customer_accepts_on_the_public_link_with_a_signature(client, org, make_delivery):
    delivery = make_delivery()
    client.force_login(delivery.owner)
    body = client.get(delivery.get_absolute_url()).content.decode()
    url = reverse("delivery_public", args=[delivery.public_key])
    assert url in body
    client.logout()
    response = client.get(url)
    assert response.status_code == 200 and response["Referrer-Policy"] == "same-origin"
    assert "noindex" in response["X-Robots-Tag"] and "培训上线" in response.content.decode()
    assert "/contracts/" not in response.content.decode()
    assert client.get(reverse("delivery_public", args=["not-the-key"])).status_code == 404
    refused = client.post(url, {"name": "周敏", "phone": "139", "signature": SimpleUploadedFile("s.png", b"MZ\x90")})
    assert refused.status_code == 422 and "PNG or JPEG" in refused.content.decode()
    open_ones = client.post(url, {"name": "周敏", "phone": "13912345678"})
    assert open_ones.status_code == 422 and "培训上线" in open_ones.content.decode()
    milestones_done(delivery)
    response = client.post(url, {"name": "周敏", "phone": "13912345678", "comment": "运行正常",
                                 "signature": SimpleUploadedFile("签名.png", png_bytes())})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.ACCEPTED and delivery.signature
    body = client.get(url).content.decode()
    assert "Accepted by 周敏" in body and "I accept the delivery" not in body
    client.force_login(org.owner)
    response = client.get(reverse("service:delivery_file", args=[delivery.pk, "signature"]))
    assert b"".join(response.streaming_content).startswith(b"\x89PNG") and "sandbox" in response["Content-Security-Policy"]
    assert get(client, org.outsider, reverse("service:delivery_file", args=[delivery.pk, "signature"])).status_code == 404


def test_the_public_link_is_rate_limited(client, settings, make_delivery):
    settings.CLOSELOOP_PUBLIC_QUOTE_RATE = "2/m"
    url = reverse("delivery_public", args=[make_delivery().public_key])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]


def test_staff_upload_the_signed_acceptance_form(client, org, make_delivery, service_staff):
    delivery = make_delivery()
    client.force_login(service_staff)
    client.post(reverse("service:acceptance_upload", args=[delivery.pk]),
                {"file": SimpleUploadedFile("验收单.pdf", b"MZ\x90\x00"), "accepted_on": ""})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.IN_PROGRESS
    client.post(reverse("service:acceptance_upload", args=[delivery.pk]),
                {"file": SimpleUploadedFile("验收单.pdf", PDF), "accepted_on": timezone.localdate().isoformat(),
                 "acceptor_name": "周敏"})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.ACCEPTED and delivery.acceptor_name == "周敏"


def test_today_lists_contracts_waiting_for_a_delivery_and_overdue_milestones(client, org, delivered_contract,
                                                                             make_delivery, service_staff):
    # Nothing due on signing: an instalment to collect would list the contract first (a record shows once).
    waiting = delivered_contract([{"title": "全款", "condition": "on_acceptance", "days_after": "10",
                                   "percentage": "100"}])
    delivery = make_delivery()
    body = get(client, org.owner, reverse("followup:today")).content.decode()
    assert waiting.get_absolute_url() in body and "Start the delivery" in body
    assert body.count("Start the delivery") == 1  # the contract with a delivery waits for none
    body = get(client, service_staff, reverse("followup:today")).content.decode()
    assert "Milestone overdue: 需求调研、系统部署" in body and "培训上线" not in body
    delivery.milestones.filter(name="系统部署").update(done_date=timezone.localdate() - timedelta(days=1))
    body = get(client, service_staff, reverse("followup:today")).content.decode()
    assert "Milestone overdue: 需求调研<" in body


def test_the_delivery_page_in_chinese(client, org, make_delivery):
    delivery = make_delivery()
    client.force_login(org.owner)
    with translation.override("zh-hans"):
        body = client.get(delivery.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        public = client.get(reverse("delivery_public", args=[delivery.public_key]),
                            HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "里程碑" in body and "验收" in body and "交付负责人" in body
    assert "确认验收" in public
