"""Ticket pages: the list with its SLA timers, raising a ticket for a customer, the ticket with its clocks, status
moves, assignment, replies and notes on its timeline."""

from django import forms
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
from closeloop.core.customfields import indexes, registry
from closeloop.core.customfields.forms import custom_data, own_data, with_custom_fields
from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.exports import export_or_respond
from closeloop.core.pagination import kept_parameters, paginate, query_without_page
from closeloop.deals.models import Customer
from closeloop.deals.selectors import get_customer_for_user
from closeloop.followup.selectors import follow_up_panel

from . import access, sla, surveys, ticket_forms, ticket_search, tickets
from .exports import tickets_export_response
from .forms import AssignForm, ReplyForm, TicketForm
from .models import TicketPriority, TicketStatus
from .selectors import TicketReview, get_survey_for_user, get_ticket_for_user, survey_context, ticket_list

# The dashboard's drill-downs the list's form does not show, kept as hidden fields.
TICKET_REVIEW_PARAMETERS = ("line", "assignee", "opened_from", "opened_to", "resolved_from", "resolved_to", "response",
                            "resolution")


def _listed(request) -> dict:
    """The tickets the list's status (open ones unless told), priority, search, review and `cf.<key>` filters select,
    through the viewer's visibility (the list's pages and its export read the same), with the filters as read and
    the list's custom columns and filters."""
    status = request.GET.get("status", "open")
    status = "" if status == "all" else status  # the dashboard's drill-downs: every status
    q = request.GET.get("q", "").strip()[:100]
    priority = request.GET.get("priority", "")
    mine = request.GET.get("mine") == "1"
    review = TicketReview(**{name: request.GET.get(name, "")[:20] for name in TICKET_REVIEW_PARAMETERS})
    rows, custom_columns, custom_filters = indexes.list_fields(
        ticket_list(user=request.user, status=status, q=q, priority=priority, mine=mine, review=review),
        tickets.TICKET_TARGET, request.user, request.GET)
    return {"rows": rows, "status": status, "q": q, "priority": priority, "mine": mine,
            "custom_columns": custom_columns, "custom_filters": custom_filters}


@login_required
@require_GET
def ticket_list_view(request):
    listed = _listed(request)
    page = paginate(request, listed.pop("rows"))
    now = timezone.now()
    for ticket in page["rows"]:
        ticket.timers = sla.timers(ticket, now)
    # One or two characters are shorter than the index's trigrams: the list says how far such a search looks.
    short_search = 0 < len(listed["q"]) < ticket_search.MIN_LENGTH
    context = {"page": page, **listed, "short_search": short_search, "short_window": ticket_search.SHORT_WINDOW,
               "query": query_without_page(request), "statuses": TicketStatus.choices,
               "priorities": TicketPriority.choices,
               "review_filters": kept_parameters(request, TICKET_REVIEW_PARAMETERS)}
    template = ("service/_ticket_rows.html" if request.htmx and request.htmx.target == "ticket-rows"
                else "service/tickets.html")
    return render(request, template, context)


@login_required
@require_GET
def ticket_export_view(request):
    """The ticket list as an Excel workbook: the same filters (open tickets unless told), the same visibility,
    every row."""
    rows = _listed(request)["rows"]
    return export_or_respond(request, rows, lambda: tickets_export_response(rows, viewer=request.user),
                             label=_("Tickets"))


@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def ticket_create_view(request):
    # The upload guard goes in before anything reads the body (the CSRF check reads it, so it runs after, below).
    guard = documents.guard_uploads(request, limit=tickets.ATTACHMENT_MAX_BYTES, hint=tickets.ATTACHMENT_HINT,
                                    files=tickets.MAX_ATTACHMENTS)
    return _ticket_create(request, guard)


@csrf_protect
def _ticket_create(request, guard):
    customer_id = request.GET.get("customer", "")
    if not customer_id and request.method == "GET":
        return _ticket_customer_pick(request)
    customer = (tickets.ticket_customers(request.user).filter(pk=int(customer_id)).first()
                if customer_id.isdigit() and int(customer_id) < 2**63 else None)
    if customer is None:
        raise Http404
    form = with_custom_fields(TicketForm(request.POST or None, request.FILES or None, customer=customer,
                                         contracts=tickets.ticket_contracts(request.user, customer)),
                              tickets.TICKET_TARGET, request.user)
    if request.method == "POST" and form.is_valid():
        data = own_data(form.cleaned_data)
        data["custom"] = custom_data(form) or {}
        assignee = data.pop("owner", None)
        data.pop("attachments", None)
        try:
            ticket = tickets.ticket_create(customer=customer, data=data, actor=request.user, assignee=assignee,
                                           attachments=request.FILES.getlist("attachments"), guard=guard)
        except DomainError as exc:
            form_errors_from(form, exc, always_message=True)
        else:
            messages.success(request, _("Ticket %(number)s raised.") % {"number": ticket.number})
            return redirect(ticket)
    # Back to the customer's page when the viewer came from it (after-sales service may not see it).
    back = (customer.get_absolute_url() if Customer.objects.visible_to(request.user).filter(pk=customer.pk).exists()
            else reverse("service:tickets"))
    return render(request, "service/ticket_create.html", {"form": form, "customer": customer, "back": back},
                  status=422 if form.errors else 200)


PICK_LIMIT = 20


def _ticket_customer_pick(request):
    """A new ticket from the ticket list: first which customer it is for, found by a part of the name among those
    the viewer may raise tickets for (after-sales service does not see the customers' pages to start from)."""
    q = " ".join(request.GET.get("q", "").split())[:100]
    found = None
    if len(q) >= 2:
        found = list(tickets.ticket_customers(request.user).filter(name__icontains=q).order_by("name", "pk")
                     .only("pk", "name")[:PICK_LIMIT + 1])
    return render(request, "service/ticket_customer_pick.html",
                  {"q": q, "found": (found or [])[:PICK_LIMIT], "searched": found is not None,
                   "more": found is not None and len(found) > PICK_LIMIT})


def _detail(request, ticket, **extra):
    user = request.user
    can_work = access.can_work_ticket(user, ticket)
    context = {
        "ticket": ticket, "timers": sla.timers(ticket), "can_work": can_work,
        "can_assign": access.can_assign_ticket(user), "moves": tickets.MOVES[ticket.status],
        "reply_form": ReplyForm(), "assign_form": AssignForm(initial={"owner": ticket.owner_id}),
        "followup": follow_up_panel(ticket, viewer=user), **survey_context(ticket, show_link=can_work),
        "attachments": list(ticket.attachments.all()),
        "fields_form": extra.pop("fields_form", None) or (
            with_custom_fields(forms.Form(), tickets.TICKET_TARGET, user, ticket)
            if can_work and registry.editable_fields(tickets.TICKET_TARGET, user) else None),
    }
    context.update(extra)
    return context


@login_required
@require_POST
def ticket_fields_view(request, pk):
    """Change a ticket's custom fields (those the person may edit) from its page."""
    ticket = get_ticket_for_user(request.user, pk)
    form = with_custom_fields(forms.Form(request.POST), tickets.TICKET_TARGET, request.user, ticket)
    form.is_valid()
    try:
        tickets.ticket_update(ticket=ticket, data={"custom": custom_data(form) or {}}, actor=request.user)
    except DomainError as exc:
        form_errors_from(form, exc, always_message=True)
        return render(request, "service/ticket.html", _detail(request, ticket, fields_form=form), status=422)
    messages.success(request, _("Ticket saved."))
    return redirect(ticket)


@login_required
@require_GET
def ticket_detail_view(request, pk):
    ticket = get_ticket_for_user(request.user, pk)
    return render(request, "service/ticket.html", _detail(request, ticket))


@login_required
@require_POST
def ticket_status_view(request, pk):
    ticket = get_ticket_for_user(request.user, pk)
    try:
        tickets.ticket_move(ticket=ticket, status=request.POST.get("status", ""), actor=request.user,
                            note=request.POST.get("note", "")[:500])
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect(ticket)


@login_required
@require_POST
def ticket_assign_view(request, pk):
    ticket = get_ticket_for_user(request.user, pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a colleague of the service team."))
        return redirect(ticket)
    try:
        tickets.ticket_assign(ticket=ticket, assignee=form.cleaned_data["owner"], actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect(ticket)


@csrf_exempt
@login_required
@require_POST
def ticket_reply_view(request, pk):
    # As for a new ticket: the upload guard before anything reads the body, the CSRF check after it.
    guard = documents.guard_uploads(request, limit=tickets.ATTACHMENT_MAX_BYTES, hint=tickets.ATTACHMENT_HINT,
                                    files=tickets.MAX_ATTACHMENTS)
    return _ticket_reply(request, pk, guard)


@csrf_protect
def _ticket_reply(request, pk, guard):
    ticket = get_ticket_for_user(request.user, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            tickets.ticket_reply(ticket=ticket, actor=request.user, body=form.cleaned_data["body"],
                                 internal=form.cleaned_data["internal"],
                                 attachments=request.FILES.getlist("attachments"), guard=guard)
        except DomainError as exc:
            form_errors_from(form, exc, always_message=True)
        else:
            messages.success(request, _("Note added.") if form.cleaned_data["internal"] else _("Reply sent."))
            return redirect(ticket)
    return render(request, "service/ticket.html", _detail(request, ticket, reply_form=form), status=422)


@login_required
@require_GET
def ticket_file_view(request, pk, attachment_pk):
    ticket = get_ticket_for_user(request.user, pk)
    attachment = ticket.attachments.filter(pk=attachment_pk).first()
    if attachment is None:
        raise Http404
    return documents.sandboxed_file(attachment.file, content_type=attachment.content_type)


@login_required
@require_POST
def ticket_form_share_view(request, customer_pk):
    customer = get_customer_for_user(request.user, customer_pk)
    renew = request.POST.get("renew") == "1"
    try:
        ticket_forms.ticket_form_share(customer=customer, actor=request.user, renew=renew)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("A new link is ready and the old one no longer works: send the new one to the "
                                    "customer.") if renew else
                         _("The customer's public ticket form is ready: send them the link."))
    return redirect(customer.get_absolute_url() + "#tickets")


@login_required
@require_POST
def survey_resend_view(request, pk):
    """Send a ticket's or delivery's unanswered survey again (the service checks who may)."""
    survey = get_survey_for_user(request.user, pk)
    try:
        surveys.survey_resend(survey=survey, actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Survey sent again."))
    return redirect(survey.get_absolute_url())
