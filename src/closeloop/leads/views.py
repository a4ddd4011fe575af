from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from closeloop.core.customfields import indexes, registry
from closeloop.core.customfields.forms import add_record_fields, submitted
from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.exports import export_or_respond
from closeloop.core.models import Channel, User
from closeloop.core.pagination import kept_parameters, paginate, query_without_page
from closeloop.core.redirects import next_url
from closeloop.core.savedviews.lists import open_list
from closeloop.followup.models import Tag
from closeloop.followup.rights import Act, require_page
from closeloop.followup.selectors import follow_up_panel
from closeloop.followup.tags import attach_tags
from closeloop.followup.views import bulk_tag

from .assignment import can_own
from .exports import export_response
from .forms import BulkAssignForm, DisqualifyForm, LeadEditForm, LeadForm
from .models import LIST_BULK_MAX, Lead, LeadSource, LeadStatus
from .pool import POOLABLE_STATUSES, BulkRelease, leads_release
from .selectors import LeadFilters, get_lead_for_user, lead_list, lead_open_tasks
from .services.editing import lead_assign, lead_disqualify, lead_update
from .services.intake import LEAD_TARGET, channel_policy, lead_submit


def _filters(request) -> LeadFilters:
    get = request.GET
    custom = indexes.filters_from_query(registry.visible_fields(LEAD_TARGET, request.user), get)
    return LeadFilters(custom=tuple(custom),
        q=get.get("q", "").strip()[:100], status=get.get("status", ""), not_status=get.get("not_status", "")[:15],
        owner=get.get("owner", ""), source=get.get("source", ""), reached=get.get("reached", ""),
        created_from=get.get("from", ""), created_to=get.get("to", ""),
        sort=get.get("sort", "-created_at"), import_job=get.get("import", "")[:12],
        overdue=get.get("overdue", ""), first_contact=get.get("first_contact", ""),
        first_contact_by=get.get("first_contact_by", "")[:12],
        due_from=get.get("due_from", ""), due_to=get.get("due_to", ""), tag=get.get("tag", "")[:12],
    )


# The list's filters by their query-string names (what a saved view may keep, besides `cf.<key>` ones).
LIST_PARAMETERS = ("q", "status", "not_status", "owner", "source", "reached", "from", "to", "import", "overdue",
                   "first_contact", "first_contact_by", "due_from", "due_to", "tag")

# The dashboard's drill-downs the list's form does not show, kept as hidden fields.
REVIEW_PARAMETERS = ("overdue", "first_contact", "first_contact_by", "due_from", "due_to")


@login_required
def lead_list_view(request):
    list_views = open_list(request, "leads")
    if list_views.redirect:
        return redirect(list_views.redirect)
    filters = _filters(request)
    page = paginate(request, lead_list(user=request.user, filters=filters))
    attach_tags(page["rows"])
    visible = registry.visible_fields(LEAD_TARGET, request.user)
    chosen = {(field.key, operator): text for field, operator, _value, text in filters.custom}
    offered = [field for field in visible if field.list_column and field.indexed]
    # A dashboard's drill-down may filter on a custom field the form does not offer: kept as a hidden field.
    shown = {indexes.QUERY_PREFIX + field.key for field in offered}
    custom_kept = [(name, value) for name, value in kept_parameters(request, (), prefixes=(indexes.QUERY_PREFIX,))
                   if name not in shown]
    context = {
        "tags": list(Tag.objects.all()),
        "page": page, "filters": filters, "query": query_without_page(request),
        "review_filters": [*kept_parameters(request, REVIEW_PARAMETERS), *custom_kept],
        # The columns the view shows (core/savedviews), and the filters offered on the custom fields an administrator
        # indexed and shows in the list.
        "list_views": list_views,
        "custom_columns": [column.field for column in list_views.columns if column.field is not None],
        "custom_filters": [(field, chosen.get((field.key, "eq"), "")) for field in offered],
        "statuses": LeadStatus.choices, "sources": LeadSource.objects.all(),
        "owners": User.objects.filter(is_active=True, role__in=["sales_rep", "sales_manager"]).order_by("username")
        if request.user.can_assign else [],
        "assign_form": BulkAssignForm(user=request.user) if request.user.can_assign else None,
        # The owner's side returns leads to the pool: reps their own, managers their team's, administrators any.
        "may_release": request.user.can_assign or can_own(request.user),
    }
    template = "leads/_list_rows.html" if request.htmx and request.htmx.target == "lead-rows" else "leads/list.html"
    return render(request, template, context)


@login_required
def lead_detail_view(request, pk):
    lead = get_lead_for_user(request.user, pk)
    return render(request, "leads/detail.html", {
        "lead": lead, "followup": follow_up_panel(lead, viewer=request.user), "open_tasks": lead_open_tasks(lead),
        "poolable": lead.owner_id is not None and lead.status in POOLABLE_STATUSES,
    })


@login_required
@require_http_methods(["GET", "POST"])
def lead_create_view(request):
    policy = channel_policy(Channel.WEB)
    form = LeadForm(request.POST or None, required_fields=policy.required_fields)
    custom_fields = registry.editable_fields(LEAD_TARGET, request.user)
    add_record_fields(form, custom_fields, creating=True, required_channel=Channel.WEB)
    if request.method == "POST" and form.is_valid():
        data = {name: request.POST.get(name, "") for name in form.Meta.fields}
        data["source"] = form.cleaned_data["source"]
        data["custom"] = submitted(request.POST, custom_fields)
        try:
            result = lead_submit(data=data, channel=Channel.WEB, actor=request.user)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            for message in result.messages:
                messages.info(request, message)
            if result.created:
                # A duplicate attached to an existing lead is not a new lead; its own message says where it went.
                messages.success(request, _("Lead saved: %(lead)s") % {"lead": result.lead})
            if "save_and_new" in request.POST:
                return redirect("leads:create")
            if result.lead.pk and get_lead_visible(request.user, result.lead.pk):
                return redirect(result.lead)
            return redirect("leads:list")
    return render(request, "leads/form.html", {"form": form, "contact_required": policy.require_contact_method})


def get_lead_visible(user, pk) -> bool:
    try:
        get_lead_for_user(user, pk)
    except Http404:
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def lead_edit_view(request, pk):
    lead = get_lead_for_user(request.user, pk)
    require_page(request.user, lead, Act.EDIT)
    form = LeadEditForm(request.POST or None, instance=lead)
    custom_fields = registry.editable_fields(LEAD_TARGET, request.user)
    add_record_fields(form, custom_fields, values=lead.custom, required_channel=Channel.WEB)
    if request.method == "POST" and form.is_valid():
        data = {name: request.POST.get(name, "") for name in form.Meta.fields}
        data["source"] = form.cleaned_data["source"]
        data["custom"] = submitted(request.POST, custom_fields)
        try:
            lead_update(lead=lead, data=data, actor=request.user, channel=Channel.WEB)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(lead)
    return render(request, "leads/form.html", {"form": form, "lead": lead})


@login_required
@require_http_methods(["GET", "POST"])
def lead_disqualify_view(request, pk):
    """无效: the lead is not worth pursuing, with the reason (a category, and a note for “other”)."""
    lead = get_lead_for_user(request.user, pk)
    require_page(request.user, lead, Act.EDIT)
    form = DisqualifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead_disqualify(lead=lead, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"],
                            actor=request.user, channel=Channel.WEB)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Lead disqualified."))
            return redirect(lead)
    return render(request, "leads/disqualify.html", {"form": form, "lead": lead})


@login_required
@require_POST
def lead_bulk_assign_view(request):
    if not request.user.can_assign:
        raise Http404
    if _ticked(request) is None:
        return redirect(next_url(request, reverse("leads:list")))
    form = BulkAssignForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _("Choose the leads and the person to assign them to."))
        return redirect(next_url(request, reverse("leads:list")))
    done = 0
    for lead in form.cleaned_data["leads"]:
        try:
            lead_assign(lead=lead, owner=form.cleaned_data["owner"], actor=request.user, reason=form.cleaned_data["reason"])
            done += 1
        except DomainError as exc:
            messages.error(request, f"{lead}: {exc.message}")
    messages.success(request, _("%(n)d leads assigned to %(user)s.") % {"n": done, "user": form.cleaned_data["owner"]})
    return redirect(next_url(request, reverse("leads:list")))


def _ticked(request) -> list[int] | None:
    """The ids of the leads ticked in the list, or None (and a message) when more are ticked than one bulk action takes."""
    ids = sorted({int(value) for value in request.POST.getlist("leads") if value.isdigit() and len(value) <= 18})
    if len(ids) > LIST_BULK_MAX:
        messages.error(request, _("Tick at most %(max)d leads at a time; %(n)d were ticked.")
                       % {"max": LIST_BULK_MAX, "n": len(ids)})
        return None
    return ids


def _named(leads, unseen: int = 0) -> str:
    names = [str(lead) for lead in leads[:5]]
    if len(leads) > 5:
        names.append(_("%(n)d more") % {"n": len(leads) - 5})
    if unseen:
        names.append(ngettext("%(n)d you cannot see", "%(n)d you cannot see", unseen) % {"n": unseen})
    return "、".join(names)


@login_required
@require_POST
def lead_bulk_release_view(request):
    """退回公海 for the leads ticked in the list, with one reason: those the person may release go back in one
    transaction; the rest are named in the answer (not theirs to release, not visible to them, or not open). Who may
    is the service's to say: the list offers the button to the owner's side only (`may_release`)."""
    back = next_url(request, reverse("leads:list"))
    ids = _ticked(request)
    if ids is None:
        return redirect(back)
    leads = list(Lead.objects.visible_to(request.user).filter(pk__in=ids))
    try:
        outcome = (leads_release(leads=leads, reason=request.POST.get("return_reason", ""), actor=request.user)
                   if leads or not ids else BulkRelease())
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect(back)
    unseen = len(ids) - len(leads)
    done, total = len(outcome.released), len(ids)
    if done == total:
        messages.success(request, ngettext("%(n)d lead returned to the public pool.",
                                           "%(n)d leads returned to the public pool.", done) % {"n": done})
        return redirect(back)
    parts = [ngettext("%(done)d of %(total)d lead returned to the public pool.",
                      "%(done)d of %(total)d leads returned to the public pool.", total) % {"done": done, "total": total}]
    if outcome.refused or unseen:
        n = len(outcome.refused) + unseen
        parts.append(ngettext("%(n)d you may not release: %(leads)s.", "%(n)d you may not release: %(leads)s.", n)
                     % {"n": n, "leads": _named(outcome.refused, unseen)})
    if outcome.not_open:
        n = len(outcome.not_open)
        parts.append(ngettext("%(n)d not open or already in the pool: %(leads)s.",
                              "%(n)d not open or already in the pool: %(leads)s.", n)
                     % {"n": n, "leads": _named(outcome.not_open)})
    (messages.warning if done else messages.error)(request, " ".join(parts))
    return redirect(back)


@login_required
@require_POST
def lead_bulk_tag_view(request):
    """Put one tag on the leads selected in the list (those the person may edit; the rest are counted)."""
    return bulk_tag(request, Lead, request.POST.getlist("leads"), back=reverse("leads:list"))


@login_required
def lead_export_view(request):
    fmt = request.GET.get("format", "xlsx")
    leads = lead_list(user=request.user, filters=_filters(request))
    return export_or_respond(request, leads, lambda: export_response(leads, fmt=fmt, viewer=request.user),
                             label=_("Leads"))
