"""The public web form (channel "form"): no login, embeddable in a company's own website.

Security model, since these views drop two of Django's default protections on purpose:
- Framing: the form is made to live in an `<iframe>` on the customer's site, so only these views
  are exempt from X-Frame-Options; every other page keeps DENY. They hold no session and show
  nothing but a blank form and a thank-you, so there is nothing to clickjack.
- CSRF: the form is posted cross-site, from the iframe or from a plain `<form action=...>` on the
  customer's own pages, which can never carry our CSRF token. CSRF protects a logged-in user's
  session from being used by another site; this view uses no session and acts as nobody
  (actor=None), so there is no session to ride. What it needs instead is protection from bots and
  floods: a honeypot field and a per-IP rate limit.
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from closeloop.core.customfields import registry
from closeloop.core.customfields.forms import add_record_fields, submitted
from closeloop.core.errors import DomainError, form_errors_from
from closeloop.core.models import Channel

from .forms import PublicLeadForm
from .models import CONFIGURABLE_FIELDS, Campaign, Lead
from .public_form import HONEYPOT_FIELD, declared_too_large, rate_limit_hit, shown_fields
from .services.intake import LEAD_TARGET, channel_policy, lead_submit


def _active_campaign(form_key: str) -> Campaign:
    campaign = Campaign.objects.select_related("source").filter(form_key=form_key, active=True).first()
    if campaign is None:
        raise Http404
    return campaign


# The site-wide policy with any site allowed to frame the form.
PUBLIC_FORM_CSP = {**settings.SECURE_CSP, "frame-ancestors": ["*"]}


@csrf_exempt
@xframe_options_exempt
@csp_override(PUBLIC_FORM_CSP)
@require_http_methods(["GET", "POST"])
def public_form_view(request, form_key):
    campaign = _active_campaign(form_key)
    if request.method == "POST" and declared_too_large(request):
        return render(request, "leads/public/too_large.html", {"campaign": campaign}, status=413)
    policy = channel_policy(Channel.FORM)
    field_names = shown_fields(policy)
    required = set(policy.required_fields)
    form = PublicLeadForm(request.POST if request.method == "POST" else None, field_names=field_names,
                          required=required)
    custom_fields = registry.public_fields(LEAD_TARGET)
    add_record_fields(form, custom_fields, creating=True, required_channel=Channel.FORM)
    if request.method == "POST":
        retry_after = rate_limit_hit(request)
        if retry_after:
            response = render(request, "leads/public/limited.html", {"campaign": campaign}, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        if request.POST.get(HONEYPOT_FIELD):
            return redirect("public_form_thanks", form_key=campaign.form_key)
        # Every configurable field is accepted, not only the shown ones: a plain HTML form on the
        # customer's site may ask for more. The campaign, not the visitor, decides the source.
        data = {name: request.POST.get(name, "") for name in CONFIGURABLE_FIELDS}
        data["custom"] = submitted(request.POST, custom_fields)
        try:
            lead_submit(data=data, channel=Channel.FORM, actor=None, campaign=campaign)
        except DomainError as exc:
            form.is_valid()  # every field is optional text, so this only parses; add_error needs it done
            # A field the customer's own HTML form sent but this page does not show is named in the message.
            form_errors_from(form, exc, label=_field_label)
        else:
            return redirect("public_form_thanks", form_key=campaign.form_key)
    context = {
        "campaign": campaign, "form": form, "honeypot": HONEYPOT_FIELD,
        "contact_required": policy.require_contact_method,
    }
    return render(request, "leads/public/form.html", context)


def _field_label(name: str) -> str:
    return capfirst(Lead._meta.get_field(name).verbose_name) if name in CONFIGURABLE_FIELDS else name


@xframe_options_exempt
@csp_override(PUBLIC_FORM_CSP)
@require_GET
def public_form_thanks_view(request, form_key):
    campaign = _active_campaign(form_key)
    return render(request, "leads/public/thanks.html", {"campaign": campaign})
