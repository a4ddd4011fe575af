"""Cancelling an import: a queued one at once, a running one after the chunk it is writing, by its uploader or an
administrator only, audited, and never leaving the preparing process behind."""

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from closeloop.core.errors import Conflict, NotFound
from closeloop.core.models import AuditEntry
from closeloop.core.tests.sheets import xlsx_bytes
from closeloop.leads.models import ImportJob, ImportStatus, Lead
from closeloop.leads.services import batch, pipeline
from closeloop.leads.services.importing import (
    import_job_cancel,
    import_job_create,
    import_job_run,
    import_job_start,
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def rows(count):
    return [[f"取消测试{n}号科技有限公司", f"联系人{n}", f"139{n:08d}", "", "", ""] for n in range(1, count + 1)]


def queued(org, count=10) -> ImportJob:
    job = import_job_create(upload=SimpleUploadedFile("名片.xlsx", xlsx_bytes(rows(count))), actor=org.owner)
    return import_job_start(job=job, mapping=job.mapping, default_source=org.sources["展会"], merge_duplicates=False,
                            actor=org.owner, queue=False)


def children() -> set[int]:
    """This process's living child processes (every thread's)."""
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            found |= {int(pid) for pid in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


@pytest.mark.skipif(not pipeline.available(), reason="needs fork and two cores: the preparing process is the point")
def test_a_running_import_stops_after_the_chunk_it_is_writing(org, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(batch, "IMPORT_CHUNK_ROWS", 3)
    job = queued(org, count=10)
    file_path = Path(job.file.path)
    before = children()
    submit_chunk, calls, seen_children = batch._submit_chunk, [], []

    def writing(chunk, **kwargs):
        calls.append(len(chunk))
        seen_children.append(children() - before)
        if len(calls) == 2:  # the uploader cancels while the second chunk is being written
            import_job_cancel(job=ImportJob.objects.get(pk=job.pk), actor=org.owner)
            assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.RUNNING  # asked, not yet stopped
        return submit_chunk(chunk, **kwargs)

    monkeypatch.setattr(batch, "_submit_chunk", writing)
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_run(job_id=job.pk)

    # The chunk being written was finished and kept; nothing after it was written.
    assert calls == [3, 3]
    assert job.status == ImportStatus.CANCELLED and job.finished_at is not None
    assert (job.imported_rows, job.last_row) == (6, 7)  # header row 1, data rows 2..7
    assert Lead.objects.filter(company_name__startswith="取消测试").count() == 6
    assert not Lead.objects.filter(company_name="取消测试7号科技有限公司").exists()
    # The rows were prepared in a second process, which is gone now; the upload is deleted.
    assert seen_children[0], "the rows were not prepared in a second process"
    assert children() - before == set()
    assert not file_path.exists()
    actions = list(AuditEntry.objects.for_object(job).order_by("pk").values_list("action", "actor"))
    assert ("import.cancel", org.owner.pk) in actions and actions[-1][0] == "import.finish"
    # A second run (the task again) leaves it as it is.
    assert import_job_run(job_id=job.pk).status == ImportStatus.CANCELLED


def test_a_cancel_between_chunks_stops_the_next_one_in_one_process(org, monkeypatch):
    """The same rule where the rows are read in the writer's own process (the product import's way)."""
    job = queued(org, count=5)
    outcome = batch.lead_submit_batch(
        rows=(((n, []), {"company_name": f"一进程{n}公司", "contact_name": "甲", "mobile": f"1391234{n:04d}",
                         "source": org.sources["展会"]}) for n in range(5)),
        channel="import", actor=org.owner, chunk_size=2, stop=lambda: True, import_job=job)
    assert outcome.created == 2


def test_a_queued_import_is_cancelled_at_once(org, django_capture_on_commit_callbacks):
    job = queued(org)
    file_path = Path(job.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_cancel(job=job, actor=org.owner)
    assert job.status == ImportStatus.CANCELLED and job.finished_at is not None and job.finished
    assert not file_path.exists()
    # The worker's task, arriving after, does nothing.
    assert import_job_run(job_id=job.pk).status == ImportStatus.CANCELLED
    assert not Lead.objects.filter(company_name__startswith="取消测试").exists()
    entry = AuditEntry.objects.for_object(job).filter(action="import.cancel").get()
    assert entry.actor == org.owner


def test_only_the_uploader_and_administrators_may_cancel(org):
    job = queued(org)
    for person in (org.teammate, org.manager, org.other_manager):
        with pytest.raises(NotFound):
            import_job_cancel(job=job, actor=person)
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.QUEUED
    assert not AuditEntry.objects.for_object(job).filter(action="import.cancel").exists()
    job = import_job_cancel(job=job, actor=org.admin)
    assert job.status == ImportStatus.CANCELLED
    assert AuditEntry.objects.for_object(job).filter(action="import.cancel").get().actor == org.admin


def test_a_finished_import_cannot_be_cancelled(org):
    job = import_job_run(job_id=queued(org, count=2).pk)
    assert job.status == ImportStatus.DONE
    with pytest.raises(Conflict):
        import_job_cancel(job=job, actor=org.owner)
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE


def test_a_cancel_asked_before_a_worker_crash_ends_the_job_when_it_resumes(org):
    job = queued(org)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    import_job_cancel(job=ImportJob.objects.get(pk=job.pk), actor=org.owner)
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.CANCELLED and job.imported_rows == 0


def test_the_pages_offer_cancel_to_whom_may_and_say_what_was_kept(org, client):
    job = queued(org)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, last_row=4, imported_rows=3)
    cancel_url = reverse("leads:import_cancel", args=[job.pk])
    for person in (org.teammate, org.manager):
        client.force_login(person)
        assert client.get(job.get_absolute_url()).status_code == 404
        assert client.post(cancel_url).status_code == 404
    client.force_login(org.admin)
    assert "Cancel import" in client.get(job.get_absolute_url()).text
    client.force_login(org.owner)
    assert "Cancel import" in client.get(reverse("leads:import_progress", args=[job.pk])).text
    assert client.get(cancel_url).status_code == 405
    response = client.post(cancel_url, follow=True)
    page = response.text
    assert "Cancelling" in page and "Cancel import" not in page
    assert ImportJob.objects.get(pk=job.pk).cancel_requested_at is not None
    # The writer stops: the result page says how many rows were kept, and offers no cancel.
    import_job_run(job_id=job.pk)
    page = client.get(job.get_absolute_url()).text
    assert "The import was cancelled. 3 rows were imported before it stopped" in page
    assert "Cancel import" not in page
    assert "Cancel import" not in client.get(reverse("leads:import_progress", args=[job.pk])).text


@pytest.mark.django_db(transaction=True)
def test_a_cancel_from_another_connection_stops_the_worker_between_chunks(org, monkeypatch):
    """The worker writes while a web request (another thread, its own connection) cancels: the worker sees it
    after the chunk it was writing when the cancel committed, and nothing after."""
    import threading
    import time

    from django.db import connection

    monkeypatch.setattr(batch, "IMPORT_CHUNK_ROWS", 3)
    job = queued(org, count=30)
    prepared = pipeline.chunks_apart

    seen = {}

    def cancel():
        try:
            deadline = time.monotonic() + 60
            while not ImportJob.objects.filter(pk=job.pk, imported_rows__gte=3).exists():
                assert time.monotonic() < deadline
                time.sleep(0.02)
            seen["at_cancel"] = import_job_cancel(job=ImportJob.objects.get(pk=job.pk), actor=org.owner).imported_rows
        except BaseException as exc:  # reported below, in the test's thread
            seen["error"] = exc
        finally:
            connection.close()

    canceller = threading.Thread(target=cancel)

    def slow(*args, **kwargs):
        # Chunks arrive a while apart, as 2,000 rows do. The pause is between the writer's transactions, where a
        # real chunk's is (taking it off the queue): inside one, a 3-row chunk's writer would take SQLite's write
        # lock back the instant it let go, and the cancel would wait for the whole import.
        for item in prepared(*args, **kwargs):
            if canceller.ident is None:  # started once the preparing process is forked, not before
                canceller.start()
            time.sleep(0.2)
            yield item

    monkeypatch.setattr(pipeline, "chunks_apart", slow)
    before = children()
    job = import_job_run(job_id=job.pk)
    canceller.join(timeout=60)
    assert "error" not in seen, seen.get("error")
    assert job.status == ImportStatus.CANCELLED
    # At most the chunk being written when the cancel committed was added after it; the rest was not written.
    assert seen["at_cancel"] <= job.imported_rows <= seen["at_cancel"] + 3 < 30
    assert Lead.objects.filter(company_name__startswith="取消测试").count() == job.imported_rows
    assert children() - before == set()
