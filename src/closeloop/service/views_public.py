"""The customer's links: accept a delivery (/d/<key>/) and answer a satisfaction survey (/s/<key>/).

As the quote link: no login, the key (192 random bits) is the only credential, a page shows its one delivery or
survey and nothing else, and is kept private (leads.public_form.keep_private); every request counts against a
per-address limit (CLOSELOOP_PUBLIC_QUOTE_RATE, the customer links' rate), a post larger than the public form's cap
is refused before it is read, and a survey post that fills the honeypot is thanked and dropped. The forms keep
Django's CSRF check: they are posted from the page itself.
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from closeloop.core.errors import Conflict, DomainError, form_errors_from
from closeloop.leads.public_form import HONEYPOT_FIELD, declared_too_large, keep_private, rate_limit_hit

from . import deliveries, surveys
from .forms import PublicAcceptanceForm, PublicSurveyForm
from .models import Delivery, DeliveryStatus, Survey


def refused(request, group: str):
    """The answer to a request a customer link does not take: over the address's rate (429) or too large (413);
    None when it may go on."""
    if retry_after := rate_limit_hit(request, group=group, rate=settings.CLOSELOOP_PUBLIC_QUOTE_RATE):
        response = render(request, "service/public/limited.html", status=429)
        response["Retry-After"] = str(retry_after)
        return response
    if request.method == "POST" and declared_too_large(request, limit=_post_limit(group)):
        return render(request, "service/public/too_large.html", status=413)
    return None


def _post_limit(group: str) -> int | None:
    # The acceptance may carry a signature image (checked in the service), up to 2 MB and the form around it.
    return deliveries.SIGNATURE_MAX_BYTES + 64 * 1024 if group == "delivery-link" else None


@require_http_methods(["GET", "POST"])
def public_acceptance_view(request, key):
    if response := refused(request, "delivery-link"):
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
