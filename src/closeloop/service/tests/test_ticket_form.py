"""The customer's public ticket form: shared from the customer page by the customer's people, used without a login
(rate-limited, honeypot, bounded fields, attachments checked by their bytes and size), raising an assigned ticket
through the same service as the staff's page, and a thank-you page with its number."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from closeloop.core.errors import Forbidden
from closeloop.core.models import AuditEntry, Channel
from closeloop.service import ticket_forms
from closeloop.service.models import Ticket, TicketAttachment, TicketFormLink

from .conftest import PDF, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def link(org, make_customer, service_team):
    return ticket_forms.ticket_form_share(customer=make_customer(owner=org.owner), actor=org.owner)


def form_data(**extra):
    return {"requester_name": "周敏", "requester_phone": "13912345678", "requester_email": "", "category": "fault",
            "title": "打印机驱动安装失败", "description": "安装到第三步报错", **extra}


@pytest.mark.parametrize("who, allowed", [("owner", True), ("manager", True), ("admin", True), ("teammate", False),
                                          ("outsider", False), ("service", False), ("finance", False)])
def test_the_customers_people_share_its_ticket_form(org, make_customer, service_staff, finance, who, allowed):
    user = {"service": service_staff, "finance": finance}.get(who) or getattr(org, who)
    customer = make_customer(owner=org.owner)
    if not allowed:
        with pytest.raises(Forbidden):
            ticket_forms.ticket_form_share(customer=customer, actor=user)
        return
    first = ticket_forms.ticket_form_share(customer=customer, actor=user)
    assert ticket_forms.ticket_form_share(customer=customer, actor=user).key == first.key  # shared once
    renewed = ticket_forms.ticket_form_share(customer=customer, actor=user, renew=True)
    assert renewed.key != first.key and len(renewed.key) >= 32
    assert AuditEntry.objects.filter(action="ticket_form.share", target_id=str(customer.pk)).count() == 2


def test_the_customer_page_shows_the_link_to_who_sees_the_customer(client, org, link):
    url = reverse("deals:customer_detail", args=[link.customer.pk])
    for user in (org.owner, org.manager, org.admin):
        client.force_login(user)
        body = client.get(url).content.decode()
        assert reverse("ticket_form_public", args=[link.key]) in body, user
    for user in (org.teammate, org.outsider):
        client.force_login(user)
        assert client.get(url).status_code == 404
    # A teammate who does not see the customer cannot share or renew it through the page either.
    client.force_login(org.teammate)
    assert client.post(reverse("service:ticket_form_share", args=[link.customer.pk]), {"renew": "1"}).status_code == 404
    link.refresh_from_db()
    client.force_login(org.owner)
    response = client.post(reverse("service:ticket_form_share", args=[link.customer.pk]), {"renew": "1"})
    assert response.status_code == 302
    assert TicketFormLink.objects.get(pk=link.pk).key != link.key


def test_a_customer_raises_an_assigned_ticket_with_an_attachment_without_logging_in(client, org, link, service_team):
    url = reverse("ticket_form_public", args=[link.key])
    page = client.get(url)
    assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin" and "noindex" in page["X-Robots-Tag"]
    assert link.customer.name in page.content.decode() and 'name="website"' in page.content.decode()
    response = client.post(url, {**form_data(), "attachments": [SimpleUploadedFile("截图.png", png_bytes()),
                                                                SimpleUploadedFile("日志.pdf", PDF)]})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("ticket_form_thanks", args=[link.key, ticket.number])
    assert ticket.customer == link.customer and ticket.channel == Channel.FORM and ticket.created_by is None
    assert ticket.owner == service_team.first and ticket.priority == "P3" and ticket.first_response_due_at
    assert (ticket.requester_name, ticket.requester_phone) == ("周敏", "13912345678")
    assert sorted(TicketAttachment.objects.values_list("original_name", "content_type")) == [
        ("截图.png", "image/png"), ("日志.pdf", "application/pdf")]
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200 and ticket.number in thanks.content.decode()
    # The thank-you page shows only this form's tickets of this customer.
    assert client.get(reverse("ticket_form_thanks", args=[link.key, "GD-2020-00001"])).status_code == 404
    assert client.get(reverse("ticket_form_thanks", args=["wrong-key", ticket.number])).status_code == 404
    # Staff read the attachments in a sandbox; an outsider not at all.
    attachment = TicketAttachment.objects.get(content_type="image/png")
    file_url = reverse("service:ticket_file", args=[ticket.pk, attachment.pk])
    client.force_login(service_team.second)
    response = client.get(file_url)
    assert b"".join(response.streaming_content).startswith(b"\x89PNG") and "sandbox" in response["Content-Security-Policy"]
    assert "截图.png" in client.get(ticket.get_absolute_url()).content.decode()
    client.force_login(org.outsider)
    assert client.get(file_url).status_code == 404


def test_the_chinese_form_asks_what_went_wrong_not_for_a_follow_up(client, link):
    body = client.get(reverse("ticket_form_public", args=[link.key]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "问题描述" in body and "跟进情况" not in body


def test_a_renamed_program_is_refused_and_nothing_is_raised(client, link):
    url = reverse("ticket_form_public", args=[link.key])
    response = client.post(url, {**form_data(), "attachments": [SimpleUploadedFile("截图.png", b"MZ\x90\x00" * 100)]})
    assert response.status_code == 422 and "Windows program" in response.content.decode()
    assert not Ticket.objects.exists()


def test_fields_are_required_and_bounded(client, link):
    url = reverse("ticket_form_public", args=[link.key])
    response = client.post(url, form_data(requester_name="", requester_phone="", title="", category="billing"))
    body = response.content.decode()
    assert response.status_code == 422 and "Tell us who you are." in body and "phone number or an email" in body
    assert not Ticket.objects.exists()
    client.post(url, form_data(title="长" * 500, description="字" * 9000, requester_name="名" * 300))
    ticket = Ticket.objects.get()
    assert (len(ticket.title), len(ticket.description), len(ticket.requester_name)) == (200, 5000, 100)


def test_a_bot_is_thanked_and_raises_nothing(client, link):
    response = client.post(reverse("ticket_form_public", args=[link.key]), form_data(website="http://spam"))
    assert response.status_code == 200 and 'id="ticket-thanks"' in response.content.decode()
    assert not Ticket.objects.exists()


def test_the_form_is_rate_limited_by_the_public_limiter_and_unknown_keys_are_404(client, settings, link):
    assert client.get(reverse("ticket_form_public", args=["not-the-key"])).status_code == 404
    settings.CLOSELOOP_PUBLIC_FORM_RATE = "2/m"
    url = reverse("ticket_form_public", args=[link.key])
    # Opening the form costs nothing (a whole office may share one address); each submission counts.
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    assert [client.post(url, form_data()).status_code for _ in range(3)] == [302, 302, 429]
    assert Ticket.objects.count() == 2


def test_an_oversized_post_is_refused_before_it_is_read(client, link):
    url = reverse("ticket_form_public", args=[link.key])
    response = client.post(url, form_data(), CONTENT_LENGTH=str(40 * 1024 * 1024))
    assert response.status_code == 413
    assert not Ticket.objects.exists()


def test_staff_attach_files_when_they_raise_a_ticket(client, org, make_customer, service_team):
    customer = make_customer(owner=org.owner)
    url = reverse("service:ticket_create") + f"?customer={customer.pk}"
    client.force_login(org.owner)
    refused = client.post(url, {"title": "系统报错", "category": "fault", "priority": "P2",
                                "attachments": [SimpleUploadedFile("报错.pdf", b"PK\x03\x04 zip")]})
    assert refused.status_code == 422 and "zip archive" in refused.content.decode()
    assert not Ticket.objects.exists()
    response = client.post(url, {"title": "系统报错", "category": "fault", "priority": "P2",
                                 "attachments": [SimpleUploadedFile("报错.pdf", PDF)]})
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and ticket.attachments.get().original_name == "报错.pdf"
    assert ticket.created_by == org.owner and ticket.channel == Channel.WEB
