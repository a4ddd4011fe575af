"""List exports too large for a web request, written by the job worker.

A list's export view hands its rows to `export_or_respond`: up to CLOSELOOP_EXPORT_BACKGROUND_ROWS rows (counted
with a bounded query, so a million-row list costs no full count) the workbook is written in the request as before;
past it an `ExportJob` stores the export URL with its filters (the query string) and the requester, and the worker
replays that same view as the requester (`export_run`): the same filters, the same visibility, the same writer.
The requester follows the job on its page and is notified with the link when the file is ready; only they may
download it. Files are kept under the data dir and pruned after CLOSELOOP_EXPORT_KEEP_DAYS days.

A worker that dies while writing (killed, out of memory, the machine restarted) leaves its job "running" for ever:
the job queue does not run a task again. The worker marks its job at the start and every PROGRESS_EVERY rows
(`heartbeat_at`); a sweep (`exports_recover`, every few minutes, as the notification deliveries' recovery) queues a
job silent for STALL_AFTER again, once, and fails one that stalls a second time with a message to its requester.
"""

import logging
import os
import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.shortcuts import redirect
from django.test import RequestFactory
from django.urls import resolve
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_htmx.middleware import HtmxDetails

from . import spreadsheets
from .audit import audited_create
from .errors import Forbidden
from .models import EXPORT_STALLED, Channel, ExportJob, ExportStatus

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 5000
# A running job with no sign of life for this long lost its worker: 5,000 rows take seconds, and writing the file
# out at the end (the longest step without a mark) about a second per 20,000 rows.
STALL_AFTER = timedelta(minutes=15)
# Runs of one job: the first, and one more after a stall; a second stall fails it (it may be what kills the worker).
MAX_ATTEMPTS = 2


def export_or_respond(request, rows, respond, *, label):
    """`respond()` (the workbook, in this request) for a list of at most CLOSELOOP_EXPORT_BACKGROUND_ROWS `rows`, else
    a redirect to a new background job's page. In the worker replaying the job, always `respond()`."""
    if getattr(request, "export_job", None) is None:
        limit = settings.CLOSELOOP_EXPORT_BACKGROUND_ROWS
        if rows.order_by()[:limit + 1].count() > limit:
            job = export_job_create(path=request.path, query=request.GET.urlencode(), label=str(label),
                                    total_rows=rows.order_by().count(), actor=request.user)
            return redirect(job)
    return respond()


def export_job_create(*, path: str, query: str, label: str, total_rows: int, actor) -> ExportJob:
    """Queue a list's export for the worker, as `actor` with the list's filters (`query`)."""
    if not getattr(actor, "is_authenticated", False):
        raise Forbidden(_("Sign in to export."))
    with transaction.atomic():
        job = audited_create(instance=ExportJob(
            requested_by=actor, path=path[:200], query=query[:2000], label=label[:100], total_rows=total_rows,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        ), actor=actor, channel=Channel.WEB, action="export.request", fields=["path", "query", "total_rows"])
        from .tasks import run_export

        transaction.on_commit(lambda: run_export.enqueue(job.pk))
    return job


def export_run(*, job_id: int) -> str:
    """Write a queued export: replay its list's export view as its requester, keep the file, tell them."""
    from .notify import notify

    job = ExportJob.objects.select_related("requested_by").filter(pk=job_id).first()
    if job is None or job.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        return "skipped"
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, written_rows=0,
                                               heartbeat_at=timezone.now(), attempts=F("attempts") + 1)

    written = 0

    def progress(rows: int) -> None:
        nonlocal written
        written = rows
        if rows % PROGRESS_EVERY == 0:
            ExportJob.objects.filter(pk=job.pk).update(written_rows=rows, heartbeat_at=timezone.now())

    try:
        request = RequestFactory().get(f"{job.path}?{job.query}")
        request.user = job.requested_by
        request.export_job = job
        request.htmx = HtmxDetails(request)
        match = resolve(job.path)
        token = spreadsheets.export_progress.set(progress)
        try:
            with translation.override(job.language):
                response = match.func(request, *match.args, **match.kwargs)
                content = b"".join(response.streaming_content) if response.streaming else response.content
        finally:
            spreadsheets.export_progress.reset(token)
        if response.status_code != 200:
            raise RuntimeError(f"the export view answered {response.status_code}")
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.FAILED, error=str(exc)[:500],
                                                   finished_at=timezone.now())
        with translation.override(job.language):
            notify(recipient=job.requested_by, kind="export.ready", url=job.get_absolute_url(), key=f"export:{job.pk}",
                   message=_("The export of %(what)s failed. Try again, or narrow the list with its filters.")
                   % {"what": job.label})
        return "failed"
    job.file_path.parent.mkdir(parents=True, exist_ok=True)
    partial = job.file_path.with_suffix(".part")
    partial.write_bytes(content)
    os.replace(partial, job.file_path)
    name = re.search(r'filename="([^"]+)"', response.get("Content-Disposition", ""))
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE, file_name=name.group(1) if name else f"export-{job.pk}.xlsx",
        written_rows=written or F("total_rows"),  # a CSV has no sheet to count its rows
        finished_at=timezone.now())
    with translation.override(job.language):
        notify(recipient=job.requested_by, kind="export.ready", url=job.get_absolute_url(), key=f"export:{job.pk}",
               message=_("Your export of %(what)s is ready to download.") % {"what": job.label})
    return "done"


def exports_recover(*, now=None) -> int:
    """Run again the exports whose worker stopped while writing them (no sign of life for STALL_AFTER), once; fail
    and tell the requester of one that stalled a second time. Returns how many were queued or failed."""
    from .notify import notify
    from .tasks import run_export

    now = now or timezone.now()
    since = now - STALL_AFTER
    # (A job running since before heartbeats were kept has none: its request time stands in.)
    stalled = ExportJob.objects.filter(Q(heartbeat_at__lt=since) | Q(heartbeat_at__isnull=True, requested_at__lt=since),
                                       status=ExportStatus.RUNNING)
    handled = 0
    for job in stalled.select_related("requested_by").order_by("pk")[:100]:
        # The status and the heartbeat again, in the update: the worker may have moved on meanwhile.
        still = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING, heartbeat_at=job.heartbeat_at)
        if job.attempts < MAX_ATTEMPTS:
            with transaction.atomic():
                if still.update(status=ExportStatus.QUEUED, written_rows=0):
                    transaction.on_commit(lambda pk=job.pk: run_export.enqueue(pk))
                    handled += 1
            continue
        if still.update(status=ExportStatus.FAILED, error=EXPORT_STALLED, finished_at=now):
            logger.warning("export %s stalled %s times; failed", job.pk, job.attempts)
            with translation.override(job.language):
                notify(recipient=job.requested_by, kind="export.ready", url=job.get_absolute_url(),
                       key=f"export:{job.pk}",
                       message=_("The export of %(what)s stopped twice before it was written. Export again, or "
                                 "narrow the list with its filters.") % {"what": job.label})
            handled += 1
    return handled


def exports_prune(*, now=None) -> int:
    """Delete the exports (and their files) requested more than CLOSELOOP_EXPORT_KEEP_DAYS days ago."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CLOSELOOP_EXPORT_KEEP_DAYS)
    old = list(ExportJob.objects.filter(requested_at__lt=cutoff))
    for job in old:
        job.file_path.unlink(missing_ok=True)
        job.file_path.with_suffix(".part").unlink(missing_ok=True)
    ExportJob.objects.filter(pk__in=[job.pk for job in old]).delete()
    return len(old)
