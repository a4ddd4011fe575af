"""The receivables page (finance, managers, administrators): outstanding by age bucket, by rep and by customer,
the instalments behind any cell, and the same as an Excel workbook."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from closeloop.core.pagination import page_number, query_without_page
from closeloop.core.spreadsheets import xlsx_response

from . import access, receivables
from .exports import receivables_workbook


def _rows(request):
    if not access.can_read_receivables(request.user):
        raise PermissionDenied
    return receivables.receivable_instalments(request.user)


def _filters(request) -> receivables.DrillFilters:
    return receivables.DrillFilters(customer=request.GET.get("customer", ""), owner=request.GET.get("owner", ""),
                                    bucket=request.GET.get("bucket", ""))


@login_required
@require_GET
def receivables_view(request):
    rows = _rows(request)
    today = timezone.localdate()
    totals, reps = receivables.summary(request.user, today)
    customers = receivables.by_customer(rows, today, page=page_number(request),
                                        ranking=receivables.receivable_customers(request.user))
    context = {
        "today": today, "buckets": receivables.BUCKETS, "totals": totals, "reps": reps,
        "customers": customers["rows"], "page": customers, "query": query_without_page(request),
    }
    return render(request, "contracts/receivables.html", context)


@login_required
@require_GET
def receivables_instalments_view(request):
    rows = _rows(request)
    today = timezone.localdate()
    filters = _filters(request)
    page = receivables.drilldown_page(rows, filters, today, page=page_number(request))
    for instalment in page["rows"]:
        instalment.age = receivables.age_days(instalment, today)
    return render(request, "contracts/receivables_instalments.html", {
        "page": page, "filters": filters, "buckets": receivables.BUCKETS, "query": query_without_page(request),
        "bucket_label": dict((key, label) for key, label, _days in receivables.BUCKETS).get(filters.bucket, ""),
        "customer_name": _name(rows, "customer", filters.customer), "owner_name": _name(rows, "owner", filters.owner),
        "total": receivables.drill_total(request.user, filters, today),
    })


def _name(rows, field: str, value: str) -> str:
    if not value.isdigit():
        return ""
    row = rows.filter(**{f"{field}_id": int(value)}).select_related(field).first()
    return str(getattr(row, field)) if row else ""


@login_required
@require_GET
def receivables_export_view(request):
    rows = _rows(request)
    today = timezone.localdate()
    content = receivables_workbook(rows, _filters(request), today)
    return xlsx_response(content, f"receivables-{today:%Y%m%d}.xlsx")
