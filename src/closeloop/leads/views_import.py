"""Excel/CSV import pages: upload → map columns and preview → progress → result and refused-rows report.

The same pages serve every import kind (core.hooks.ImportKind): leads at /leads/import/, and whatever a
higher app mounts with its kind's key (quotes: /quotes/products/import/). A job's own pages follow its kind."""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closeloop.core.errors import DomainError, form_errors_from
from closeloop.core.pagination import paginate
from closeloop.core.spreadsheets import XLSX_CONTENT_TYPE, xlsx_response

from .exports import refusal_report
from .forms import ImportMappingForm, ImportUploadForm
from .imports import LEADS, import_kind, reason_text, row_data, template_workbook
from .models import ImportJob, ImportStatus
from .selectors import get_import_for_user, import_destinations
from .services.importing import import_job_cancel, import_job_create, import_job_start


def _too_big(request) -> bool:
    from django.conf import settings

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    # The multipart envelope adds a little; anything well over the limit is refused before it is read.
    return length > settings.CLOSELOOP_IMPORT_MAX_BYTES + 64 * 1024


@login_required
@require_http_methods(["GET", "POST"])
def import_upload_view(request, kind: str = LEADS):
    kind = import_kind(kind)
    if not kind.may_import(request.user):
        raise PermissionDenied
    form, too_big = ImportUploadForm(), False
    if request.method == "POST":
        too_big = _too_big(request)
        if not too_big:
            try:
                form = ImportUploadForm(request.POST, request.FILES)
            except RequestDataTooBig:
                too_big = True
        if not too_big and form.is_valid():
            try:
                job = import_job_create(upload=form.cleaned_data["file"], actor=request.user, kind=kind.key,
                                        in_worker=True)
            except DomainError as exc:
                form_errors_from(form, exc, message_field="file")
            else:
                return redirect(job)
    recent = ImportJob.objects.visible_to(request.user).filter(created_by=request.user, kind=kind.key)[:10]
    return render(request, "leads/import_upload.html",
                  {"form": form, "recent": recent, "too_big": too_big, "kind": kind})


@login_required
@require_GET
def import_template_view(request, kind: str = LEADS):
    kind = import_kind(kind)
    if not kind.may_import(request.user):
        raise PermissionDenied
    return xlsx_response(template_workbook(kind), f"{kind.key}-template.xlsx")


def _preview(job: ImportJob, mapping: list[str], default_source) -> list[dict]:
    kind = job.import_kind
    labels = kind.fields()
    rows = []
    for number, cells in job.sample_rows:
        cells = cells[: len(job.headers)] + [""] * (len(job.headers) - len(cells))
        data = row_data(cells, mapping)
        if not data.get("source") and default_source is not None:
            data["source"] = default_source
        errors = kind.check(data)
        rows.append({"number": number, "cells": cells, "errors": errors, "reason": reason_text(errors, labels)})
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def import_detail_view(request, pk):
    job = get_import_for_user(request.user, pk)
    kind = job.import_kind
    if job.status != ImportStatus.MAPPING:
        if request.method == "POST":
            return redirect(job)
        if job.finished:
            page = paginate(request, job.refusals.all(), per_page=50)
            labels = kind.fields()
            for refusal in page["rows"]:
                # "Contact: This field is required.", as in the report
                refusal.reason = reason_text(refusal.errors, labels)
            # Where the new leads went (a lead import's; other kinds' rows have no owner to go to).
            destinations = import_destinations(job, user=request.user) if job.kind == LEADS else []
            return render(request, "leads/import_result.html", {"job": job, "page": page, "kind": kind,
                                                                "destinations": destinations})
        return render(request, "leads/import_progress.html",
                      {"job": job, "kind": kind, "may_cancel": job.may_cancel(request.user)})
    form = ImportMappingForm(request.POST or None, job=job, user=request.user)
    mapping, default_source = job.mapping, job.default_source
    if request.method == "POST" and form.is_valid():
        mapping, default_source = form.mapping(), form.cleaned_data.get("default_source")
        if "start" in request.POST:
            try:
                import_job_start(job=job, mapping=mapping, default_source=default_source,
                                 merge_duplicates=form.cleaned_data.get("merge_duplicates", False),
                                 assign_to_me=form.cleaned_data.get("assign_to_me", False), actor=request.user)
            except DomainError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, _("The import has started. You can leave this page; it keeps running."))
                return redirect(job)
    context = {"job": job, "form": form, "preview": _preview(job, mapping, default_source), "kind": kind}
    return render(request, "leads/import_mapping.html", context)


@login_required
@require_GET
def import_progress_view(request, pk):
    job = get_import_for_user(request.user, pk)
    response = render(request, "leads/_import_progress.html", {"job": job, "may_cancel": job.may_cancel(request.user)})
    if request.htmx and (job.finished or job.status == ImportStatus.MAPPING):
        # The mapping page replaces the progress page once the file is read, the result page once the job is over.
        response["HX-Redirect"] = job.get_absolute_url()
    return response


@login_required
@require_POST
def import_cancel_view(request, pk):
    job = get_import_for_user(request.user, pk)
    try:
        job = import_job_cancel(job=job, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if job.finished:
            messages.success(request, _("The import is cancelled; no row was imported."))
        else:
            messages.success(request, _("Cancelling: the import stops once the rows being written are saved. "
                                        "The rows imported until then are kept."))
    return redirect(job)


@login_required
@require_GET
def import_report_view(request, pk):
    job = get_import_for_user(request.user, pk)
    if not job.finished:
        raise Http404
    # An anonymous temporary file: FileResponse closes it after sending, which deletes it.
    handle = tempfile.TemporaryFile()
    refusal_report(job, handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"refused-rows-{job.pk}.xlsx",
                        content_type=XLSX_CONTENT_TYPE)
