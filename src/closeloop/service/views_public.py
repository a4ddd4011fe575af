"""The customer's links: accept a delivery (/d/<key>/), answer a satisfaction survey (/s/<key>/) and raise a ticket
on the customer's public ticket form (/t/<key>/).

As the quote link: no login, the key (192 random bits) is the only credential, a page shows its one delivery or
survey and nothing else, and is kept private (leads.public_form.keep_private); every request counts against a
per-address limit (CLOSELOOP_PUBLIC_QUOTE_RATE, the customer links' rate; the ticket form's posts count against the
public web form's, as the web form's do), a post larger than its page takes is refused before it is read, and a survey or ticket post that fills
the honeypot is thanked and dropped. The forms keep Django's CSRF check: they are posted from the page itself. The
ticket form's files are checked as they arrive (contracts.documents' upload guard: magic bytes, size).
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from closeloop.contracts import documents
from closeloop.core.customfields import registry
from closeloop.core.customfields.forms import add_record_fields, submitted
from closeloop.core.errors import Conflict, DomainError, form_errors_from
from closeloop.core.models import Channel
from closeloop.leads.public_form import HONEYPOT_FIELD, declared_too_large, keep_private, rate_limit_hit

from . import deliveries, surveys, ticket_forms, tickets
from .forms import PublicAcceptanceForm, PublicSurveyForm, PublicTicketForm
from .models import Delivery, DeliveryStatus, Survey, Ticket, TicketFormLink


def refused(request, group: str, *, rate: str | None = None, limit: int | None = None, posts_only: bool = False):
    """The answer to a request a customer link does not take: over the address's rate (429) or declaring a body
    over `limit` (413; the public form's cap by default); None when it may go on. `posts_only`: only submissions
    count (a form a whole office may open, as the web form)."""
    counted = request.method == "POST" or not posts_only
    if counted and (retry_after := rate_limit_hit(request, group=group,
                                                  rate=rate or settings.CLOSELOOP_PUBLIC_QUOTE_RATE)):
        response = render(request, "service/public/limited.html", status=429)
        response["Retry-After"] = str(retry_after)
        return response
    if request.method == "POST" and declared_too_large(request, limit=limit):
        return render(request, "service/public/too_large.html", status=413)
    return None


@require_http_methods(["GET", "POST"])
def public_acceptance_view(request, key):
    # The acceptance may carry a signature image (checked in the service), up to 2 MB, and the form around it.
    if response := refused(request, "delivery-link", limit=deliveries.SIGNATURE_MAX_BYTES + documents.FORM_SLACK):
        return response
    delivery = (Delivery.objects.select_related("contract", "customer", "owner").filter(public_key=key).first())
    if delivery is None:
        raise Http404
    form = PublicAcceptanceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and delivery.status == DeliveryStatus.IN_PROGRESS:
        form.is_valid()
        try:
            deliveries.delivery_accept_by_link(
                delivery=delivery, name=request.POST.get("name", ""), phone=request.POST.get("phone", ""),
                comment=request.POST.get("comment", ""), signature=request.FILES.get("signature"))
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            return redirect("delivery_public", key=key)
    return keep_private(render(request, "service/public/acceptance.html", {
        "delivery": delivery, "milestones": list(delivery.milestones.all()), "form": form,
        "accepted": delivery.status == DeliveryStatus.ACCEPTED,
    }, status=422 if form.errors else 200))


@require_http_methods(["GET", "POST"])
def public_survey_view(request, key):
    if response := refused(request, "survey-link"):
        return response
    survey = Survey.objects.select_related("customer", "ticket", "delivery").filter(key=key).first()
    if survey is None:
        raise Http404
    form = PublicSurveyForm(request.POST or None)
    status, already = 200, False
    if request.method == "POST":
        if request.POST.get(HONEYPOT_FIELD):
            # A bot: it sees the thank-you page, the survey stays open for the customer.
            return keep_private(render(request, "service/public/survey.html", {"survey": survey, "thanks": True}))
        form.is_valid()
        try:
            surveys.survey_answer(survey=survey, csat=request.POST.get("csat"), nps=request.POST.get("nps"),
                                  comment=request.POST.get("comment", ""))
        except Conflict as exc:
            # Answered a moment ago (another tab, a double click) or expired: say so instead of counting it twice.
            already, status = exc.code == "survey_answered", 409
        except DomainError as exc:
            form_errors_from(form, exc)
            status = 422
        else:
            return redirect("survey_public", key=key)
    return keep_private(render(request, "service/public/survey.html", {
        "survey": survey, "form": form, "honeypot": HONEYPOT_FIELD, "already": already,
        "thanks": survey.answered_at is not None and not already, "expired": survey.expired,
    }, status=status))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def public_ticket_form_view(request, key):
    # Counted and size-checked on the headers alone; then the upload guard goes in before anything reads the body.
    # The CSRF check reads the body, so it runs after both (below).
    if response := refused(request, "ticket-form", rate=settings.CLOSELOOP_PUBLIC_FORM_RATE, posts_only=True,
                           limit=tickets.ATTACHMENT_MAX_BYTES * tickets.MAX_ATTACHMENTS + documents.FORM_SLACK):
        return response
    guard = documents.guard_uploads(request, limit=tickets.ATTACHMENT_MAX_BYTES, hint=tickets.ATTACHMENT_HINT,
                                    files=tickets.MAX_ATTACHMENTS)
    return _public_ticket_form(request, key, guard)


@csrf_protect
def _public_ticket_form(request, key, guard):
    link = TicketFormLink.objects.select_related("customer").filter(key=key).first()
    if link is None:
        raise Http404
    form = PublicTicketForm(request.POST or None, request.FILES or None)
    # The custom fields an administrator put on the public form (自定义字段, “on the public web form”).
    custom_fields = registry.public_fields(tickets.TICKET_TARGET)
    add_record_fields(form, custom_fields, creating=True, required_channel=Channel.FORM)
    if request.method == "POST":
        if request.POST.get(HONEYPOT_FIELD):
            return keep_private(render(request, "service/public/ticket_thanks.html", {"link": link}))
        form.is_valid()
        data = {name: request.POST.get(name, "") for name in form.fields
                if name != "attachments" and not hasattr(form.fields[name], "custom_field")}
        data["custom"] = submitted(request.POST, custom_fields)
        try:
            ticket = ticket_forms.ticket_submit_public(link=link, data=data, guard=guard,
                                                       attachments=request.FILES.getlist("attachments"))
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            return redirect("ticket_form_thanks", key=key, number=ticket.number)
    return keep_private(render(request, "service/public/ticket_form.html", {
        "link": link, "form": form, "honeypot": HONEYPOT_FIELD}, status=422 if form.errors else 200))


@require_GET
def public_ticket_thanks_view(request, key, number):
    link = TicketFormLink.objects.select_related("customer").filter(key=key).first()
    # Only a ticket this form raised: the key does not read the customer's other tickets.
    ticket = (Ticket.objects.filter(customer_id=link.customer_id, number=number[:20], channel=Channel.FORM)
              .only("number", "created_at").first() if link is not None else None)
    if ticket is None:
        raise Http404
    return keep_private(render(request, "service/public/ticket_thanks.html", {"link": link, "ticket": ticket}))
