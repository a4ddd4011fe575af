"""The customer's acceptance link (/d/<key>/): see what was delivered and accept it (验收) with a name, a phone, a
comment and an optional signature image.

As the quote link: no login, the key (192 random bits) is the only credential, the page shows this delivery and
nothing else, asks robots not to index it, sends no Referer elsewhere, and every request counts against a
per-address limit (CLOSELOOP_PUBLIC_QUOTE_RATE, the customer links' rate). The form keeps Django's CSRF check.
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from closeloop.core.errors import DomainError, form_errors_from
from closeloop.leads.public_form import rate_limit_hit

from . import deliveries
from .forms import PublicAcceptanceForm
from .models import Delivery, DeliveryStatus


def _private(response):
    # "same-origin" rather than "no-referrer", which would make the browser post the form with `Origin: null`.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def public_acceptance_view(request, key):
    if retry_after := rate_limit_hit(request, group="delivery-link", rate=settings.CLOSELOOP_PUBLIC_QUOTE_RATE):
        response = render(request, "service/public/limited.html", status=429)
        response["Retry-After"] = str(retry_after)
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
    return _private(render(request, "service/public/acceptance.html", {
        "delivery": delivery, "milestones": list(delivery.milestones.all()), "form": form,
        "accepted": delivery.status == DeliveryStatus.ACCEPTED,
    }, status=422 if form.errors else 200))
