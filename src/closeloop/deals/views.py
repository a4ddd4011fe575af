"""Deal pages: list, board, detail, stage moves with gates, conversion, transfers."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closeloop.core.customfields import indexes, registry
from closeloop.core.customfields.forms import add_record_fields, submitted
from closeloop.core.errors import DomainError, form_errors_from
from closeloop.core.exports import export_or_respond
from closeloop.core.models import Channel
from closeloop.core.money import parse_money
from closeloop.core.pagination import kept_parameters, paginate, query_without_page
from closeloop.core.redirects import next_url
from closeloop.core.savedviews.lists import open_list
from closeloop.core.visibility import departments_visible_to, people_visible_to
from closeloop.deals.services.conversion import lead_convert
from closeloop.deals.services.opportunities import (
    DEAL_TARGET,
    field_label,
    missing_by_stage,
    missing_gate_fields,
    opportunity_create,
    opportunity_move_stage,
    opportunity_transfer,
    opportunity_update,
)
from closeloop.followup.models import Tag
from closeloop.followup.rights import Act, may, require_page
from closeloop.followup.selectors import follow_up_panel
from closeloop.followup.tags import attach_tags
from closeloop.leads.selectors import get_lead_for_user
from closeloop.leads.services.intake import LEAD_TARGET

from .exports import deals_export_response
from .forms import ConvertForm, OpportunityForm, TransferForm, lost_reasons, win_reasons
from .models import CUSTOM_GATE_PREFIX, OpportunityStatus, Pipeline, Stage, gate_custom_field
from .selectors import (
    KANBAN_CARDS_PER_STAGE,
    OpportunityFilters,
    get_customer_for_user,
    get_opportunity_for_user,
    kanban,
    money_totals,
    opportunity_list,
)


def apply_errors(form, exc: DomainError):
    # A stage gate's message also says which stage wants the fields it marks.
    form_errors_from(form, exc, always_message=exc.code == "stage_gate")


def _form_data(form) -> dict:
    """The raw typed values of the fields the person filled (custom fields as `custom`); the services parse them."""
    data = {}
    custom_fields = []
    for name, field in form.fields.items():
        if (custom_field := getattr(field, "custom_field", None)) is not None:
            custom_fields.append(custom_field)
        elif name == "contacts":
            data[name] = form.data.getlist(name)
        elif name in form.data:
            data[name] = form.data.get(name, "")
    if custom_fields:
        data["custom"] = submitted(form.data, custom_fields)
    return data


def with_custom_fields(form, target: str, user, record=None):
    """The record form with the custom fields `user` may edit (a new record's with their defaults)."""
    add_record_fields(form, registry.editable_fields(target, user), values=record.custom if record else None,
                      creating=record is None, required_channel=Channel.WEB)
    return form


# ---------------------------------------------------------------------------------------------------
# List and board


REVIEW_PARAMETERS = ("pipeline", "source", "from", "to", "lead_from", "lead_to", "reached", "lost_reason", "closed_from", "closed_to",
                     "close_month", "left", "left_from", "left_to", "overdue")


# The list's filters by their query-string names (what a saved view may keep).
LIST_PARAMETERS = ("q", "status", "stage", "pipeline", "owner", "department", "source", "from", "to", "lead_from",
                   "lead_to", "reached", "lost_reason", "closed_from", "closed_to", "close_month", "left", "left_from",
                   "left_to", "overdue", "tag")


# The custom field filters a drill-down brings: the deal's own fields, and the fields of the lead it came from.
CUSTOM_PREFIXES = (indexes.QUERY_PREFIX, "lead." + indexes.QUERY_PREFIX)


def _filters(request) -> OpportunityFilters:
    get = request.GET
    deal_fields = registry.visible_fields(DEAL_TARGET, request.user)
    lead_fields = registry.visible_fields(LEAD_TARGET, request.user)
    return OpportunityFilters(custom=tuple(indexes.filters_from_query(deal_fields, get)),
                              lead_custom=tuple(indexes.related_filters(lead_fields, get, "lead.")),
                              q=get.get("q", "").strip()[:100], status=get.get("status", ""), stage=get.get("stage", ""),
                              pipeline=get.get("pipeline", ""), owner=get.get("owner", ""),
                              department=get.get("department", ""), sort=get.get("sort", "-updated_at"),
                              source=get.get("source", ""),
                              created_from=get.get("from", ""), created_to=get.get("to", ""),
                              lead_from=get.get("lead_from", ""), lead_to=get.get("lead_to", ""),
                              reached=get.get("reached", ""), lost_reason=get.get("lost_reason", ""),
                              closed_from=get.get("closed_from", ""), closed_to=get.get("closed_to", ""),
                              close_month=get.get("close_month", ""), left=get.get("left", ""),
                              left_from=get.get("left_from", ""), left_to=get.get("left_to", ""),
                              overdue=get.get("overdue", ""), tag=get.get("tag", "")[:12])


def _people_filters(user) -> dict:
    """The rep and team choices of the list's and the board's filters: only people the viewer may see (a rep
    sees their own and their collaborations, so "Mine" is the one choice they need)."""
    if not (user.is_admin or user.is_manager):
        return {"people": [], "departments": []}
    return {"people": people_visible_to(user).exclude(pk=user.pk).order_by("display_name", "username"),
            "departments": departments_visible_to(user)}


@login_required
def opportunity_list_view(request):
    list_views = open_list(request, "deals")
    if list_views.redirect:
        return redirect(list_views.redirect)
    filters = _filters(request)
    deals = opportunity_list(user=request.user, filters=filters)
    page = paginate(request, deals.select_related("customer", "owner", "stage"))
    attach_tags(page["rows"])
    texts = {field.key: text for field, operator, _value, text in filters.custom if operator == "eq"}
    offered = [(field, texts.get(field.key, "")) for field in registry.visible_fields(DEAL_TARGET, request.user)
               if field.list_column and field.indexed and field.type in indexes.INDEXABLE_TYPES]
    context = {
        "tags": list(Tag.objects.all()),
        "page": page, "filters": filters, "query": query_without_page(request), "totals": money_totals(deals),
        # The columns the view shows (core/savedviews).
        "list_views": list_views,
        "custom_columns": [column.field for column in list_views.columns if column.field is not None],
        "statuses": OpportunityStatus.choices, "stages": Stage.objects.select_related("pipeline"),
        # The dashboard's drill-downs narrow the list by what the form does not show: kept as hidden fields.
        "review_filters": [(name, value) for name, value in kept_parameters(request, REVIEW_PARAMETERS,
                                                                            prefixes=CUSTOM_PREFIXES)
                           if name not in {indexes.QUERY_PREFIX + field.key for field, _text in offered}],
        # The filters offered on the deal's fields an administrator indexed and shows in the list.
        "custom_filters": offered,
        **_people_filters(request.user),
    }
    template = "deals/_list_rows.html" if request.htmx and request.htmx.target == "deal-rows" else "deals/list.html"
    return render(request, template, context)


@login_required
def board_view(request, pipeline_pk=None):
    pipelines = list(Pipeline.objects.filter(active=True))
    pipeline = get_object_or_404(Pipeline, pk=pipeline_pk, active=True) if pipeline_pk else Pipeline.default()
    if pipeline is None:
        return render(request, "deals/board.html", {"pipelines": [], "columns": []})
    owner, department = request.GET.get("owner", ""), request.GET.get("department", "")
    columns = kanban(user=request.user, pipeline=pipeline, owner=owner, department=department)
    return render(request, "deals/board.html", {
        "pipeline": pipeline, "pipelines": pipelines, "columns": columns, "owner": owner, "department": department,
        "stages": [c["stage"] for c in columns], "per_stage": KANBAN_CARDS_PER_STAGE,
        **_people_filters(request.user),
    })


@login_required
@require_GET
def opportunity_export_view(request):
    """The deal list as an Excel workbook: the same filters, the same visibility, every row."""
    deals = opportunity_list(user=request.user, filters=_filters(request))
    return export_or_respond(request, deals, lambda: deals_export_response(deals, viewer=request.user),
                             label=_("Deals"))


def _board_after_move(request, pk: int, old_stage_id: int, message: str, board_url: str):
    """The few pieces of the board a move changes, as out-of-band swaps: no reload, scroll and filters kept."""
    deal = get_opportunity_for_user(request.user, pk)
    # Totals of the whole pipeline in one grouped query; no cards are loaded (per_stage=0).
    columns = kanban(user=request.user, pipeline=deal.pipeline, owner=request.POST.get("owner", ""),
                     department=request.POST.get("department", ""), per_stage=0)
    return render(request, "deals/_board_moved.html", {
        "deal": deal, "stages": [c["stage"] for c in columns], "board_url": board_url, "status": message,
        "changed_columns": [c for c in columns if c["stage"].pk in (old_stage_id, deal.stage_id)],
        "per_stage": KANBAN_CARDS_PER_STAGE,
    })


# ---------------------------------------------------------------------------------------------------
# Detail, create, edit


@login_required
def opportunity_detail_view(request, pk):
    deal = get_opportunity_for_user(request.user, pk)
    stages = list(deal.pipeline.stages.order_by("position", "id"))
    return render(request, "deals/detail.html", {
        "deal": deal, "stages": stages, "followup": follow_up_panel(deal, viewer=request.user),
        "contacts": deal.contacts.all(),
        "can_transfer": may(request.user, deal, Act.OVERSEE),
        "missing": {pk: [field_label(name) for name in names] for pk, names in missing_by_stage(deal, stages).items()},
        "lost_reasons": lost_reasons(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_create_view(request, customer_pk):
    customer = get_customer_for_user(request.user, customer_pk)
    require_page(request.user, customer, Act.EDIT)  # seen, not theirs to sell to: 403, as the API answers
    # A link may prefill the name (the radar's "create the renewal deal").
    initial = {"name": request.GET.get("name", "")[:200]}
    form = with_custom_fields(OpportunityForm(request.POST or None, customer=customer, initial=initial), DEAL_TARGET,
                              request.user)
    if request.method == "POST" and form.is_valid():
        try:
            deal = opportunity_create(customer=customer, data=_form_data(form), actor=request.user)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Deal created: %(deal)s") % {"deal": deal})
            return redirect(deal)
    return render(request, "deals/opportunity_form.html", {"form": form, "customer": customer})


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_edit_view(request, pk):
    deal = get_opportunity_for_user(request.user, pk)
    require_page(request.user, deal, Act.EDIT)
    initial = {name: getattr(deal, name) for name in OpportunityForm.base_fields if name != "contacts"}
    initial["contacts"] = list(deal.contacts.values_list("pk", flat=True))
    form = with_custom_fields(OpportunityForm(request.POST or None, customer=deal.customer, initial=initial),
                              DEAL_TARGET, request.user, deal)
    if request.method == "POST" and form.is_valid():
        try:
            opportunity_update(opportunity=deal, data=_form_data(form), actor=request.user)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(deal)
    return render(request, "deals/opportunity_form.html", {"form": form, "deal": deal, "customer": deal.customer})


# ---------------------------------------------------------------------------------------------------
# Stage moves


GATE_INPUTS = ["amount", "expected_close_date", "budget", "authority", "need", "timeline", "next_step",
               "next_follow_up_at", "lost_reason", "lost_note", "win_reason", "win_note", "contacts"]


def _gate_form_fields(request, deal, stage, exc: DomainError) -> list[str]:
    """The inputs of the re-shown gate form: what the gate still needs plus everything the person typed.

    An invalid value (a budget of "十万左右") fails before the gate is checked, so the error alone names only
    that field; rebuilding the form from it would drop the valid values typed next to it.
    """
    if not exc.field_errors:
        return []
    names = [*missing_gate_fields(deal, stage), *(name for name in GATE_INPUTS if name in request.POST),
             *(name for name in request.POST if name.startswith(CUSTOM_GATE_PREFIX)),
             *exc.field_errors]
    # The notes are shown together with their reasons, never as inputs of their own.
    return [name for name in dict.fromkeys(names) if (name in GATE_INPUTS or gate_custom_field(name) is not None)
            and name not in ("lost_note", "win_note")]


def _gate_custom_inputs(request, deal, missing) -> dict:
    """The inputs of the custom fields a gate asks for, by name (`custom.<key>`), with what was typed."""
    fields = [field for name in missing if (field := gate_custom_field(name)) is not None]
    if not fields:
        return {}
    form = forms.Form(request.POST if any(name.startswith(CUSTOM_GATE_PREFIX) for name in request.POST) else None)
    add_record_fields(form, fields, values=deal.custom)
    return {name: form[name] for name in form.fields}


def _gate_context(request, deal, stage, back, *, missing, error=None, question="") -> dict:
    return {
        "deal": deal, "stage": stage, "error": error, "question": question, "missing": missing,
        "custom_inputs": _gate_custom_inputs(request, deal, missing),
        "values": request.POST, "next": back, "labels": {name: field_label(name) for name in missing},
        "contacts": deal.customer.contacts.all(), "lost_reasons": lost_reasons(), "win_reasons": win_reasons(),
        "chosen_contacts": request.POST.getlist("contacts"),
    }


@login_required
@require_POST
def opportunity_move_view(request, pk):
    """Move to a stage. Board drag (HTMX), the card's select, and the gate form all post here."""
    deal = get_opportunity_for_user(request.user, pk)
    # Before any question (why won?, a gate's fields): one who may not move the deal is not asked to answer.
    require_page(request.user, deal, Act.EDIT)
    stage = Stage.objects.filter(pk=request.POST.get("stage") or 0, pipeline_id=deal.pipeline_id).first()
    back = next_url(request, deal.get_absolute_url())
    if stage is None:
        messages.error(request, _("Choose a stage of this deal's pipeline."))
        return redirect(back)
    old_stage_id = deal.stage_id
    template = "deals/_gate_form.html" if request.htmx else "deals/gate.html"
    if stage.is_won and stage.pk != old_stage_id and "win_reason" not in request.POST and win_reasons().exists():
        # Why a deal was won counts in the review like why one was lost: ask first. Answering is optional.
        question = _("Why was this deal won? Choose a reason for the review, or leave it empty.")
        return render(request, template, _gate_context(request, deal, stage, back, missing=["win_reason"],
                                                       question=question))
    fields = {name: request.POST.get(name) for name in GATE_INPUTS if name in request.POST and name != "contacts"}
    if "contacts" in request.POST:
        fields["contacts"] = request.POST.getlist("contacts")
    if posted := [field for name in request.POST if (field := gate_custom_field(name)) is not None]:
        fields["custom"] = submitted(request.POST, posted)
    try:
        opportunity_move_stage(opportunity=deal, stage=stage, actor=request.user, channel=Channel.WEB,
                                        fields=fields)
    except DomainError as exc:
        missing = _gate_form_fields(request, deal, stage, exc)
        return render(request, template, _gate_context(request, deal, stage, back, missing=missing, error=exc))
    message = _("%(deal)s moved to %(stage)s.") % {"deal": deal, "stage": stage.name}
    if request.htmx and request.POST.get("board"):
        return _board_after_move(request, deal.pk, old_stage_id, message, back)
    messages.success(request, message)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = back
        return response
    return redirect(back)


# ---------------------------------------------------------------------------------------------------
# Lead conversion


@login_required
@require_http_methods(["GET", "POST"])
def lead_convert_view(request, lead_pk):
    lead = get_lead_for_user(request.user, lead_pk)
    require_page(request.user, lead, Act.EDIT)  # marketing sees its channels' leads; converting one is the owner side's
    form = ConvertForm(request.POST or None, initial={"amount": lead.budget or ""})
    if request.method == "POST" and form.is_valid():
        try:
            amount = parse_money(form.cleaned_data["amount"])
        except ValueError:
            form.add_error("amount", _("Enter an amount in yuan, for example 50000."))
        else:
            try:
                result = lead_convert(
                    lead=lead, actor=request.user, opportunity_name=form.cleaned_data["opportunity_name"],
                    amount=amount, pipeline=form.cleaned_data["pipeline"],
                )
            except DomainError as exc:
                apply_errors(form, exc)
            else:
                if result.customer_created:
                    messages.success(request, _("Converted: new customer %(c)s and deal created.") % {"c": result.customer})
                else:
                    messages.success(request, _("Converted: the deal was added to the existing customer %(c)s.")
                                     % {"c": result.customer})
                return redirect(result.opportunity)
    return render(request, "deals/convert.html", {"form": form, "lead": lead})


def transfer_page(request, *, record, transfer, success_message):
    """The transfer form for a deal or a customer: only a manager of the owner may use it. Whoever sees the record
    (its owner among them) is told 403, as every page that may be seen but not used: it exists, it is not theirs."""
    require_page(request.user, record, Act.OVERSEE)
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer(new_owner=data["new_owner"], reason=data["reason"], actor=request.user,
                     keep_as_collaborator=data["keep_as_collaborator"])
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, success_message % {"user": data["new_owner"]})
            return redirect(record)
    return render(request, "deals/transfer.html", {"form": form, "record": record})


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_transfer_view(request, pk):
    deal = get_opportunity_for_user(request.user, pk)
    return transfer_page(
        request, record=deal, success_message=_("Deal transferred to %(user)s."),
        transfer=lambda **kwargs: opportunity_transfer(opportunity=deal, **kwargs),
    )
