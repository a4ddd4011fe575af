"""The breakpoint radar's page and its Excel export. Every figure and row goes through the apps' visibility
(a rep sees their own records, a manager their team's, an administrator everything)."""

import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closeloop.core.errors import DomainError, form_errors_from
from closeloop.core.models import Role, User
from closeloop.core.pagination import page_number, paginate, query_without_page
from closeloop.core.spreadsheets import xlsx_response
from closeloop.core.visibility import people_visible_to

from . import dashboard, digest, radar, targets
from .exports import dashboard_workbook, radar_workbook
from .forms import DashboardForm, DigestSettingsForm, ThresholdsForm
from .services import digest_settings, digest_settings_save, radar_settings, radar_settings_save


def dashboard_scope(request) -> tuple[DashboardForm, dashboard.Scope]:
    """The filters from the query string and the scope they give; what does not validate falls back to the
    default (this month, the viewer's whole line) and shows its error beside the field."""
    form = DashboardForm(request.GET or None, viewer=request.user, initial={"period": "month"})
    valid = form.is_bound and form.is_valid()
    data = form.cleaned_data if valid else {}
    lead_filters, deal_filters = form.custom_filters() if valid else ((), ())
    period = data.get("period") or "month"
    if period == "custom":
        start, end = data["start"], data["end"]
    else:
        start, end = dashboard.period_bounds(period, timezone.localdate())
    return form, dashboard.Scope(viewer=request.user, start=start, end=end, period=period, rep=data.get("rep"),
                                 pipeline=data.get("pipeline"), source=data.get("source"),
                                 lead_filters=lead_filters, deal_filters=deal_filters)


@login_required
@require_GET
def dashboard_view(request):
    form, scope = dashboard_scope(request)
    figures = dashboard.figures(scope)
    return render(request, "insights/dashboard.html", {
        "form": form, "scope": scope, "figures": figures, "charts": dashboard.chart_data(figures),
        "narrowing": dashboard.narrowing(scope),
        "query": request.GET.urlencode(), "can_set_targets": targets.sets_targets(request.user),
    })


@login_required
@require_GET
def dashboard_export_view(request):
    _form, scope = dashboard_scope(request)
    content = dashboard_workbook(scope, dashboard.figures(scope))
    return xlsx_response(content, f"dashboard-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.xlsx")


def _key(text: str) -> int | None:
    """A record id from a drill-down link; None for anything a 64-bit key cannot be (the database driver would fail
    on it rather than find nothing)."""
    return int(text) if text.isdigit() and int(text) < 2**63 else None


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
        elif (department := _key(value)) is not None:
            handoffs = handoffs.filter(**{f"{field}_id": department})
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
    elif (owner_id := _key(owner)) is not None:
        surveys = surveys.filter(owner_id=owner_id)
    page = paginate(request, surveys.select_related("customer", "owner", "ticket", "delivery")
                    .order_by("-answered_at", "-id"))
    return render(request, "insights/surveys.html", {"page": page, "scope": scope,
                                                     "query": query_without_page(request)})


@login_required
@require_GET
def collection_view(request):
    """What the dashboard's collection figures count: the instalments due in the period (`figure=due`) or the payments
    received in it (`figure=collected`), of the line's contracts the viewer may see, in its pipeline and source."""
    _form, scope = dashboard_scope(request)
    figure = "collected" if request.GET.get("figure") == "collected" else "due"
    if figure == "due":
        rows = dashboard.instalments_due_in(scope).order_by("due_date", "id")
    else:
        rows = dashboard.payments_in(scope).order_by("-received_on", "-id")
    page = paginate(request, rows.select_related("contract", "contract__customer", "contract__owner"))
    return render(request, "insights/collection.html", {"page": page, "scope": scope, "figure": figure,
                                                        "query": query_without_page(request)})


def _typed(value) -> str:
    """A saved target as a person would type it again: 50000, not 50000.00."""
    if value is None:
        return ""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _target_month(request) -> date:
    month = targets.month_of(request.POST.get("month") or request.GET.get("month") or "")
    return month or timezone.localdate().replace(day=1)


def _target_rows(actor, month: date) -> list[dict]:
    """The targets page's rows: each team, then each person, `actor` sets targets for, with the month's saved
    targets as a person would type them."""
    people = list(targets.target_people(actor).order_by("username"))
    teams = list(targets.target_teams(actor).order_by("path"))
    current = targets.targets_for(months=(month, month), users=[p.pk for p in people], departments=[t.pk for t in teams])
    return [{"kind": kind, "record": record, "prefix": f"{kind[0]}{record.pk}", "errors": {},
             "values": {key: _typed(current.get((kind, record.pk), {}).get(key)) for key in targets.FIELDS}}
            for kind, record in [*(("department", team) for team in teams), *(("user", person) for person in people)]]


def _targets_page(request, month: date, rows: list[dict], *, import_errors=(), status: int = 200):
    return render(request, "insights/targets.html", {
        "month": month, "rows": rows, "fields": [(key, targets.LABELS[key]) for key in targets.FIELDS],
        "import_errors": list(import_errors)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def targets_view(request):
    """A month's targets for the viewer's teams and people, one row each; saving writes the rows that changed."""
    if not targets.sets_targets(request.user):
        raise PermissionDenied
    month = _target_month(request)
    rows = _target_rows(request.user, month)
    if request.method == "GET":
        return _targets_page(request, month, rows)
    errors = 0
    for row in rows:
        typed = {key: request.POST.get(f"{row['prefix']}-{key}", "").strip() for key in targets.FIELDS}
        if typed == row["values"]:
            continue
        row["values"] = typed
        try:
            targets.target_save(actor=request.user, month=month, data=typed, **{row["kind"]: row["record"]})
        except DomainError as exc:
            row["errors"] = exc.field_errors or {"": [exc.message]}
            errors += 1
    if errors:
        return _targets_page(request, month, rows, status=422)
    messages.success(request, _("Targets for %(month)s saved.") % {"month": f"{month:%Y-%m}"})
    return redirect(f"{reverse('insights:targets')}?month={month:%Y-%m}")


@login_required
@require_POST
def targets_import_view(request):
    """Targets from an uploaded sheet (the template's columns): every row is checked, and nothing is saved unless
    every row is good; the page lists each refused row."""
    if not targets.sets_targets(request.user):
        raise PermissionDenied
    upload = request.FILES.get("file")
    month = _target_month(request)
    if upload is None:
        problems = [_("Choose a file to import.")]
    else:
        with tempfile.TemporaryDirectory() as folder:
            # The reader tells a workbook by its name's ending too.
            suffix = Path(upload.name).suffix.lower()
            path = Path(folder) / ("targets" + (suffix if suffix in (".xlsx", ".xlsm", ".csv") else ""))
            with path.open("wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            try:
                saved = targets.targets_import(actor=request.user, path=path, name=upload.name)
            except DomainError as exc:
                problems = [exc.message, *exc.details.get("rows", [])]
            else:
                messages.success(request, _("%(count)d targets imported.") % {"count": saved})
                return redirect(f"{reverse('insights:targets')}?month={month:%Y-%m}")
    return _targets_page(request, month, _target_rows(request.user, month), import_errors=problems, status=422)


@login_required
@require_GET
def targets_template_view(request):
    if not targets.sets_targets(request.user):
        raise PermissionDenied
    return xlsx_response(targets.template_workbook(), "targets-template.xlsx")


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
    trend = radar.trend(request.user, now, owner=owner, current=counts)
    return render(request, "insights/radar.html", {
        "counts": counts, "kind": kind, "page": page, "owner": owner, "owners": owner_choices(request.user),
        "total": sum(n for _kind, n in counts), "query": query_without_page(request), "counted_at": counted_at,
        "recount_minutes": radar.RECOUNT_SECONDS // 60, "trend": trend,
        "charts": {"trend": trend_chart(trend)} if trend else {},
    })


def trend_chart(trend: dict) -> dict:
    """The radar's trend for `dashboard.js`: a line per kind that had something broken in the weeks shown."""
    return {"counts": True, "labels": [f"{week:%m-%d}" for week in trend["weeks"]],
            "series": [{"name": str(kind.label), "data": weeks} for kind, weeks in trend["rows"] if any(weeks)]}


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


def _week_param(value: str) -> date | None:
    try:
        return digest.week_of(date.fromisoformat(value))
    except ValueError:
        return None


@login_required
@require_GET
def digest_view(request):
    """The weekly digest as its mail shows it: a manager's own, any manager's for an administrator; any past week."""
    user = request.user
    if not (user.is_admin or digest.reviews(user)):
        raise PermissionDenied
    reviewers = list(digest.reviewers().select_related("department")) if user.is_admin else [user]
    wanted = _key(request.GET.get("manager", ""))
    manager = next((person for person in reviewers if person.pk == wanted), None)
    if manager is None:
        manager = user if user in reviewers else (reviewers[0] if reviewers else None)
    this_week = digest.week_of(timezone.localdate())
    week = _week_param(request.GET.get("week", "")) or this_week - timedelta(days=7)
    week = min(week, this_week)
    weeks = [this_week - timedelta(days=7 * n) for n in range(1, 13)]
    return render(request, "insights/digest.html", {
        "digest": digest.digest_build(manager, week) if manager else None, "reviewers": reviewers,
        "manager": manager, "week": week, "weeks": weeks if week in weeks else [week, *weeks],
        "target_labels": dashboard.TARGET_LABELS, "link_base": "", "send_at": digest_settings().send_at,
    })


@login_required
@require_http_methods(["GET", "POST"])
def digest_settings_view(request):
    if not request.user.is_admin:
        raise PermissionDenied
    form = DigestSettingsForm(request.POST or None, initial={"send_at": digest_settings().send_at})
    if request.method == "POST" and form.is_valid():
        digest_settings_save(actor=request.user, send_at=form.cleaned_data["send_at"])
        messages.success(request, _("The weekly digest's time is saved."))
        return redirect("insights:digest_settings")
    return render(request, "insights/digest_settings.html", {"form": form})
