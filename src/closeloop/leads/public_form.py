"""The public web form's rules: which fields it shows, its honeypot, and its per-IP rate limit."""

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
