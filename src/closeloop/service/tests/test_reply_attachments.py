"""Files sent with a ticket's replies and notes: checked as a new ticket's (type by their first bytes, size, count),
kept on the ticket, shown on its timeline where they were sent, downloaded only by who may see the ticket."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from closeloop.core.models import AuditEntry
from closeloop.followup.models import Activity
from closeloop.service.models import TicketAttachment

from .conftest import PDF, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def test_a_reply_and_a_note_carry_files_seen_on_the_timeline(client, org, make_ticket, service_team):
    ticket = make_ticket()
    url = reverse("service:ticket_reply", args=[ticket.pk])
    client.force_login(ticket.owner)
    refused = client.post(url, {"body": "请看附件", "attachments": [SimpleUploadedFile("日志.pdf", b"MZ\x90\x00" * 50)]})
    assert refused.status_code == 422 and "Windows program" in refused.content.decode()
    assert not Activity.objects.exists() and not TicketAttachment.objects.exists()
    too_many = [SimpleUploadedFile(f"{n}.pdf", PDF) for n in range(4)]
    assert client.post(url, {"body": "四个文件", "attachments": too_many}).status_code == 422
    response = client.post(url, {"body": "已修复，请看截图", "attachments": [SimpleUploadedFile("修复后.png", png_bytes())]})
    assert response.status_code == 302
    reply = TicketAttachment.objects.get()
    assert reply.added_later and reply.reply == Activity.objects.get() and reply.content_type == "image/png"
    client.post(url, {"body": "内部：日志在此", "internal": "on", "attachments": [SimpleUploadedFile("日志.pdf", PDF)]})
    note = TicketAttachment.objects.get(original_name="日志.pdf")
    assert note.added_later and note.reply is None
    assert AuditEntry.objects.filter(action="ticket.attach").count() == 2
    page = client.get(ticket.get_absolute_url()).content.decode()
    timeline = page[page.index('class="tl-attachment"'):]
    assert "修复后.png" in timeline and "日志.pdf" in timeline
    file_url = reverse("service:ticket_file", args=[ticket.pk, reply.pk])
    assert f'href="{file_url}"' in page
    # Who sees the ticket downloads it; nobody else finds it.
    for user, status in [(ticket.owner, 200), (org.owner, 200), (org.manager, 200), (service_team.second, 200),
                         (org.teammate, 404), (org.outsider, 404)]:
        client.force_login(user)
        response = client.get(file_url)
        assert response.status_code == status, user
        if status == 200:
            assert b"".join(response.streaming_content).startswith(b"\x89PNG")
