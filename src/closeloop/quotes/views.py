"""Quote pages: the list, a new quote, the quote with its versions, lines, approvals and actions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closeloop.core.audit import audit_trail
from closeloop.core.customfields import indexes, registry
from closeloop.core.customfields.forms import custom_data, own_data, with_custom_fields
from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.exports import export_or_respond
from closeloop.core.models import AuditEntry
from closeloop.core.money import amount_in_words
from closeloop.core.notify import absolute_url
from closeloop.core.pagination import kept_parameters, paginate, query_without_page
from closeloop.deals.models import Opportunity, OpportunityStatus
from closeloop.deals.selectors import get_opportunity_for_user
from closeloop.deals.services.opportunities import DEAL_TARGET
from closeloop.followup.rights import Act, allowed, may
from closeloop.followup.timeline import AUDIT, TEMPLATES, TimelineEntry

from . import approvals, services
from .actions import QuoteAction
from .catalog import quote_settings, tax_rates
from .exports import quotes_export_response
from .forms import LineForm, QuoteCreateForm, QuoteTermsForm
from .models import Product, QuoteStatus, QuoteTemplate
from .pdf import pdf_filename, quote_pdf
from .selectors import (
    QuoteFilters,
    get_line_for_user,
    get_quote_for_user,
    get_version,
    price_history,
    quote_list,
    version_lines,
)

# The dashboard's drill-downs: kept as hidden fields by the list's form.
REVIEW_PARAMETERS = ("owner", "pipeline", "source", "event", "from", "to")
DEAL_PREFIX = "deal."  # `deal.cf.<key>`: a filter on the deal's custom field


def _listed(request):
    """The quotes the list's filters, search and `cf.<key>` filters select, through the viewer's visibility (the
    list's pages and its export read the same), with the list's custom columns and filters."""
    get = request.GET
    filters = QuoteFilters(q=get.get("q", "").strip()[:100], status=get.get("status", ""), deal=get.get("deal", ""),
                           owner=get.get("owner", ""), pipeline=get.get("pipeline", ""), source=get.get("source", ""),
                           event=get.get("event", ""), start=get.get("from", ""), end=get.get("to", ""),
                           deal_custom=tuple(indexes.related_filters(registry.visible_fields(DEAL_TARGET, request.user),
                                                                     get, DEAL_PREFIX)))
    quotes, custom_columns, custom_filters = indexes.list_fields(
        quote_list(user=request.user, filters=filters), services.QUOTE_TARGET, request.user, get)
    return filters, quotes, custom_columns, custom_filters


@login_required
@require_GET
def quote_list_view(request):
    filters, quotes, custom_columns, custom_filters = _listed(request)
    page = paginate(request, quotes)
    context = {"page": page, "filters": filters, "query": query_without_page(request), "statuses": QuoteStatus.choices,
               "custom_columns": custom_columns, "custom_filters": custom_filters,
               "review_filters": kept_parameters(request, REVIEW_PARAMETERS,
                                                 prefixes=(DEAL_PREFIX + indexes.QUERY_PREFIX,))}
    template = "quotes/_list_rows.html" if request.htmx and request.htmx.target == "quote-rows" else "quotes/list.html"
    return render(request, template, context)


@login_required
@require_GET
def quote_export_view(request):
    """The quote list as an Excel workbook: the same filters, the same visibility, every row."""
    _filters, quotes, _columns, _offered = _listed(request)
    return export_or_respond(request, quotes, lambda: quotes_export_response(quotes, viewer=request.user),
                             label=_("Quotes"))


def _quotable_deals(user, selected: int | None):
    """Open and won deals the user may quote on (the latest 200), and the one asked for in any case."""
    deals = (Opportunity.objects.visible_to(user).exclude(status=OpportunityStatus.LOST).select_related("customer", "owner")
             .order_by("-updated_at", "-id"))
    result = allowed(user, deals[:200], Act.QUOTE)
    if selected and selected not in {deal.pk for deal in result}:
        try:
            deal = get_opportunity_for_user(user, selected)
        except Http404:
            return result
        if may(user, deal, Act.QUOTE) and deal.status != OpportunityStatus.LOST:
            result.insert(0, deal)
    return result


@login_required
@require_http_methods(["GET", "POST"])
def quote_create_view(request):
    selected = request.GET.get("deal", "")
    deals = _quotable_deals(request.user, int(selected) if selected.isdigit() else None)
    form = with_custom_fields(QuoteCreateForm(request.POST or None, deals=deals, initial={"opportunity": selected}),
                              services.QUOTE_TARGET, request.user)
    if request.method == "POST" and form.is_valid():
        deal = get_opportunity_for_user(request.user, form.cleaned_data["opportunity"])
        try:
            quote = services.quote_create(opportunity=deal, actor=request.user, title=form.cleaned_data["title"],
                                          template=form.cleaned_data["template"], custom=custom_data(form) or {})
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Quote %(number)s created. Add its lines below.") % {"number": quote.number})
            return redirect(quote)
    # Cancel goes back where the quote was started: the deal's page, else the quotes.
    back = next((deal.get_absolute_url() for deal in deals if str(deal.pk) == selected), reverse("quotes:list"))
    return render(request, "quotes/create.html", {"form": form, "has_deals": bool(deals), "back": back,
                                                  "templates": QuoteTemplate.objects.filter(active=True)})


def _detail_context(request, quote, version, *, line_form=None, editing=None, terms_form=None):
    user = request.user
    can_edit = may(user, quote.opportunity, Act.QUOTE)
    current = version.pk == quote.current_version_id
    editable = can_edit and current and quote.is_editable
    lines = list(version_lines(version))
    if editable and line_form is None:
        line = editing
        initial = {"quantity": "1", "discount_pct": "0"}
        if line is not None:
            initial = {"product": line.product_id or "", "name": line.name, "description": line.description,
                       "unit": line.unit, "quantity": f"{line.quantity:f}", "unit_price": f"{line.unit_price:f}",
                       "discount_pct": f"{line.discount_pct:f}", "tax_rate": f"{line.tax_rate:f}",
                       "unit_cost": f"{line.unit_cost:f}" if line.unit_cost is not None else ""}
        line_form = LineForm(initial=initial, tax_rates=tax_rates())
    if line_form is not None:
        # Choosing a product shows its price history beside the editor.
        line_form.fields["product"].widget.attrs.update({
            "hx-get": reverse("quotes:price_history", args=[quote.pk]), "hx-trigger": "change",
            "hx-target": "#price-history", "hx-swap": "innerHTML"})
    if editable and terms_form is None:
        terms_form = with_custom_fields(QuoteTermsForm(initial={
            "title": quote.title, "valid_until": version.valid_until.isoformat(), "contact_name": version.contact_name,
            "contact_phone": version.contact_phone, "payment_terms": version.payment_terms, "notes": version.notes}),
            services.QUOTE_TARGET, user, quote)
    # Who answered: the customer on the quote's link (no actor), or a person of ours who recorded their answer.
    decision = (AuditEntry.objects.for_object(quote).filter(action__in=[QuoteAction.QUOTE_ACCEPT, QuoteAction.QUOTE_DECLINE])
                .select_related("actor").first() if quote.decided_at else None)
    rounds = list(approvals.requests_for(services.APPROVAL_KIND, quote.pk))
    pending = next((r for r in rounds if r.status == approvals.ApprovalStatus.PENDING), None)
    step = pending.current_step if pending else None
    return {
        "quote": quote, "deal": quote.opportunity, "version": version, "versions": list(quote.versions.order_by("number")),
        "lines": lines, "current": current, "can_edit": can_edit, "editable": editable, "line_form": line_form,
        "editing": editing, "terms_form": terms_form, "rounds": rounds, "pending": pending, "step": step,
        "may_decide": approvals.may_decide(user, step),
        "decided_on_link": decision is not None and decision.actor_id is None,
        "decision_recorder": decision.actor if decision is not None else None,
        # The service names the recorder when the customer's name was not given: then say only that.
        "decided_unnamed": decision is not None and decision.actor_id is not None
        and quote.decided_by_name in ("", str(decision.actor)),
        "reason_text": {r.pk: [approvals.reason_text(r.kind, reason) for reason in r.reasons] for r in rounds},
        "lines_without_cost": sum(1 for line in lines if line.unit_cost is None),
        "approval_reasons": [approvals.reason_text(services.APPROVAL_KIND, reason) for reason in
                             approvals.approval_reasons(kind=services.APPROVAL_KIND, target=quote)]
        if editable and quote.status in (QuoteStatus.DRAFT, QuoteStatus.REJECTED) else [],
        "in_words": amount_in_words(version.total_incl_tax),
        "public_url": absolute_url(reverse("quote_public", args=[quote.public_key]))
        if quote.status in (QuoteStatus.SENT, QuoteStatus.ACCEPTED, QuoteStatus.DECLINED) else "",
        # The quote's trail in the family's timeline layout (the page reads `followup.timeline`).
        "followup": {"timeline": [TimelineEntry(e.created_at, AUDIT, e, TEMPLATES[AUDIT])
                                  for e in audit_trail(quote)[:100]] if can_edit or user.is_admin else []},
    }


@login_required
@require_GET
def quote_detail_view(request, pk, number=None):
    quote = get_quote_for_user(request.user, pk)
    version = get_version(quote, number)
    editing = None
    if request.GET.get("edit", "").isdigit():
        editing = version.lines.filter(pk=int(request.GET["edit"])).first()
    context = _detail_context(request, quote, version, editing=editing)
    if request.htmx and request.htmx.target == "line-area":
        return render(request, "quotes/_line_area.html", context)
    return render(request, "quotes/detail.html", context)


def _back_to_lines(request, quote, *, line_form=None, editing=None, status=200):
    """After a line change: the lines, totals and a fresh editor as one partial for HTMX, else the page."""
    quote = get_quote_for_user(request.user, quote.pk)
    if request.htmx:
        context = _detail_context(request, quote, quote.current_version, line_form=line_form, editing=editing)
        return render(request, "quotes/_line_area.html", context, status=status)
    if line_form is not None:
        context = _detail_context(request, quote, quote.current_version, line_form=line_form, editing=editing)
        return render(request, "quotes/detail.html", context, status=status)
    return redirect(f"{quote.get_absolute_url()}#lines")


def _line_data(form) -> dict:
    """What the person typed, for the service to parse; fields left empty that mean "take the product's" are dropped."""
    data = {name: form.data.get(name, "") for name in form.fields if name in form.data}
    for name in ("unit_price", "tax_rate", "name", "unit"):
        if data.get(name, "") == "":
            data.pop(name, None)
    return data


@login_required
@require_POST
def line_save_view(request, pk, line_pk=None):
    quote = get_quote_for_user(request.user, pk)
    line = get_line_for_user(request.user, pk, line_pk) if line_pk else None
    form = LineForm(request.POST, tax_rates=tax_rates())
    form.is_valid()
    data = _line_data(form)
    try:
        if line is None:
            services.quote_line_add(quote=quote, actor=request.user, data=data)
        else:
            if line.product_id and str(line.product_id) == data.get("product", ""):
                data.pop("product")  # the same product: keep what was typed over its defaults
            services.quote_line_update(line=line, actor=request.user, data=data)
    except DomainError as exc:
        if not exc.field_errors:
            messages.error(request, exc.message)
            return _back_to_lines(request, quote)
        form_errors_from(form, exc)
        return _back_to_lines(request, quote, line_form=form, editing=line, status=422 if request.htmx else 200)
    return _back_to_lines(request, quote)


@login_required
@require_POST
def line_remove_view(request, pk, line_pk):
    quote = get_quote_for_user(request.user, pk)
    line = get_line_for_user(request.user, pk, line_pk)
    try:
        services.quote_line_remove(line=line, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back_to_lines(request, quote)


@login_required
@require_POST
def quote_terms_view(request, pk):
    quote = get_quote_for_user(request.user, pk)
    form = with_custom_fields(QuoteTermsForm(request.POST), services.QUOTE_TARGET, request.user, quote)
    if form.is_valid():
        data = own_data(form.cleaned_data)
        if (custom := custom_data(form)) is not None:
            data["custom"] = custom
        try:
            services.quote_update(quote=quote, actor=request.user, data=data)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Quote terms saved."))
            return redirect(quote)
    context = _detail_context(request, quote, quote.current_version, terms_form=form)
    return render(request, "quotes/detail.html", context)


@login_required
@require_POST
def quote_action_view(request, pk, action):
    """The buttons of a quote: submit, withdraw, send, revise, and the rep recording the customer's answer."""
    quote = get_quote_for_user(request.user, pk)
    user = request.user
    note = request.POST.get("note", "")
    try:
        if action == "submit":
            quote = services.quote_submit(quote=quote, actor=user, note=note)
            message = (_("Submitted for approval; the approvers have been told.")
                       if quote.status == QuoteStatus.PENDING_APPROVAL else
                       _("No approval is needed: the quote is ready to send."))
        elif action == "withdraw":
            services.quote_withdraw(quote=quote, actor=user)
            message = _("Withdrawn from approval; you can change the quote now.")
        elif action == "send":
            services.quote_send(quote=quote, actor=user)
            message = _("Marked as sent. This version is frozen; share the customer link or the PDF.")
        elif action == "revise":
            quote = services.quote_revise(quote=quote, actor=user)
            message = _("Version %(n)d made from the sent one; change it and send it again.") % {
                "n": quote.current_version.number}
        elif action in ("accept", "decline"):
            decision = services.quote_decide(quote=quote, accept=action == "accept", actor=user, note=note,
                                             name=request.POST.get("name", ""), phone=request.POST.get("phone", ""))
            message = _("Recorded as accepted.") if action == "accept" else _("Recorded as declined.")
            if decision.refused:
                messages.warning(request, _("The deal stays in its stage: %(why)s") % {"why": decision.refused})
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, message)
    return redirect(quote)


@login_required
@require_GET
def price_history_view(request, pk):
    """The price history panel for the product chosen in a line editor (an HTMX partial, or a page of its own)."""
    quote = get_quote_for_user(request.user, pk)
    product_id = request.GET.get("product", "")
    product = Product.objects.filter(pk=int(product_id)).first() if product_id.isdigit() else None
    history = None
    if product is not None:
        history = price_history(user=request.user, product=product, customer_id=quote.opportunity.customer_id,
                                prices_include_tax=quote.current_version.prices_include_tax)
    template = "quotes/_price_history.html" if request.htmx else "quotes/price_history.html"
    return render(request, template, {"quote": quote, "product": product, "history": history})


@login_required
@require_GET
def quote_pdf_view(request, pk):
    quote = get_quote_for_user(request.user, pk)
    number = request.GET.get("v", "")
    version = get_version(quote, int(number) if number.isdigit() else None)
    response = HttpResponse(quote_pdf(version), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(version)}"'
    return response


@login_required
@require_GET
def logo_view(request):
    """The company logo for the settings page (media files are not served in production)."""
    settings = quote_settings()
    if not settings.logo:
        raise Http404
    try:
        handle = settings.logo.open("rb")
    except OSError:
        raise Http404 from None
    return FileResponse(handle, content_type="image/png" if settings.logo.name.endswith(".png") else "image/jpeg")
