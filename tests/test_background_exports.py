"""Large list exports run on the job worker: past CLOSELOOP_EXPORT_BACKGROUND_ROWS the export view queues a job
with the list's filters and answers with its page; the worker replays the export as the requester (their
visibility, their filters), keeps the file under the data dir, notifies them; only they may see or download it;
old jobs are pruned with their files."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from closeloop.core import exports, spreadsheets
from closeloop.core.models import AuditEntry, ExportJob, ExportStatus, Notification
from closeloop.core.tests.sheets import continued_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small(settings, tmp_path):
    settings.LANGUAGE_CODE = "en"
    settings.DATA_DIR = tmp_path
    settings.CLOSELOOP_EXPORT_BACKGROUND_ROWS = 0  # any list with a row


@pytest.fixture
def leads(org, make_lead):
    """Two leads of the owner (one in 苏州), one of the outsider."""
    return [make_lead(owner=org.owner, company_name="苏州甲公司", city="苏州"),
            make_lead(owner=org.owner, company_name="杭州乙公司", city="杭州"),
            make_lead(owner=org.outsider, company_name="宁波丙公司", city="宁波")]


def requested(client, user, url="/leads/export/?format=xlsx") -> ExportJob:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302
    job = ExportJob.objects.get(requested_by=user)
    assert response["Location"] == reverse("export_job", args=[job.pk])
    return job


def downloaded(client, job) -> bytes:
    response = client.get(reverse("export_download", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    return b"".join(response.streaming_content)


def test_a_list_within_the_threshold_is_written_in_the_request(client, org, leads, settings):
    settings.CLOSELOOP_EXPORT_BACKGROUND_ROWS = 2  # the owner's two leads
    client.force_login(org.owner)
    response = client.get("/leads/export/?format=xlsx")
    assert response.status_code == 200 and response["Content-Type"] == spreadsheets.XLSX_CONTENT_TYPE
    assert not ExportJob.objects.exists()


def test_a_large_list_is_written_by_the_worker_as_its_requester(client, org, leads, monkeypatch):
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", 2)  # and continued over sheets, counted as it goes
    job = requested(client, org.admin)
    assert (job.status, job.total_rows, job.label) == (ExportStatus.QUEUED, 3, "Leads")
    assert AuditEntry.objects.filter(action="export.request", target_id=str(job.pk), actor=org.admin).exists()
    page = client.get(reverse("export_job", args=[job.pk]))
    assert b"0 of about 3 rows" in page.content and b'hx-trigger="every 2s"' in page.content

    assert exports.export_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert (job.status, job.written_rows) == (ExportStatus.DONE, 3)
    assert job.file_path.exists()
    names, rows = continued_rows(downloaded(client, job))
    assert len(names) == 3
    assert sorted(row[1] for row in rows) == sorted(lead.company_name for lead in leads)
    note = Notification.objects.get(recipient=org.admin, kind="export.ready")
    assert note.url == reverse("export_job", args=[job.pk]) and "ready" in note.message
    assert exports.export_run(job_id=job.pk) == "skipped"  # a job run twice writes once


def test_the_job_keeps_the_requesters_visibility_and_filters(client, org, leads, settings):
    settings.CLOSELOOP_EXPORT_BACKGROUND_ROWS = -1  # every list, even an empty one
    job = requested(client, org.owner, "/leads/export/?format=xlsx&q=苏州")
    exports.export_run(job_id=job.pk)
    header, *rows = load_workbook(io.BytesIO(downloaded(client, job))).worksheets[0].iter_rows(values_only=True)
    assert [row[1] for row in rows] == ["苏州甲公司"]

    other = requested(client, org.teammate)  # sees none of these leads: an empty file, not someone else's
    exports.export_run(job_id=other.pk)
    header, *rows = load_workbook(io.BytesIO(downloaded(client, other))).worksheets[0].iter_rows(values_only=True)
    assert rows == []


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "other_manager", "outsider", "marketer"])
def test_only_the_requester_sees_the_job_and_its_file(client, org, leads, who):
    job = requested(client, org.admin)
    exports.export_run(job_id=job.pk)
    client.force_login(getattr(org, who))
    assert client.get(reverse("export_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("export_download", args=[job.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("export_download", args=[job.pk])).status_code == 302  # to the login page


def test_another_administrator_may_not_download_it(client, org, leads):
    from closeloop.core.models import Role, User

    job = requested(client, org.owner, "/leads/export/?format=csv")
    exports.export_run(job_id=job.pk)
    assert b"\xe8\x8b\x8f\xe5\xb7\x9e" in downloaded_csv(client, job)  # 苏州
    client.force_login(User.objects.create_superuser("admin2", "admin2@example.com", "pw", role=Role.ADMIN))
    assert client.get(reverse("export_download", args=[job.pk])).status_code == 404


def downloaded_csv(client, job) -> bytes:
    response = client.get(reverse("export_download", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content)


def test_old_exports_are_pruned_with_their_files(client, org, leads, settings):
    old, new = requested(client, org.owner), requested(client, org.outsider)
    for job in (old, new):
        exports.export_run(job_id=job.pk)
    ExportJob.objects.filter(pk=old.pk).update(
        requested_at=timezone.now() - timedelta(days=settings.CLOSELOOP_EXPORT_KEEP_DAYS + 1))
    assert exports.exports_prune() == 1
    assert not old.file_path.exists() and new.file_path.exists()
    assert list(ExportJob.objects.all()) == [new]


@pytest.mark.parametrize("url", ["deals:export", "quotes:export", "contracts:export", "service:delivery_export",
                                 "service:ticket_export"])
def test_every_list_export_queues_past_the_threshold(client, org, settings, url):
    settings.CLOSELOOP_EXPORT_BACKGROUND_ROWS = -1  # even an empty list
    client.force_login(org.admin)
    response = client.get(reverse(url))
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert exports.export_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert job.file_name.endswith(".xlsx") and job.file_path.exists()


def test_a_failed_export_says_so_and_offers_no_file(client, org):
    job = exports.export_job_create(path="/no/such/list/export/", query="", label="线索", total_rows=30000,
                                    actor=org.owner)
    assert exports.export_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and job.error and not job.file_path.exists()
    assert "failed" in Notification.objects.get(recipient=org.owner, kind="export.ready").message
    client.force_login(org.owner)
    assert b"The export failed" in client.get(reverse("export_job", args=[job.pk])).content
    assert client.get(reverse("export_download", args=[job.pk])).status_code == 404


def test_an_export_whose_worker_died_is_run_again_once_then_failed_with_a_message(client, org, leads,
                                                                                django_capture_on_commit_callbacks):
    """A worker killed while writing leaves its job "running"; the job queue never runs the task again. The sweep
    queues a job silent for STALL_AFTER once more, and fails one that stalls again, telling its requester."""
    from django_tasks_db.models import DBTaskResult

    from closeloop.core.schedule import SWEEPS

    assert SWEEPS["core.recover_exports"].every_seconds == 300
    job = requested(client, org.owner)
    now = timezone.now()

    def worker_died(minutes_ago):
        # What export_run leaves when its process is killed after its start mark: running, a heartbeat, no file.
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING,
                                                   heartbeat_at=now - timedelta(minutes=minutes_ago))

    ExportJob.objects.filter(pk=job.pk).update(attempts=1)
    worker_died(exports.STALL_AFTER.total_seconds() / 60 - 1)
    assert exports.exports_recover(now=now) == 0  # still within the stall time: a slow worker is left alone
    worker_died(exports.STALL_AFTER.total_seconds() / 60 + 1)
    queued = DBTaskResult.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        assert exports.exports_recover(now=now) == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.QUEUED and DBTaskResult.objects.count() == queued + 1
    assert exports.export_run(job_id=job.pk) == "done"  # the second run writes it
    job.refresh_from_db()
    assert (job.status, job.attempts, job.written_rows) == (ExportStatus.DONE, 2, 2) and job.heartbeat_at > now
    assert exports.exports_recover(now=now + timedelta(hours=1)) == 0  # a finished job is no stalled one

    # A job that stalls on its second run too is failed: the person is told and the page says so.
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, heartbeat_at=now - timedelta(hours=1),
                                               finished_at=None)
    Notification.objects.all().delete()
    assert exports.exports_recover(now=now) == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and job.stalled and job.finished_at == now
    note = Notification.objects.get(recipient=org.owner, kind="export.ready")
    assert "stopped twice" in note.message and note.url == reverse("export_job", args=[job.pk])
    page = client.get(reverse("export_job", args=[job.pk])).content.decode()
    assert "The export stopped twice before it was written" in page and 'hx-trigger="every 2s"' not in page
    assert exports.exports_recover(now=now) == 0


def test_an_export_running_since_before_heartbeats_is_recovered_by_its_request_time(client, org, leads):
    job = requested(client, org.owner)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, heartbeat_at=None, attempts=1)
    assert exports.exports_recover(now=job.requested_at + timedelta(minutes=5)) == 0
    assert exports.exports_recover(now=job.requested_at + exports.STALL_AFTER + timedelta(seconds=1)) == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.QUEUED
