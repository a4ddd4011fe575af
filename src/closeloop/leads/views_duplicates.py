"""Duplicate pages: hints beside the lead form, the review list of suspected groups, and the merge form."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from closeloop.core.errors import DomainError
from closeloop.core.money import format_yuan
from closeloop.core.pagination import page_number

from .dedup import find_matches
from .matching import make_entry
from .models import Lead, LeadStatus
from .selectors import duplicate_groups
from .services.merge import MERGE_FIELDS, lead_merge

HINT_FIELDS = ["company_name", "contact_name", "mobile", "landline", "email", "city", "credit_code"]


@login_required
@require_GET
def duplicate_hints_view(request):
    """Possible duplicates of what is being typed. Leads the user cannot see show only who owns them."""
    values = {name: request.GET.get(name, "")[:200] for name in HINT_FIELDS}
    editing = request.GET.get("lead", "")
    hints = []
    if any(values[name].strip() for name in HINT_FIELDS if name != "city"):
        matches = find_matches(make_entry(None, **values), exclude_pk=int(editing) if editing.isdigit() else None, limit=5)
        visible = set(Lead.objects.visible_to(request.user).filter(pk__in=[m.lead.pk for m in matches])
                      .values_list("pk", flat=True))
        hints = [{"match": m, "visible": m.lead.pk in visible} for m in matches]
    template = "leads/_duplicate_hints.html" if request.htmx else "leads/duplicate_hints.html"
    return render(request, template, {"hints": hints, "checked": any(values.values())})


@login_required
@require_GET
def duplicate_list_view(request):
    page = duplicate_groups(user=request.user, page=page_number(request))
    return render(request, "leads/duplicates.html", {"page": page})


def _ids(raw_values) -> list[int]:
    ids = []
    for raw in raw_values:
        for part in str(raw).split(","):
            if part.strip().isdigit():
                ids.append(int(part))
    return list(dict.fromkeys(ids))


@login_required
@require_http_methods(["GET", "POST"])
def lead_merge_view(request):
    source = request.POST if request.method == "POST" else request.GET
    ids = _ids(source.getlist("ids"))
    leads = list(Lead.objects.visible_to(request.user).filter(pk__in=ids).exclude(status=LeadStatus.MERGED)
                 .select_related("owner", "source").order_by("pk"))
    if len(leads) != len(ids) and request.method == "POST":
        raise Http404
    if len(leads) < 2:
        messages.error(request, _("Choose at least two leads you can see to merge."))
        return redirect("leads:duplicates")
    by_pk = {lead.pk: lead for lead in leads}
    survivor_id = source.get("survivor", "")
    survivor = by_pk.get(int(survivor_id)) if survivor_id.isdigit() else leads[0]
    survivor = survivor or leads[0]
    # What the person chose, kept when the page comes back with an error: a choice that is not one of
    # these leads falls back to the survivor's value, as it does on the first showing.
    choices = {name: _chosen(request.POST.get(f"field_{name}", ""), by_pk) for name in MERGE_FIELDS}
    confirm_error = ""
    if request.method == "POST":
        if "confirm" not in request.POST:
            confirm_error = _("Tick the confirmation box: merged leads cannot be separated again.")
            messages.error(request, confirm_error)
        else:
            try:
                lead_merge(survivor=survivor, others=[lead for lead in leads if lead.pk != survivor.pk],
                           field_choices={name: chosen for name, chosen in choices.items() if chosen},
                           actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("%(n)d leads merged into %(lead)s.") % {"n": len(leads) - 1, "lead": survivor})
                return redirect(survivor)
    rows = []
    for name in MERGE_FIELDS:
        options = [(lead, getattr(lead, name)) for lead in leads]
        distinct = {str(value) for _lead, value in options if value not in (None, "")}
        if name in MONEY_FIELDS:  # ¥50,000.00 as everywhere else, not the stored 50000.00
            options = [(lead, format_yuan(value) if value is not None else None) for lead, value in options]
        rows.append({"name": name, "label": Lead._meta.get_field(name).verbose_name, "options": options,
                     "differs": len(distinct) > 1, "chosen": choices[name] or _kept_by_default(name, survivor, leads)})
    return render(request, "leads/merge.html", {"leads": leads, "survivor": survivor, "rows": rows,
                                                "ids": ",".join(str(lead.pk) for lead in leads),
                                                "confirm_error": confirm_error})


MONEY_FIELDS = {name for name in MERGE_FIELDS if isinstance(Lead._meta.get_field(name), models.DecimalField)}


def _kept_by_default(name: str, survivor, leads) -> int:
    """The lead whose value the merge keeps when the person does not choose (lead_merge's rule): the survivor's, or,
    when it has none, the first other lead's that has one. The page ticks that one, so what it shows is what is kept
    (it showed the survivor's empty value ticked while the merge kept another lead's email)."""
    for lead in [survivor, *(lead for lead in leads if lead.pk != survivor.pk)]:
        if getattr(lead, name) not in (None, ""):
            return lead.pk
    return survivor.pk


def _chosen(raw: str, by_pk: dict) -> int | None:
    return int(raw) if raw.isdigit() and int(raw) in by_pk else None
