"""The service settings pages: for administrators the working calendar, breach recipient and assignment; for them and
the service manager the SLA targets per priority and tier, and a customer's tier (from the customer's page)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.redirects import next_url

from . import access
from .forms import PolicyRowForm, ServiceSettingsForm
from .models import SlaPolicy
from .selectors import get_renewal_for_user, get_tier_customer_for_user, tiered_customers
from .settings_services import (
    calendar_text,
    customer_tier_set,
    service_settings_save,
    sla_policies_save,
    windows_text,
)
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
        "holidays": calendar_text(working=False), "workdays": calendar_text(working=True),
        "renewal_windows": windows_text()})
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("holidays", "workdays", "renewal_windows")}
        try:
            service_settings_save(actor=request.user, data=data, holidays=form.cleaned_data["holidays"],
                                  workdays=form.cleaned_data["workdays"],
                                  renewal_windows=form.cleaned_data["renewal_windows"])
        except DomainError as exc:
            form_errors_from(form, exc, always_message=True)
        else:
            messages.success(request, _("Service settings saved."))
            return redirect("service:settings")
    return render(request, "service/settings.html", {"form": form},
                  status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def sla_view(request):
    """The SLA targets per priority and tier (rows; a tier's row comes before the any-tier row of its priority),
    and the customers with a tier other than standard."""
    if not access.can_manage_sla(request.user):
        raise PermissionDenied
    if request.method == "POST":
        count = min(int(request.POST["rows"]), 40) if request.POST.get("rows", "").isdigit() else 0
        rows = [PolicyRowForm(request.POST, prefix=f"p{n}") for n in range(count)]
    else:
        policies = list(SlaPolicy.objects.all())
        rows = [PolicyRowForm(prefix=f"p{n}", initial={
            "priority": p.priority, "tier": p.tier, "first_response_minutes": p.first_response_minutes,
            "resolution_minutes": p.resolution_minutes, "always": p.always}) for n, p in enumerate(policies)]
        rows += [PolicyRowForm(prefix=f"p{n}") for n in range(len(rows), len(rows) + BLANK_POLICY_ROWS)]
    error = ""
    if request.method == "POST" and all(row.is_valid() for row in rows):
        try:
            sla_policies_save(actor=request.user, policies=[row.cleaned_data for row in rows])
        except DomainError as exc:
            error = error_text(exc)
            for key, messages_ in getattr(exc, "field_errors", {}).items():
                if key.startswith("policy") and key[6:].isdigit() and int(key[6:]) < len(rows):
                    rows[int(key[6:])].add_error(None, messages_)
        else:
            messages.success(request, _("SLA targets saved."))
            return redirect("service:sla")
    invalid = error or any(row.errors for row in rows)
    tiered = tiered_customers(request.user)[:200]
    return render(request, "service/sla.html", {"rows": rows, "error": error, "tiered": tiered},
                  status=422 if invalid else 200)


@login_required
@require_POST
def customer_tier_view(request, customer_pk):
    customer = get_tier_customer_for_user(request.user, customer_pk)
    try:
        customer_tier_set(customer=customer, tier=request.POST.get("tier", ""), actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Service tier saved."))
    return redirect(next_url(request, customer.get_absolute_url() + "#service-tier"))


@login_required
@require_POST
def renewal_quote_view(request, pk):
    """"Renew": the renewal deal's quote draft from the old contract's lines (the quotes' services check who may)."""
    from .renewals import renewal_quote_draft

    renewal = get_renewal_for_user(request.user, pk)
    try:
        quote = renewal_quote_draft(renewal=renewal, actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect(renewal.opportunity.get_absolute_url() + "#renewal")
    messages.success(request, _("The renewal quote is drafted from the contract's lines: check it and send it."))
    return redirect(quote.get_absolute_url())
