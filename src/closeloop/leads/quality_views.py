"""Pages of the public pool (公海) and of the intake, scoring, assignment and pool settings (admins only)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.models import Channel
from closeloop.core.pagination import paginate
from closeloop.core.views import admin_required

from . import pool
from .forms import ChannelPolicyForm
from .quality import AssignmentRule, ScoringRule
from .quality_forms import (
    AssignmentRuleForm,
    MemberFormSet,
    PoolSettingsForm,
    ScoringRuleForm,
    SlaForm,
    ThresholdsForm,
)
from .rule_services import (
    POLICY_FIELDS,
    assignment_rule_delete,
    assignment_rule_move,
    assignment_rule_save,
    channel_policies_save,
    quality_settings_update,
    scoring_rule_delete,
    scoring_rule_save,
)
from .scoring import quality_settings
from .selectors import get_lead_for_user
from .services.intake import channel_policy


@login_required
def pool_view(request):
    if not pool.can_use_pool(request.user):
        raise Http404
    page = paginate(request, pool.pool_leads())
    settings = quality_settings()
    blocked = pool.reclaim_blocked_until(request.user, [lead.pk for lead in page["rows"]], settings)
    for lead in page["rows"]:
        # Masked before the template sees them: the page never carries a full number or address.
        lead.masked_mobile = pool.mask_phone(lead.mobile) if lead.mobile else ""
        lead.masked_landline = pool.mask_phone(lead.landline) if lead.landline else ""
        lead.masked_email = pool.mask_email(lead.email) if lead.email else ""
        lead.claimable_after = blocked.get(lead.pk)
    limits = pool.claim_limits(request.user, settings)
    limits["reached"] = limits["open"] >= limits["max_open"] or limits["today"] >= limits["max_today"]
    return render(request, "leads/pool.html", {"page": page, "limits": limits})


@login_required
@require_POST
def pool_claim_view(request, pk):
    if not pool.can_use_pool(request.user):
        raise Http404
    lead = pool.pool_leads().filter(pk=pk).first()
    if lead is None:
        messages.error(request, _("This lead is no longer in the pool; someone else may have claimed it."))
        return redirect("leads:pool")
    try:
        lead = pool.lead_claim(lead=lead, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("leads:pool")
    messages.success(request, _("%(lead)s is yours now. Contact them before the first-contact deadline.") % {"lead": lead})
    return redirect(lead)


@login_required
@require_POST
def lead_release_view(request, pk):
    lead = get_lead_for_user(request.user, pk)
    try:
        pool.lead_release(lead=lead, reason=request.POST.get("reason", ""), actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect(lead)
    messages.success(request, _("%(lead)s returned to the public pool.") % {"lead": lead})
    return redirect("leads:list")


def _settings_form(request, form_class, *, saved: str, back: str):
    """(form, redirect): a form over the quality settings, saved through their service on a valid POST."""
    form = form_class(request.POST or None, instance=quality_settings())
    if request.method == "POST" and form.is_valid():
        try:
            quality_settings_update(data=form.cleaned_data, actor=request.user)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, saved)
            return form, redirect(back)
    return form, None


@admin_required
@require_http_methods(["GET", "POST"])
def scoring_settings_view(request):
    form, done = _settings_form(request, ThresholdsForm, back="leads:scoring_settings",
                                saved=_("Thresholds saved. Every lead is being rescored in the background."))
    if done:
        return done
    rules = ScoringRule.objects.all()
    return render(request, "leads/settings_scoring.html", {"form": form, "rules": rules})


@admin_required
@require_http_methods(["GET", "POST"])
def scoring_rule_edit_view(request, pk=None):
    quality_settings()
    rule = get_object_or_404(ScoringRule, pk=pk) if pk else None
    form = ScoringRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            scoring_rule_save(data=form.cleaned_data, rule=rule, actor=request.user)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Rule saved. Every lead is being rescored in the background."))
            return redirect("leads:scoring_settings")
    return render(request, "leads/settings_rule_form.html", {
        "form": form, "rule": rule, "title": _("Scoring rule"), "back": "leads:scoring_settings",
        "delete_url": "leads:scoring_rule_delete",
    })


@admin_required
@require_POST
def scoring_rule_delete_view(request, pk):
    scoring_rule_delete(rule=get_object_or_404(ScoringRule, pk=pk), actor=request.user)
    messages.success(request, _("Rule deleted. Every lead is being rescored in the background."))
    return redirect("leads:scoring_settings")


@admin_required
@require_http_methods(["GET", "POST"])
def assignment_settings_view(request):
    form, done = _settings_form(request, SlaForm, saved=_("Saved."), back="leads:assignment_settings")
    if done:
        return done
    rules = (AssignmentRule.objects.select_related("department")
             .prefetch_related("sources", "campaigns", "members__user"))
    return render(request, "leads/settings_assignment.html", {"form": form, "rules": rules})


@admin_required
@require_http_methods(["GET", "POST"])
def assignment_rule_edit_view(request, pk=None):
    rule = get_object_or_404(AssignmentRule, pk=pk) if pk else None
    form = AssignmentRuleForm(request.POST or None, instance=rule)
    initial = [{"user": m.user, "weight": m.weight} for m in rule.members.select_related("user")] if rule else []
    members = MemberFormSet(request.POST or None, initial=initial, prefix="members")
    if request.method == "POST" and form.is_valid() and members.is_valid():
        people = [(f.cleaned_data["user"], f.cleaned_data.get("weight") or 1)
                  for f in members if f.cleaned_data.get("user")]
        try:
            assignment_rule_save(data=form.cleaned_data, members=people, rule=rule, actor=request.user)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Assignment rule saved."))
            return redirect("leads:assignment_settings")
    return render(request, "leads/settings_rule_form.html", {
        "form": form, "members": members, "rule": rule, "title": _("Assignment rule"),
        "back": "leads:assignment_settings", "delete_url": "leads:assignment_rule_delete",
    })


@admin_required
@require_POST
def assignment_rule_delete_view(request, pk):
    assignment_rule_delete(rule=get_object_or_404(AssignmentRule, pk=pk), actor=request.user)
    messages.success(request, _("Assignment rule deleted."))
    return redirect("leads:assignment_settings")


@admin_required
@require_POST
def assignment_rule_move_view(request, pk):
    assignment_rule_move(rule=get_object_or_404(AssignmentRule, pk=pk), up=request.POST.get("direction") == "up",
                         actor=request.user)
    return redirect("leads:assignment_settings")


@admin_required
@require_http_methods(["GET", "POST"])
def pool_settings_view(request):
    form, done = _settings_form(request, PoolSettingsForm, saved=_("Pool rules saved."), back="leads:pool_settings")
    if done:
        return done
    return render(request, "leads/settings_pool.html", {"form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def intake_settings_view(request):
    """Which fields each door (web, API, import, form) must fill, and what a duplicate submission does."""
    forms = []
    for channel in Channel.values:
        if channel == Channel.SYSTEM:
            continue
        policy = channel_policy(channel)
        forms.append(ChannelPolicyForm(request.POST or None, channel=channel,
                                       initial={name: getattr(policy, name) for name in POLICY_FIELDS}))
    if request.method == "POST" and all(f.is_valid() for f in forms):
        channel_policies_save(policies={f.channel: f.cleaned_data for f in forms}, actor=request.user)
        messages.success(request, _("Intake rules saved."))
        return redirect("leads:intake_settings")
    return render(request, "leads/settings_intake.html", {"forms": forms})
