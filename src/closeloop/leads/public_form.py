"""The rules of every page the public reaches without a login (the web form, a customer's quote, acceptance,
survey and ticket links): the honeypot, the per-IP rate limit, the cap on a post's size and the headers that keep
a keyed page private. The web form's fields are decided here too."""

from django.conf import settings
from django_ratelimit.core import get_usage

from closeloop.core.throttle import client_ip, parse_rate

from .models import CONFIGURABLE_FIELDS, ChannelPolicy

# Always shown, so a visitor can say who they are, how to reach them and what they need; fields an
# admin makes required for the form channel are added to these.
BASE_FIELDS = ["company_name", "contact_name", "title", "mobile", "email", "city", "need"]
CONTACT_FIELDS = ["mobile", "landline", "email", "wechat"]

# A text input hidden from people by CSS. Bots fill every input they find, so a value here means a
# bot: it gets the thank-you page and no lead. It is deliberately not type=hidden, which bots skip.
HONEYPOT_FIELD = "website"


def shown_fields(policy: ChannelPolicy) -> list[str]:
    wanted = set(BASE_FIELDS) | set(policy.required_fields)
    return [name for name in CONFIGURABLE_FIELDS if name in wanted]


def rate_limit_hit(request, *, group: str = "public-form", rate: str | None = None) -> int:
    """Count this submission; return 0 if allowed, else the seconds until the visitor may post again.

    `group` keeps separate counters for separate doors (the web form, the quote link); `rate` defaults to
    CLOSELOOP_PUBLIC_FORM_RATE.

    django-ratelimit counts per visitor address in the shared cache (the database cache by default), so
    every app process counts against the same limit. The database cache's increment is a read and a
    write, so a burst of simultaneous posts may be undercounted by a few; Redis makes it exact. That is
    good enough for a spam brake.
    """
    limit, period = parse_rate(rate or settings.CLOSELOOP_PUBLIC_FORM_RATE, "CLOSELOOP_PUBLIC_FORM_RATE" if rate is None else group)
    usage = get_usage(request, group=group, key=lambda _group, request: client_ip(request),
                      rate=(limit, period), increment=True)
    if usage is None or not usage["should_limit"]:
        return 0
    return max(1, usage["time_left"])


def declared_too_large(request, limit: int | None = None) -> bool:
    """Whether a post declares a body over `limit` (CLOSELOOP_PUBLIC_FORM_MAX_BYTES): refused on its declared
    size, before the body is read (Django's own cap is the site-wide 5 MB)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > (limit or settings.CLOSELOOP_PUBLIC_FORM_MAX_BYTES)


def keep_private(response):
    """Headers for a page whose address holds its only credential (a quote's, a delivery's or a survey's key):
    the key must not leave with a link to another site, be indexed or be cached on the way.

    "same-origin" rather than "no-referrer", which would make the browser post the page's own form with
    `Origin: null` and fail the CSRF check."""
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response
