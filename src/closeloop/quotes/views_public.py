"""The customer's quote link (/q/<key>/): read the sent quote, download its PDF, accept or decline it.

No login and no session: the key in the address (192 random bits) is the only credential, so the page shows
that one quote and nothing else of the deal, asks robots not to index it, sends no Referer to other sites, and every
request counts against a per-address limit (CLOSELOOP_PUBLIC_QUOTE_RATE). Forms keep Django's CSRF check:
they are posted from this page, never from another site.
"""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from closeloop.core.errors import DomainError, form_errors_from
from closeloop.core.models import Channel
from closeloop.core.money import amount_in_words
from closeloop.leads.public_form import keep_private, rate_limit_hit

from . import services
from .catalog import quote_settings
from .forms import DecisionForm
from .models import Quote, QuoteStatus
from .pdf import pdf_filename, quote_pdf
from .selectors import version_lines

PUBLIC_STATUSES = [QuoteStatus.SENT, QuoteStatus.ACCEPTED, QuoteStatus.DECLINED]


def _limited(request):
    retry_after = rate_limit_hit(request, group="quote-link", rate=settings.CLOSELOOP_PUBLIC_QUOTE_RATE)
    if not retry_after:
        return None
    response = render(request, "quotes/public/limited.html", status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _quote(key: str) -> Quote:
    # A quote not sent yet (or back in draft as a new version) has nothing to show the customer.
    quote = (Quote.objects.select_related("opportunity__customer", "opportunity__owner", "current_version")
             .filter(public_key=key, status__in=PUBLIC_STATUSES).first())
    if quote is None:
        raise Http404
    return quote


@require_http_methods(["GET", "POST"])
def public_quote_view(request, key):
    if limited := _limited(request):
        return limited
    quote = _quote(key)
    form = DecisionForm(request.POST or None)
    answer = request.POST.get("answer")
    if request.method == "POST" and answer in ("accept", "decline"):
        form.is_valid()
        try:
            services.quote_decide(quote=quote, accept=answer == "accept", actor=None, channel=Channel.FORM,
                                  name=request.POST.get("name", ""), phone=request.POST.get("phone", ""),
                                  note=request.POST.get("note", ""))
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            return redirect("quote_public", key=key)
    version = quote.current_version
    return keep_private(render(request, "quotes/public/quote.html", {
        "quote": quote, "version": version, "lines": list(version_lines(version)), "form": form,
        "customer": quote.opportunity.customer, "owner": quote.opportunity.owner, "settings": quote_settings(),
        "in_words": amount_in_words(version.total_incl_tax),
        "expired": quote.status == QuoteStatus.SENT and version.valid_until < timezone.localdate(),
    }, status=422 if form.errors else 200))


@require_GET
def public_quote_pdf_view(request, key):
    if limited := _limited(request):
        return limited
    quote = _quote(key)
    version = quote.current_version
    version.quote = quote
    response = HttpResponse(quote_pdf(version), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(version)}"'
    return keep_private(response)
