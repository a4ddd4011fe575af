"""The service settings page for administrators: working calendar, breach recipient, assignment, SLA policies."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from closeloop.core.errors import DomainError, form_errors_from

from .forms import PolicyRowForm, ServiceSettingsForm
from .models import SlaPolicy
from .settings_services import calendar_text, service_settings_save
from .sla import service_settings

BLANK_POLICY_ROWS = 2


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request):
    if not request.user.is_admin:
        raise PermissionDenied
    current = service_settings()
    form = ServiceSettingsForm(request.POST or None, initial={
        "work_weekdays": current.work_weekdays, "work_start": current.work_start, "work_end": current.work_end,
        "service_manager": current.service_manager_id, "assignment_strategy": current.assignment_strategy,
        "survey_expiry_days": current.survey_expiry_days, "renewal_days": current.renewal_days,
        "holidays": calendar_text(working=False), "workdays": calendar_text(working=True)})
    if request.method == "POST":
        count = min(int(request.POST["rows"]), 40) if request.POST.get("rows", "").isdigit() else 0
        rows = [PolicyRowForm(request.POST, prefix=f"p{n}") for n in range(count)]
    else:
        policies = list(SlaPolicy.objects.all())
        rows = [PolicyRowForm(prefix=f"p{n}", initial={
            "priority": p.priority, "tier": p.tier, "first_response_minutes": p.first_response_minutes,
            "resolution_minutes": p.resolution_minutes, "always": p.always}) for n, p in enumerate(policies)]
        rows += [PolicyRowForm(prefix=f"p{n}") for n in range(len(rows), len(rows) + BLANK_POLICY_ROWS)]
    if request.method == "POST" and form.is_valid() and all(row.is_valid() for row in rows):
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("holidays", "workdays")}
        try:
            service_settings_save(actor=request.user, data=data, holidays=form.cleaned_data["holidays"],
                                  workdays=form.cleaned_data["workdays"],
                                  policies=[row.cleaned_data for row in rows])
        except DomainError as exc:
            form_errors_from(form, exc, always_message=True)
        else:
            messages.success(request, _("Service settings saved."))
            return redirect("service:settings")
    return render(request, "service/settings.html", {"form": form, "rows": rows},
                  status=422 if form.errors else 200)
