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
from closeloop.core.pagination import page_number, paginate, query_without_page
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


@login_required
@require_GET
def handoffs_view(request):
    """The hand-offs behind a row of the dashboard's hand-off table: the same filters, between two departments
    ("none" for people without one)."""
    _form, scope = dashboard_scope(request)
    handoffs = dashboard.handoffs_in(scope)
    for name, field in (("from_department", "requested_by__department"), ("to_department", "assignee__department")):
        value = request.GET.get(name, "")
        if value == "none":
            handoffs = handoffs.filter(**{f"{field}__isnull": True})
        elif value.isdigit():
            handoffs = handoffs.filter(**{f"{field}_id": int(value)})
    page = paginate(request, handoffs.select_related("requested_by", "assignee").prefetch_related("record")
                    .order_by("-created_at", "-id"))
    for handoff in page["rows"]:
        waited = handoff.responded_at - handoff.created_at if handoff.status in dashboard.ACCEPTED and handoff.responded_at else None
        handoff.hours = dashboard.in_hours(waited)
    return render(request, "insights/handoffs.html", {"page": page, "scope": scope,
                                                      "query": query_without_page(request)})


@login_required
@require_GET
def surveys_view(request):
    """The answered surveys behind a row of the dashboard's satisfaction table: the same filters, one account owner
    ("none" for surveys sent when the customer had none)."""
    _form, scope = dashboard_scope(request)
    surveys = dashboard.surveys_in(scope)
    owner = request.GET.get("survey_owner", "")
    if owner == "none":
        surveys = surveys.filter(owner__isnull=True)
    elif owner.isdigit() and int(owner) < 2**63:
        surveys = surveys.filter(owner_id=int(owner))
    page = paginate(request, surveys.select_related("customer", "owner", "ticket", "delivery")
                    .order_by("-answered_at", "-id"))
    return render(request, "insights/surveys.html", {"page": page, "scope": scope,
                                                     "query": query_without_page(request)})


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
