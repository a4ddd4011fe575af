"""Quote settings for administrators: company header and logo, price basis, tax rates, where deals move when a
quote is sent or accepted, and the approval rules."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.models import User
from closeloop.deals.models import Pipeline, Stage

from . import approvals, catalog
from .forms import ApprovalRuleForm, QuoteSettingsForm, TaxRateForm
from .models import ApprovalRule, PipelineQuoteSettings, TaxRate


def _require_admin(user):
    if not user.is_admin:
        raise PermissionDenied


def _settings_initial():
    settings = catalog.quote_settings()
    initial = {name: getattr(settings, name) for name in catalog.SETTINGS_FIELDS}
    return settings, initial


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request):
    _require_admin(request.user)
    settings, initial = _settings_initial()
    form = QuoteSettingsForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {name: form.data.get(name, "") for name in catalog.SETTINGS_FIELDS}
        data["prices_include_tax"] = form.cleaned_data["prices_include_tax"]
        try:
            catalog.quote_settings_save(actor=request.user, data=data, logo=form.cleaned_data["logo"],
                                        clear_logo=form.cleaned_data["clear_logo"])
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Quote settings saved."))
            return redirect("quotes:settings")
    pipelines = list(Pipeline.objects.filter(active=True).prefetch_related("stages"))
    moves = {row.pipeline_id: row for row in PipelineQuoteSettings.objects.all()}
    for pipeline in pipelines:
        pipeline.quote_moves = moves.get(pipeline.pk)
    return render(request, "quotes/settings.html", {
        "form": form, "settings": settings, "tax_rates": TaxRate.objects.all(), "pipelines": pipelines,
        "rules": ApprovalRule.objects.prefetch_related("approver_links__user"), "kinds": approvals.KINDS,
        "tax_form": TaxRateForm(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def tax_rate_edit_view(request, pk=None):
    _require_admin(request.user)
    tax_rate = get_object_or_404(TaxRate, pk=pk) if pk else None
    initial = {"name": tax_rate.name, "rate": f"{tax_rate.rate:f}", "active": tax_rate.active} if tax_rate else {}
    form = TaxRateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            catalog.tax_rate_save(actor=request.user, data=form.cleaned_data, tax_rate=tax_rate)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Tax rate saved."))
            return redirect("quotes:settings")
    return render(request, "quotes/settings_form.html", {"form": form, "title": _("Tax rate")})


@login_required
@require_POST
def pipeline_moves_view(request, pk):
    _require_admin(request.user)
    pipeline = get_object_or_404(Pipeline, pk=pk)

    def stage(name):
        value = request.POST.get(name, "")
        return Stage.objects.filter(pk=int(value), pipeline=pipeline).first() if value.isdigit() else None

    try:
        catalog.pipeline_quote_settings_save(actor=request.user, pipeline=pipeline, sent_stage=stage("sent_stage"),
                                             accepted_stage=stage("accepted_stage"))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Saved where %(pipeline)s deals move when quotes are sent or accepted.")
                         % {"pipeline": pipeline})
    return redirect("quotes:settings")


def _approvers(text: str) -> tuple[list[User], list[str]]:
    names = [name.strip() for name in text.replace("，", ",").split(",") if name.strip()]
    users = {user.username: user for user in User.objects.filter(username__in=names, is_active=True)}
    return [users[name] for name in names if name in users], [name for name in names if name not in users]


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit_view(request, pk=None):
    _require_admin(request.user)
    rule = get_object_or_404(ApprovalRule, pk=pk) if pk else None
    initial = {"kind": "quote", "levels": "1", "active": True}
    if rule:
        initial = {name: getattr(rule, name) for name in catalog.RULE_FIELDS}
        initial["threshold"] = f"{rule.threshold:f}"
        initial["approvers"] = ", ".join(link.user.username for link in rule.approver_links.select_related("user"))
    form = ApprovalRuleForm(request.POST or None, initial=initial, kinds=list(approvals.KINDS.values()))
    if request.method == "POST" and form.is_valid():
        people, unknown = _approvers(form.cleaned_data["approvers"])
        if unknown:
            form.add_error("approvers", _("No active user named: %(names)s") % {"names": ", ".join(unknown)})
        else:
            data = {name: form.data.get(name, "") for name in catalog.RULE_FIELDS}
            data["active"] = form.cleaned_data["active"]
            try:
                catalog.approval_rule_save(actor=request.user, data=data, approvers=people, rule=rule)
            except DomainError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, _("Approval rule saved."))
                return redirect("quotes:settings")
    return render(request, "quotes/settings_form.html", {"form": form, "title": _("Approval rule")})
