"""Contract pages: the list, a new contract (from an accepted quote or a deal), the contract with its plan,
documents, approval, payments and invoices, and its actions. Views stay thin: read through the selectors,
write through the services, show a service's refusal on the page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closeloop.core.customfields import indexes, registry
from closeloop.core.customfields.forms import custom_data, own_data, with_custom_fields
from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.exports import export_or_respond
from closeloop.core.inputs import date_input
from closeloop.core.money import amount_in_words
from closeloop.core.pagination import kept_parameters, paginate, query_without_page
from closeloop.deals.models import Opportunity, OpportunityStatus
from closeloop.deals.selectors import get_opportunity_for_user
from closeloop.deals.services.opportunities import DEAL_TARGET
from closeloop.followup.rights import Act, allowed
from closeloop.followup.selectors import follow_up_panel
from closeloop.quotes import approvals
from closeloop.quotes.models import Quote
from closeloop.quotes.selectors import get_quote_for_user

from . import access, documents, plans, services
from .exports import contracts_export_response
from .forms import (
    ContractForm,
    InstalmentRowForm,
    InvoiceIssueForm,
    InvoiceRequestForm,
    PaymentForm,
    SignForm,
)
from .models import Contract, ContractStatus, InvoiceStatus, InvoiceType
from .receivables import age_days
from .selectors import (
    ContractFilters,
    awaiting_contract,
    contract_list,
    contract_money,
    get_contract_for_user,
)

PLAN_BLANK_ROWS = 3


# The dashboard's drill-downs: kept as hidden fields by the list's form.
REVIEW_PARAMETERS = ("owner", "pipeline", "source", "signed_from", "signed_to")
DEAL_PREFIX = "deal."  # `deal.cf.<key>`: a filter on the deal's custom field


def _listed(request):
    """The contracts the list's filters, search and `cf.<key>` filters select, through the viewer's visibility (the
    list's pages and its export read the same), with the list's custom columns and filters."""
    get = request.GET
    filters = ContractFilters(q=get.get("q", "").strip()[:100], status=get.get("status", ""), deal=get.get("deal", ""),
                              customer=get.get("customer", ""), owner=get.get("owner", ""),
                              pipeline=get.get("pipeline", ""), source=get.get("source", ""),
                              signed_from=get.get("signed_from", ""), signed_to=get.get("signed_to", ""),
                              deal_custom=tuple(indexes.related_filters(
                                  registry.visible_fields(DEAL_TARGET, request.user), get, DEAL_PREFIX)))
    contracts, custom_columns, custom_filters = indexes.list_fields(contract_list(user=request.user, filters=filters),
                                                    services.CONTRACT_TARGET, request.user, get)
    return filters, contracts, custom_columns, custom_filters


@login_required
@require_GET
def contract_list_view(request):
    filters, contracts, custom_columns, custom_filters = _listed(request)
    page = paginate(request, contracts)
    context = {"page": page, "filters": filters, "query": query_without_page(request), "custom_columns": custom_columns,
               "custom_filters": custom_filters,
               "statuses": ContractStatus.choices, "review_filters": kept_parameters(request, REVIEW_PARAMETERS,
                                                                    prefixes=(DEAL_PREFIX + indexes.QUERY_PREFIX,))}
    template = ("contracts/_list_rows.html" if request.htmx and request.htmx.target == "contract-rows"
                else "contracts/list.html")
    return render(request, template, context)


@login_required
@require_GET
def contract_export_view(request):
    """The contract list as an Excel workbook: the same filters, the same visibility, every row."""
    _filters, contracts, _columns, _offered = _listed(request)
    return export_or_respond(request, contracts, lambda: contracts_export_response(contracts, viewer=request.user),
                             label=_("Contracts"))


def _quotes_awaiting_contract(user):
    """Accepted quotes the user may turn into contracts and that have none yet (the latest 50)."""
    quotes = (awaiting_contract(Quote.objects.visible_to(user))
              .select_related("opportunity", "opportunity__customer", "opportunity__owner", "current_version")
              .order_by("-decided_at", "-id")[:50])
    deals = {deal.pk for deal in allowed(user, {quote.opportunity for quote in quotes}, Act.QUOTE)}
    return [quote for quote in quotes if quote.opportunity_id in deals]


def _create_from_quote(request, quote_pk: str):
    try:
        quote = get_quote_for_user(request.user, int(quote_pk))
    except (Http404, ValueError):
        raise Http404 from None
    form = ContractForm(request.POST or None, amount_fixed=True, initial={
        "title": quote.title, "party_b": quote.opportunity.customer.name, "amount": quote.current_version.total_incl_tax,
        "party_b_contact": quote.current_version.contact_name, "party_b_phone": quote.current_version.contact_phone,
        "payment_terms": quote.current_version.payment_terms})
    form = with_custom_fields(form, services.CONTRACT_TARGET, request.user)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in _data(form).items() if k != "amount"}
        try:
            contract = services.contract_create_from_quote(quote=quote, actor=request.user, data=data)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Contract %(number)s made from the quote. Now set its payment plan.")
                             % {"number": contract.number})
            return redirect("contracts:plan", contract.pk)
    return render(request, "contracts/create.html", {"form": form, "quote": quote, "deal": quote.opportunity})


def _data(form) -> dict:
    """The contract form's values, its custom fields as `custom`."""
    data = own_data(form.cleaned_data)
    if (custom := custom_data(form)) is not None:
        data["custom"] = custom
    return data


def _create_from_deal(request, deal_pk: str):
    try:
        deal = get_opportunity_for_user(request.user, int(deal_pk))
    except (Http404, ValueError):
        raise Http404 from None
    form = ContractForm(request.POST or None, initial={"title": deal.name, "party_b": deal.customer.name,
                                                       "amount": deal.amount or ""})
    form = with_custom_fields(form, services.CONTRACT_TARGET, request.user)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.contract_create_from_deal(opportunity=deal, actor=request.user, data=_data(form))
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Contract %(number)s created. Now set its payment plan.") % {"number": contract.number})
            return redirect("contracts:plan", contract.pk)
    return render(request, "contracts/create.html", {"form": form, "deal": deal})


@login_required
@require_http_methods(["GET", "POST"])
def contract_create_view(request):
    if request.GET.get("quote"):
        return _create_from_quote(request, request.GET["quote"])
    if request.GET.get("deal"):
        return _create_from_deal(request, request.GET["deal"])
    # Who may make a contract is who may quote on the deal (access.can_create_for_deal), asked for the list at once.
    deals = allowed(request.user, Opportunity.objects.visible_to(request.user).exclude(status=OpportunityStatus.LOST)
                    .select_related("customer", "owner").order_by("-updated_at", "-id")[:100], Act.QUOTE)
    return render(request, "contracts/create_start.html", {"quotes": _quotes_awaiting_contract(request.user),
                                                           "deals": deals})


def _instalment_rows(contract: Contract):
    today = timezone.localdate()
    rows = list(contract.instalments.order_by("position", "id"))
    for instalment in rows:
        instalment.age = age_days(instalment, today) if instalment.receivable else 0
    return rows


def _detail_context(request, contract: Contract, **extra) -> dict:
    user = request.user
    rounds = list(approvals.requests_for(services.APPROVAL_KIND, contract.pk))
    pending = next((r for r in rounds if r.status == approvals.ApprovalStatus.PENDING), None)
    step = pending.current_step if pending else None
    can_edit = access.can_edit(user, contract)
    finance = access.is_finance(user)
    context = {
        "contract": contract, "deal": contract.opportunity, "lines": list(contract.lines.all()),
        "instalments": _instalment_rows(contract), "money": contract_money(contract),
        "payments": list(contract.payments.select_related("recorded_by", "voided_by")
                         .prefetch_related("allocations__instalment")),
        "invoices": list(contract.invoice_requests.select_related("requested_by", "decided_by")),
        "documents": list(contract.documents.select_related("uploaded_by")),
        "rounds": rounds, "pending": pending, "may_decide": approvals.may_decide(user, step),
        "reason_text": {r.pk: [approvals.reason_text(r.kind, reason) for reason in r.reasons] for r in rounds},
        "approval_reasons": [approvals.reason_text(services.APPROVAL_KIND, reason) for reason in
                             approvals.approval_reasons(kind=services.APPROVAL_KIND, target=contract)]
        if can_edit and contract.status == ContractStatus.DRAFT else [],
        "plan_problem": plans.plan_problem(contract) if contract.status == ContractStatus.DRAFT else None,
        "can_edit": can_edit, "can_oversee": access.can_oversee(user, contract), "is_finance": finance,
        "can_plan": (can_edit and contract.status == ContractStatus.DRAFT) or (
            (finance or access.can_oversee(user, contract))
            and contract.status in (ContractStatus.APPROVED, ContractStatus.SIGNED, ContractStatus.ACTIVE)),
        "in_words": amount_in_words(contract.amount), "followup": follow_up_panel(contract, viewer=user),
        "sign_form": SignForm(initial={"sign_date": timezone.localdate().isoformat()}),
        "payment_form": PaymentForm(initial={"received_on": timezone.localdate().isoformat()}),
        "invoice_form": InvoiceRequestForm(initial={"buyer_name": contract.party_b, "invoice_type": InvoiceType.SPECIAL}),
        "issue_form": InvoiceIssueForm(initial={"issued_on": timezone.localdate().isoformat()}),
        "InvoiceStatus": InvoiceStatus, "S": ContractStatus, "today": timezone.localdate(),
        # The service app records acceptance with its deliveries; without one, the contract's people or finance do.
        "may_deliver": contract.delivered_at is None and (can_edit or finance) and not services.acceptance_by_delivery()
        and contract.status in (ContractStatus.SIGNED, ContractStatus.ACTIVE),
    }
    context.update(extra)
    return context


@login_required
@require_GET
def contract_detail_view(request, pk):
    contract = get_contract_for_user(request.user, pk)
    return render(request, "contracts/detail.html", _detail_context(request, contract))


@login_required
@require_http_methods(["GET", "POST"])
def contract_edit_view(request, pk):
    contract = get_contract_for_user(request.user, pk)
    if not access.can_edit(request.user, contract):
        raise Http404
    fixed = contract.lines.exists()
    initial = {name: getattr(contract, name) for name in ("title", "amount", "party_a", "party_b", "party_b_contact",
                                                          "party_b_phone", "payment_terms", "notes")}
    initial.update({name: getattr(contract, name).isoformat() if getattr(contract, name) else ""
                    for name in ("start_date", "end_date")})
    form = with_custom_fields(ContractForm(request.POST or None, initial=initial, amount_fixed=fixed),
                              services.CONTRACT_TARGET, request.user, contract)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in _data(form).items() if not (fixed and k == "amount")}
        try:
            services.contract_update(contract=contract, data=data, actor=request.user)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Contract saved."))
            return redirect(contract)
    return render(request, "contracts/edit.html", {"form": form, "contract": contract})


def _plan_forms(contract: Contract, data=None) -> list[InstalmentRowForm]:
    if data is not None:
        count = int(data.get("rows", "0")) if str(data.get("rows", "0")).isdigit() else 0
        return [InstalmentRowForm(data, prefix=f"i{n}") for n in range(min(count, plans.MAX_INSTALMENTS))]
    forms = []
    for n, instalment in enumerate(contract.instalments.order_by("position", "id")):
        forms.append(InstalmentRowForm(prefix=f"i{n}", initial={
            "id": instalment.pk, "title": instalment.title, "condition": instalment.condition,
            "days_after": instalment.days_after, "due_date": instalment.due_date.isoformat()
            if instalment.due_date and instalment.condition == "on_date" else "",
            "percentage": f"{instalment.percentage.normalize():f}" if instalment.percentage is not None else "",
            "amount": "" if instalment.percentage is not None else f"{instalment.amount:f}"}))
    for n in range(len(forms), len(forms) + PLAN_BLANK_ROWS):
        forms.append(InstalmentRowForm(prefix=f"i{n}", initial={"condition": "on_date", "days_after": "0"}))
    return forms


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit_view(request, pk):
    contract = get_contract_for_user(request.user, pk)
    errors = []
    if request.method == "POST":
        forms = _plan_forms(contract, request.POST)
        rows = [{name: request.POST.get(form.add_prefix(name), "") for name in form.fields} for form in forms]
        try:
            plans.payment_plan_save(contract=contract, instalments=rows, actor=request.user)
        except DomainError as exc:
            errors = exc.field_errors.get("instalments") or [exc.message]
        else:
            messages.success(request, _("Payment plan saved."))
            return redirect(contract)
    else:
        forms = _plan_forms(contract)
    return render(request, "contracts/plan.html", {"contract": contract, "forms": forms, "errors": errors,
                                                   "rows": len(forms)})


def _deliver(request, contract):
    services.contract_delivery_record(
        contract=contract, actor=request.user,
        accepted_on=date_input(request.POST.get("accepted_on") or None, "accepted_on") or timezone.localdate())
    return contract


ACTIONS = {
    "submit": lambda request, contract: services.contract_submit(contract=contract, actor=request.user,
                                                                 note=request.POST.get("note", "")),
    "withdraw": lambda request, contract: services.contract_withdraw(contract=contract, actor=request.user),
    "reopen": lambda request, contract: services.contract_reopen(contract=contract, actor=request.user,
                                                                 reason=request.POST.get("reason", "")),
    "start": lambda request, contract: services.contract_start(contract=contract, actor=request.user),
    "complete": lambda request, contract: services.contract_complete(contract=contract, actor=request.user,
                                                                     note=request.POST.get("note", "")),
    "deliver": _deliver,
    "terminate": lambda request, contract: services.contract_terminate(contract=contract, actor=request.user,
                                                                       reason=request.POST.get("reason", "")),
}
DONE = {
    "submit": _("Submitted."), "withdraw": _("Taken back from approval; it is a draft again."),
    "reopen": _("Returned to draft."), "start": _("The contract is in performance."),
    "complete": _("The contract is completed."), "deliver": _("Delivery acceptance recorded."), "terminate": _("The contract is terminated."),
}


@login_required
@require_POST
def contract_action_view(request, pk, action):
    contract = get_contract_for_user(request.user, pk)
    if action not in ACTIONS:
        raise Http404
    try:
        contract = ACTIONS[action](request, contract)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        message = DONE[action]
        if action == "submit":
            message = (_("Approved at once: no approval rule applies.") if contract.status == ContractStatus.APPROVED
                       else _("Submitted for approval; the approvers are notified."))
        messages.success(request, message)
    return redirect(contract)


@csrf_exempt
@login_required
@require_POST
def document_upload_view(request, pk):
    # The guard goes in before anything reads the body (the CSRF check reads it, so it runs after, below).
    guard = documents.guard_uploads(request)
    return _document_upload(request, pk, guard)


@csrf_protect
def _document_upload(request, pk, guard):
    contract = get_contract_for_user(request.user, pk)
    sign = request.POST.get("sign") == "1"
    try:
        sign_date = request.POST.get("sign_date") or None
        documents.document_upload(contract=contract, upload=request.FILES.get("file"), actor=request.user, sign=sign,
                                  sign_date=date_input(sign_date, "sign_date"), guard=guard)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Signed copy kept; the contract is signed.") if sign else _("Document kept."))
    return redirect(contract)


@login_required
@require_GET
def document_view(request, pk, document_pk):
    contract = get_contract_for_user(request.user, pk)
    document = contract.documents.filter(pk=document_pk).first()
    if document is None:
        raise Http404
    return documents.sandboxed_file(document.file, content_type=document.content_type, filename=document.original_name,
                                    download=request.GET.get("download") == "1")
