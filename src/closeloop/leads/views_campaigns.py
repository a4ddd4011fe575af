"""Campaign and source pages for administrators and marketing; everyone else gets a 404."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from closeloop.core.errors import DomainError, form_errors_from
from closeloop.core.models import Channel
from closeloop.core.pagination import paginate

from .forms import CampaignForm, LeadSourceForm
from .models import Campaign, Lead, LeadSource
from .public_form import HONEYPOT_FIELD, shown_fields
from .services.intake import channel_policy
from .services_campaigns import (
    campaign_regenerate_key,
    campaign_save,
    can_manage_campaigns,
    lead_source_create,
    lead_source_move,
    lead_source_update,
)


def campaign_manager_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not can_manage_campaigns(request.user):
            # Pages a person may not use look like pages that do not exist.
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _get_campaign(user, pk) -> Campaign:
    campaign = Campaign.objects.visible_to(user).select_related("source").filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


@campaign_manager_required
def campaign_list_view(request):
    campaigns = Campaign.objects.visible_to(request.user).select_related("source").order_by("-active", "-created_at")
    page = paginate(request, campaigns, per_page=50, count=True)
    # Lead counts respect the viewer's visibility like every other count in the app.
    counts = dict(
        Lead.objects.visible_to(request.user).filter(campaign__in=[c.pk for c in page["rows"]])
        .order_by().values("campaign").annotate(n=Count("pk")).values_list("campaign", "n")
    )
    rows = [(campaign, counts.get(campaign.pk, 0)) for campaign in page["rows"]]
    return render(request, "leads/campaigns/list.html", {"page": page, "rows": rows})


@campaign_manager_required
@require_http_methods(["GET", "POST"])
def campaign_edit_view(request, pk=None):
    campaign = _get_campaign(request.user, pk) if pk else None
    form = CampaignForm(request.POST or None, user=request.user, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            saved = campaign_save(actor=request.user, data=form.cleaned_data, campaign=campaign)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Campaign saved: %(name)s") % {"name": saved.name})
            return redirect("leads:campaign_edit", pk=saved.pk)
    context = {"form": form, "campaign": campaign}
    if campaign is not None:
        context.update(_embed_context(request, campaign))
    return render(request, "leads/campaigns/form.html", context)


def _embed_context(request, campaign: Campaign) -> dict:
    policy = channel_policy(Channel.FORM)
    return {
        "form_url": request.build_absolute_uri(reverse("public_form", args=[campaign.form_key])),
        "embed_fields": [(name, Lead._meta.get_field(name), name in policy.required_fields)
                         for name in shown_fields(policy)],
        "honeypot": HONEYPOT_FIELD,
    }


@campaign_manager_required
@require_http_methods(["GET", "POST"])
def campaign_regenerate_view(request, pk):
    """GET asks for confirmation (old embed codes stop working); POST does it."""
    campaign = _get_campaign(request.user, pk)
    if request.method == "POST":
        campaign_regenerate_key(actor=request.user, campaign=campaign)
        messages.success(request, _("New form key created. Replace the embed code on your website."))
        return redirect("leads:campaign_edit", pk=campaign.pk)
    return render(request, "leads/campaigns/regenerate.html", {"campaign": campaign})


@campaign_manager_required
@require_http_methods(["GET", "POST"])
def source_list_view(request):
    form = LeadSourceForm(request.POST or None, prefix="new")
    if request.method == "POST" and form.is_valid():
        try:
            source = lead_source_create(actor=request.user, name=form.cleaned_data["name"])
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Source added: %(name)s") % {"name": source.name})
            return redirect("leads:source_list")
    sources = list(LeadSource.objects.annotate(campaign_count=Count("campaigns")).order_by("position", "name"))
    return render(request, "leads/campaigns/sources.html", {"form": form, "sources": sources})


@campaign_manager_required
@require_http_methods(["GET", "POST"])
def source_edit_view(request, pk):
    # Sources are the company's shared pick list, not records anyone owns: every manager of them sees all.
    source = get_object_or_404(LeadSource, pk=pk)
    form = LeadSourceForm(request.POST or None, initial={"name": source.name, "active": source.active})
    if request.method == "POST" and form.is_valid():
        try:
            lead_source_update(actor=request.user, source=source, **form.cleaned_data)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Source saved."))
            return redirect("leads:source_list")
    return render(request, "leads/campaigns/source_form.html", {"form": form, "source": source})


@campaign_manager_required
@require_POST
def source_move_view(request, pk):
    source = get_object_or_404(LeadSource, pk=pk)
    lead_source_move(actor=request.user, source=source, offset=-1 if request.POST.get("direction") == "up" else 1)
    return redirect(reverse("leads:source_list") + f"#source-{source.pk}")
