"""The breakpoint radar's page and its Excel export. Every figure and row goes through the apps' visibility
(a rep sees their own records, a manager their team's, an administrator everything)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from closeloop.core.errors import DomainError, form_errors_from
from closeloop.core.models import Role, User
from closeloop.core.pagination import page_number, query_without_page
from closeloop.core.spreadsheets import xlsx_response
from closeloop.core.visibility import people_visible_to

from . import dashboard, radar
from .exports import dashboard_workbook, radar_workbook
from .forms import DashboardForm, ThresholdsForm
from .services import radar_settings, radar_settings_save


def dashboard_scope(request) -> tuple[DashboardForm, dashboard.Scope]:
    """The filters from the query string and the scope they give; what does not validate falls back to the
    default (this month, the viewer's whole line) and shows its error beside the field."""
    form = DashboardForm(request.GET or None, viewer=request.user, initial={"period": "month"})
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    period = data.get("period") or "month"
    if period == "custom":
        start, end = data["start"], data["end"]
    else:
        start, end = dashboard.period_bounds(period, timezone.localdate())
    return form, dashboard.Scope(viewer=request.user, start=start, end=end, period=period, rep=data.get("rep"),
                                 pipeline=data.get("pipeline"), source=data.get("source"))


@login_required
@require_GET
def dashboard_view(request):
    form, scope = dashboard_scope(request)
    figures = dashboard.figures(scope)
    return render(request, "insights/dashboard.html", {
        "form": form, "scope": scope, "figures": figures, "charts": dashboard.chart_data(figures),
        "query": request.GET.urlencode(),
    })


@login_required
@require_GET
def dashboard_export_view(request):
    _form, scope = dashboard_scope(request)
    content = dashboard_workbook(scope, dashboard.figures(scope))
    return xlsx_response(content, f"dashboard-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.xlsx")


def owner_choices(user: User):
    """Whom the viewer may filter the radar by: a manager their team, an administrator everyone, a rep none."""
    if not (user.is_admin or user.role == Role.SALES_MANAGER):
        return User.objects.none()
    return people_visible_to(user).order_by("username")


def owner_filter(request) -> int | None:
    value = request.GET.get("owner", "")
    return int(value) if value.isdigit() else None


@login_required
@require_GET
def radar_view(request):
    now = timezone.now()
    owner = owner_filter(request)
    counts, counted_at = radar.summary(request.user, now, owner=owner)
    kind = radar.kind_of(request.GET.get("kind", ""))
    if kind is None:  # the first kind with something broken, else the first kind
        kind = next((k for k, n in counts if n), counts[0][0] if counts else None)
    page = radar.listing(kind, request.user, now, page=page_number(request), owner=owner) if kind else None
    return render(request, "insights/radar.html", {
        "counts": counts, "kind": kind, "page": page, "owner": owner, "owners": owner_choices(request.user),
        "total": sum(n for _kind, n in counts), "query": query_without_page(request), "counted_at": counted_at,
        "recount_minutes": radar.RECOUNT_SECONDS // 60,
    })


@login_required
@require_GET
def radar_export_view(request):
    now = timezone.now()
    content = radar_workbook(request.user, now, owner=owner_filter(request))
    return xlsx_response(content, f"radar-{timezone.localdate():%Y%m%d}.xlsx")


@login_required
@require_http_methods(["GET", "POST"])
def radar_settings_view(request):
    if not request.user.is_admin:
        raise PermissionDenied
    kinds = radar.kinds()
    form = ThresholdsForm(request.POST or None, kinds=kinds, current=radar_settings().thresholds)
    if request.method == "POST" and form.is_valid():
        try:
            radar_settings_save(actor=request.user, kinds=kinds,
                                data={key: "" if value is None else str(value) for key, value in form.cleaned_data.items()})
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Breakpoint radar thresholds saved."))
            return redirect("insights:radar_settings")
    return render(request, "insights/radar_settings.html", {"form": form})
