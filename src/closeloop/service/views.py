"""Delivery pages: the list, starting a contract's delivery, the delivery with its milestones, acceptance link and
timeline, and its actions. Views stay thin: read through the selectors, write through the services."""


from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closeloop.contracts import documents
from closeloop.contracts.selectors import get_contract_for_user
from closeloop.core.customfields import indexes
from closeloop.core.customfields.forms import custom_data, with_custom_fields
from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.exports import export_or_respond
from closeloop.core.inputs import date_input
from closeloop.core.notify import absolute_url
from closeloop.core.pagination import paginate, query_without_page
from closeloop.followup.selectors import follow_up_panel

from . import access, deliveries
from .exports import deliveries_export_response
from .forms import AcceptanceUploadForm, DeliveryForm, MilestoneForm, default_delivery_owner, milestone_forms
from .models import DeliveryStatus
from .selectors import delivery_list, get_delivery_for_user, get_milestone_for_user, survey_context


def _listed(request):
    """The deliveries the list's status, search and `cf.<key>` filters select, through the viewer's visibility (the
    list's pages and its export read the same), with the list's custom columns and filters."""
    status = request.GET.get("status", "")
    q = request.GET.get("q", "").strip()[:100]
    rows, custom_columns, custom_filters = indexes.list_fields(delivery_list(user=request.user, status=status, q=q),
                                               deliveries.DELIVERY_TARGET, request.user, request.GET)
    return status, q, rows, custom_columns, custom_filters


@login_required
@require_GET
def delivery_list_view(request):
    status, q, rows, custom_columns, custom_filters = _listed(request)
    page = paginate(request, rows)
    context = {"page": page, "status": status, "q": q, "query": query_without_page(request),
               "custom_columns": custom_columns, "custom_filters": custom_filters,
               "statuses": DeliveryStatus.choices, "today": timezone.localdate()}
    template = ("service/_delivery_rows.html" if request.htmx and request.htmx.target == "delivery-rows"
                else "service/deliveries.html")
    return render(request, template, context)


@login_required
@require_GET
def delivery_export_view(request):
    """The delivery list as an Excel workbook: the same filters, the same visibility, every row."""
    *_filters, rows, _columns, _offered = _listed(request)
    return export_or_respond(request, rows, lambda: deliveries_export_response(rows, viewer=request.user),
                             label=_("Deliveries"))


@login_required
@require_http_methods(["GET", "POST"])
def delivery_create_view(request):
    try:
        contract = get_contract_for_user(request.user, int(request.GET.get("contract", "")))
    except ValueError:
        raise Http404 from None
    if not access.can_start(request.user, contract):
        raise Http404
    form = with_custom_fields(DeliveryForm(request.POST or None, initial={"title": contract.title,
                                                                          "owner": default_delivery_owner(request.user).pk}),
                              deliveries.DELIVERY_TARGET, request.user)
    rows = milestone_forms(request.POST or None)
    if request.method == "POST" and form.is_valid() and all(row.is_valid() for row in rows):
        try:
            delivery = deliveries.delivery_create(
                contract=contract, actor=request.user, owner=form.cleaned_data["owner"],
                title=form.cleaned_data["title"], notes=form.cleaned_data["notes"],
                milestones=[row.cleaned_data for row in rows], custom=custom_data(form) or {})
        except DomainError as exc:
            form_errors_from(form, exc, always_message=True)
        else:
            messages.success(request, _("Delivery started. Send the customer the acceptance link when it is done."))
            return redirect(delivery)
    return render(request, "service/delivery_create.html", {"form": form, "rows": rows, "contract": contract},
                  status=422 if form.errors else 200)


def _detail_context(request, delivery, **extra) -> dict:
    user = request.user
    can_run = access.can_run(user, delivery)
    milestones = list(delivery.milestones.select_related("owner"))
    context = {
        "delivery": delivery, "contract": delivery.contract, "milestones": milestones, "can_run": can_run,
        # can_complete_milestone per row would ask can_run again for each milestone.
        "may_complete": {m.pk for m in milestones if can_run or m.owner_id == user.pk},
        "is_open": delivery.status == DeliveryStatus.IN_PROGRESS, "today": timezone.localdate(),
        "public_url": absolute_url(reverse("delivery_public", args=[delivery.public_key])) if can_run else "",
        "milestone_form": MilestoneForm(), "upload_form": AcceptanceUploadForm(
            initial={"accepted_on": timezone.localdate()}),
        "followup": follow_up_panel(delivery, viewer=user), **survey_context(delivery, show_link=can_run),
    }
    context.update(extra)
    return context


@login_required
@require_GET
def delivery_detail_view(request, pk):
    delivery = get_delivery_for_user(request.user, pk)
    return render(request, "service/delivery.html", _detail_context(request, delivery))


@login_required
@require_http_methods(["GET", "POST"])
def delivery_edit_view(request, pk):
    delivery = get_delivery_for_user(request.user, pk)
    if not access.can_run(request.user, delivery):
        raise Http404
    form = with_custom_fields(DeliveryForm(request.POST or None, initial={
        "title": delivery.title, "owner": delivery.owner_id, "notes": delivery.notes}),
        deliveries.DELIVERY_TARGET, request.user, delivery)
    if request.method == "POST" and form.is_valid():
        data = {"title": form.cleaned_data["title"] or delivery.title, "owner": form.cleaned_data["owner"],
                "notes": form.cleaned_data["notes"]}
        if (custom := custom_data(form)) is not None:
            data["custom"] = custom
        try:
            deliveries.delivery_update(delivery=delivery, actor=request.user, data=data)
        except DomainError as exc:
            form_errors_from(form, exc, always_message=True)
        else:
            messages.success(request, _("Delivery saved."))
            return redirect(delivery)
    return render(request, "service/delivery_edit.html", {"form": form, "delivery": delivery},
                  status=422 if form.errors else 200)


@login_required
@require_POST
def milestone_add_view(request, pk):
    delivery = get_delivery_for_user(request.user, pk)
    form = MilestoneForm(request.POST)
    if form.is_valid():
        try:
            deliveries.milestone_add(delivery=delivery, actor=request.user, name=form.cleaned_data["name"],
                                     planned_date=form.cleaned_data["planned_date"], owner=form.cleaned_data["owner"])
        except DomainError as exc:
            form_errors_from(form, exc, always_message=True)
        else:
            messages.success(request, _("Milestone added."))
            return redirect(delivery)
    return render(request, "service/delivery.html", _detail_context(request, delivery, milestone_form=form),
                  status=422)


@login_required
@require_POST
def milestone_done_view(request, pk, milestone_pk):
    milestone = get_milestone_for_user(request.user, pk, milestone_pk)
    reopen = request.POST.get("reopen") == "1"
    done = None if reopen else (request.POST.get("done_date") or timezone.localdate().isoformat())
    try:
        deliveries.milestone_update(milestone=milestone, actor=request.user,
                                    data={"done_date": date_input(done, "done_date")})
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Milestone reopened.") if reopen else _("Milestone done."))
    return redirect(milestone.delivery)


@csrf_exempt
@login_required
@require_POST
def acceptance_upload_view(request, pk):
    # The guard goes in before anything reads the body (the CSRF check reads it, so it runs after, below).
    guard = documents.guard_uploads(request)
    return _acceptance_upload(request, pk, guard)


@csrf_protect
def _acceptance_upload(request, pk, guard):
    delivery = get_delivery_for_user(request.user, pk)
    form = AcceptanceUploadForm(request.POST, request.FILES)
    form.is_valid()
    try:
        deliveries.delivery_accept_by_form(
            delivery=delivery, upload=request.FILES.get("file"), guard=guard, actor=request.user,
            accepted_on=form.cleaned_data.get("accepted_on"), acceptor_name=form.cleaned_data.get("acceptor_name", ""))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Acceptance recorded; the contract is told."))
    return redirect(delivery)


@login_required
@require_GET
def delivery_file_view(request, pk, which):
    delivery = get_delivery_for_user(request.user, pk)
    if which not in ("signature", "acceptance_form") or not getattr(delivery, which):
        raise Http404
    return documents.sandboxed_file(getattr(delivery, which))
