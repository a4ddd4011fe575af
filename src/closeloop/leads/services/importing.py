"""Import jobs: an uploaded spreadsheet, its column mapping, and its run in the worker, chunk by chunk."""

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import audited_create, audited_update
from closeloop.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from closeloop.core.models import Channel, User

from .. import assignment, dedup, imports
from ..models import (
    ImportJob,
    ImportRefusal,
    ImportStatus,
    LeadSource,
)
from .batch import BatchOutcome
from .intake import channel_policy

logger = logging.getLogger(__name__)


def import_job_create(*, upload, actor: User, kind: str = imports.LEADS, in_worker: bool = False) -> ImportJob:
    """Store an uploaded spreadsheet under MEDIA_ROOT/imports/ and check it.

    `kind` is an import kind's key (leads, or what a higher app declares through `import_kinds()`).
    `in_worker` (the upload page): only the cheap checks run here (size, type, an .xlsx's zip directory) and
    the job reads the header and first rows in the worker (`import_job_inspect`), so a large or hostile
    file never holds a web worker; otherwise (command line, tests) it is read here and now."""
    import_kind = imports.import_kind(kind)
    if not import_kind.may_import(actor):
        raise Forbidden(_("You may not import %(records)s.") % {"records": import_kind.label})
    name = Path(upload.name or "upload").name[:200]
    suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in {".xlsx", ".csv", ".txt"} else ".upload"
    job = ImportJob(created_by=actor, original_name=name, kind=kind)
    # The storage copies the upload chunk by chunk; the file is never read whole into memory.
    job.file.save(f"{uuid.uuid4().hex}{suffix}", upload, save=False)
    try:
        if in_worker:
            job.file_kind, job.status = imports.check_upload(Path(job.file.path), name=name), ImportStatus.INSPECTING
        else:
            _read_preview(job)
    except imports.ImportFileError as exc:
        job.file.delete(save=False)
        raise ValidationFailed(exc.message, field_errors={"file": [exc.message]}) from None
    with transaction.atomic():
        audited_create(instance=job, actor=actor, channel=Channel.WEB, action="import.upload",
                       fields=["kind", "original_name", "file_kind", "encoding", "total_rows"])
        if in_worker:
            from ..tasks import inspect_import

            job_id = job.pk
            transaction.on_commit(lambda: inspect_import.enqueue(job_id))
    return job


def _read_preview(job: ImportJob) -> None:
    info = imports.inspect_file(Path(job.file.path), name=job.original_name)
    job.file_kind, job.encoding, job.header_row = info.kind, info.encoding, info.header_row
    job.headers, job.sample_rows, job.total_rows = info.headers, info.sample_rows, info.total_rows
    job.mapping = imports.auto_mapping(info.headers, job.import_kind)
    job.status = ImportStatus.MAPPING


def import_job_inspect(*, job_id: int) -> ImportJob | None:
    """In the worker: read an uploaded file's header, first rows and row count for the mapping page, or fail
    the job with the reason (too many columns or rows, an unknown encoding, a damaged file)."""
    job = ImportJob.objects.filter(pk=job_id, status=ImportStatus.INSPECTING).first()
    if job is None:
        return None
    try:
        _read_preview(job)
    except imports.ImportFileError as exc:
        return _import_job_finish(job, error=exc.message)
    except Exception:
        logger.exception("import %s could not be inspected", job.pk)
        return _import_job_finish(job, error=_("The file could not be read because of an unexpected error. Save "
                                               "it again as .xlsx or CSV and upload it again."))
    with transaction.atomic():
        # Only a job still being inspected takes the result (a second run of the task changes nothing).
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.INSPECTING).update(
            status=job.status, file_kind=job.file_kind, encoding=job.encoding, header_row=job.header_row,
            headers=job.headers, sample_rows=job.sample_rows, total_rows=job.total_rows, mapping=job.mapping)
    return job


def import_job_start(
    *, job: ImportJob, mapping: list[str], default_source: LeadSource | None, merge_duplicates: bool, actor: User,
    assign_to_me: bool = False, queue: bool = True,
) -> ImportJob:
    """Fix the column mapping and queue the import; the job runs in the worker after this commits.

    `queue=False` leaves the job queued without a task: the caller runs it (`closeloop import`).
    """
    from ..tasks import run_import

    kind = imports.import_kind(job.kind)
    if not kind.may_import(actor):
        raise Forbidden(_("You may not import %(records)s.") % {"records": kind.label})
    errors = import_mapping_errors(mapping=mapping, headers=job.headers, default_source=default_source, kind=kind)
    if errors:
        raise ValidationFailed(errors[0], field_errors={"mapping": errors})
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.MAPPING:
            raise Conflict(_("This import has already been started."))
        data = {"status": ImportStatus.QUEUED, "mapping": mapping}
        if kind.key == imports.LEADS:  # the options of the lead import's form
            data.update(default_source=default_source, merge_duplicates=merge_duplicates,
                        assign_to_me=assign_to_me and assignment.can_own(actor))
        audited_update(instance=job, data=data, actor=actor, channel=Channel.WEB, action="import.start", always=True)
        job_id = job.pk
        if queue:
            transaction.on_commit(lambda: run_import.enqueue(job_id))
    return job


def import_job_cancel(*, job: ImportJob, actor: User) -> ImportJob:
    """Stop an import its uploader (or an administrator) no longer wants.

    A job that has not started writing (being checked, waiting for its mapping, queued) is cancelled at once;
    a running one is asked to stop: its writer ends after the chunk it is writing (the rows committed before
    stay) and `import_job_run` finishes it as cancelled. A job that is over cannot be cancelled."""
    with transaction.atomic():
        job = ImportJob.objects.visible_to(actor).select_for_update().filter(pk=job.pk).first()
        if job is None:
            raise NotFound(_("This import does not exist or is not yours."))
        if actor.pk != job.created_by_id and not actor.is_admin:
            raise Forbidden(_("Only the person who uploaded this import (or an administrator) may cancel it."))
        if job.finished:
            raise Conflict(_("This import is already over; there is nothing to cancel."))
        if job.cancel_requested_at is not None:
            return job  # asked already: the writer stops after its chunk
        now = timezone.now()
        if job.status == ImportStatus.RUNNING:
            audited_update(instance=job, data={"cancel_requested_at": now}, actor=actor, channel=Channel.WEB,
                           action="import.cancel", always=True,
                           note=_("Stops after the rows being written; %(imported)d imported so far.")
                           % {"imported": job.imported_rows})
            return job
        audited_update(instance=job, data={"status": ImportStatus.CANCELLED, "cancel_requested_at": now,
                                           "finished_at": now},
                       actor=actor, channel=Channel.WEB, action="import.cancel", always=True,
                       note=_("Cancelled before any row was imported."))
        transaction.on_commit(lambda: job.file.delete(save=False))
    return job


def _cancel_requested(job_id: int) -> bool:
    return ImportJob.objects.filter(pk=job_id, cancel_requested_at__isnull=False).exists()


def import_mapping_errors(*, mapping: list[str], headers: list[str], default_source, kind=None) -> list[str]:
    """What is wrong with a column mapping, in words a person can act on."""
    kind = kind or imports.import_kind(imports.LEADS)
    labels = kind.fields()
    if len(mapping) != len(headers) or any(name not in labels and name for name in mapping):
        return [_("The column mapping does not match the file; choose a field for each column again.")]
    errors = []
    seen: dict[str, int] = {}
    for column, name in enumerate(mapping):
        if name and name in seen:
            errors.append(_("“%(field)s” is chosen for two columns (%(a)s and %(b)s); keep one and ignore the other.")
                          % {"field": labels[name], "a": headers[seen[name]], "b": headers[column]})
        seen.setdefault(name, column)
    if not any(mapping):
        errors.append(_("No column is mapped to a field; choose what at least one column holds."))
    required = list(kind.required)
    if kind.key == imports.LEADS:
        if "source" not in seen and default_source is None:
            errors.append(_("No column holds the source; choose a default source for the rows."))
        required += channel_policy(Channel.IMPORT).required_fields
    for name in dict.fromkeys(required):
        if name in labels and name not in seen:
            errors.append(_("“%(field)s” is required for imports but no column is mapped to it.")
                          % {"field": labels[name]})
    return errors


@dataclass
class _RowState:
    last_row: int = 0
    merged: int = 0  # rows merged into an earlier row, since the job (re)started
    stopped: bool = False  # the writer stopped because the job was cancelled


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run a queued import: rows in chunks through the kind's service (`lead_submit_batch` for leads),
    progress committed with each chunk.

    Safe to run twice or after a crash: a finished job is left alone, a running one resumes after the
    last committed row.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in {ImportStatus.QUEUED, ImportStatus.RUNNING}:
            return job
        if job.cancel_requested_at is not None:  # cancelled while running, and the worker stopped before it ended
            return _import_job_finish(job, error="", cancelled=True)
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
    state = _RowState(last_row=job.last_row)
    committed = _RowState(last_row=job.last_row)
    plan = _merge_plan(job) if job.merge_duplicates else {}
    job.default_source  # noqa: B018 - read here: the rows may be read in a process that may not query

    def on_chunk(outcome: BatchOutcome):
        # The rows may be read in another process (the lead import's), which reports where it is with each
        # chunk; otherwise the state here is current.
        last_row, merged_total = getattr(outcome, "progress", None) or (state.last_row, state.merged)
        merged, committed.merged = merged_total - committed.merged, merged_total
        refusals = []
        for (number, cells), errors in outcome.refused:
            if number in plan and plan[number][0] == "rep" and plan[number][1]:
                members = ", ".join(str(n) for n in plan[number][1])
                errors = {**errors, "merged": [_("Rows %(rows)s were merged into this row.") % {"rows": members}]}
            refusals.append(ImportRefusal(job_id=job.pk, row_number=number, cells=cells, errors=errors))
        ImportRefusal.objects.bulk_create(refusals)
        ImportJob.objects.filter(pk=job.pk).update(
            last_row=last_row, imported_rows=F("imported_rows") + outcome.created,
            routed_rows=F("routed_rows") + outcome.routed, refused_rows=F("refused_rows") + len(refusals),
            merged_rows=F("merged_rows") + merged,
        )

    def stop() -> bool:
        state.stopped = state.stopped or _cancel_requested(job.pk)
        return state.stopped

    try:
        # Between chunks the writer asks whether the job was cancelled: one indexed read per committed chunk.
        imports.import_kind(job.kind).submit(rows=_job_rows(job, state, plan), actor=job.created_by, on_chunk=on_chunk,
                                             job=job, progress=lambda: (state.last_row, state.merged),
                                             stop=stop)
    except imports.ImportFileError as exc:
        return _import_job_finish(job, error=exc.message)
    except Exception:
        logger.exception("import %s failed", job.pk)
        return _import_job_finish(job, error=_("The import stopped because of an unexpected error. The rows "
                                               "imported before it are kept; the rest were not imported."))
    return _import_job_finish(job, error="", cancelled=state.stopped)


def _import_job_finish(job: ImportJob, *, error: str, cancelled: bool = False) -> ImportJob:
    status = ImportStatus.FAILED if error else ImportStatus.CANCELLED if cancelled else ImportStatus.DONE
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status == ImportStatus.CANCELLED:  # cancelled while its file was being checked: it stays so
            return job
        audited_update(
            instance=job, data={"status": status, "error": error[:500], "finished_at": timezone.now()},
            actor=job.created_by, channel=Channel.IMPORT, action="import.finish", always=True,
            note=_("%(imported)d imported, %(routed)d sent to existing records, %(merged)d merged, "
                   "%(refused)d refused") % {"imported": job.imported_rows, "routed": job.routed_rows,
                                              "merged": job.merged_rows, "refused": job.refused_rows},
        )
        # The upload holds every contact of the sheet; once the job is over only the refused rows are kept.
        transaction.on_commit(lambda: job.file.delete(save=False))
    return job


def _data_rows(job: ImportJob):
    """(row number, cells, mapped data) for every non-blank data row of the job's file."""
    width = len(job.headers)
    limit = settings.CLOSELOOP_IMPORT_MAX_ROWS
    for number, cells in imports.iter_file_rows(Path(job.file.path), kind=job.file_kind, encoding=job.encoding):
        if number <= job.header_row:
            continue
        if number - job.header_row > limit:
            raise imports.ImportFileError(
                _("The file has more than %(limit)s rows; the import stopped there.")
                % {"limit": f"{limit:,}"})
        if not any(cells):
            continue
        cells = cells[:width] + [""] * (width - len(cells))
        yield number, cells, imports.row_data(cells, job.mapping)


def _job_rows(job: ImportJob, state: _RowState, plan: dict):
    default_source = job.default_source
    leads = job.kind == imports.LEADS
    for number, cells, data in _data_rows(job):
        if number <= job.last_row:
            continue  # committed before a restart
        entry = plan.get(number)
        if entry is not None and entry[0] == "member":
            state.merged += 1
            continue
        if entry is not None:
            data = {**entry[2], **data}
        if leads:
            if not data.get("source") and default_source is not None:
                data["source"] = default_source
            data["assign_to_me"] = job.assign_to_me
        state.last_row = number
        yield (number, cells), data


def _merge_plan(job: ImportJob) -> dict:
    """Rows of the file that are the same contact, by the dedup engine's `cluster_rows`.

    Returns {row: ("rep", [member rows], fills)} for the first row of each group and
    {row: ("member", first row)} for the others; `fills` are the members' values for the fields the
    first row leaves blank.
    """
    numbers, rows = [], []
    for number, _cells, data in _data_rows(job):
        numbers.append(number)
        rows.append(data)
    first: dict[int, int] = {}
    plan: dict = {}
    for index, (person, _company) in enumerate(dedup.cluster_rows(rows)):
        rep_index = first.setdefault(person, index)
        if rep_index == index:
            continue
        rep = numbers[rep_index]
        entry = plan.setdefault(rep, ("rep", [], {}))
        entry[1].append(numbers[index])
        for name, value in rows[index].items():
            entry[2].setdefault(name, value)
        plan[numbers[index]] = ("member", rep)
    return plan
