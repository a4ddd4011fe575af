"""Brakes on guessing: failed logins (django-axes) and unknown API tokens (django-ratelimit's counters),
each per account and per address, plus the visitor address and rate parsing every limit shares.

Both count in the database (axes' access attempts, ratelimit's counters in the shared cache), so every
app process and host counts against the same limit.
"""

import functools
import itertools
import logging
import time

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import DEFAULT_DB_ALIAS, connection, router
from django.db.models import Sum
from django.dispatch import receiver
from django.test.signals import setting_changed
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from . import fastsql
from .errors import Throttled

log = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str, setting: str = "rate") -> tuple[int, int]:
    """"20/h" → (20 requests, 3600 seconds); "20/10m" → (20, 600). Units: s, m, h, d."""
    count, _sep, unit = rate.strip().partition("/")
    unit = unit.strip().lower()
    digits = "".join(itertools.takewhile(str.isdigit, unit))
    period = _PERIODS.get(unit[len(digits):][:1])
    if not count.strip().isdigit() or period is None:
        raise ValueError(f"{setting} must look like '20/h' or '20/10m', not {rate!r}")
    return int(count), period * int(digits or 1)


def client_ip(request) -> str:
    """The visitor's address. Behind N trusted reverse proxies, the Nth address from the right of
    X-Forwarded-For (the left part of that header is whatever the client chose to send)."""
    proxies = getattr(settings, "CLOSELOOP_TRUSTED_PROXIES", 0)
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def lockout_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


@receiver(setting_changed)
def _cache_setting_changed(*, setting, **kwargs):
    if setting == "CACHES":
        _cache_row_sql.cache_clear()


# ---------------------------------------------------------------------------------------------------
# Logins


class LoginThrottle(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for the account and for the address.

    Axes compares one failure count with one limit. One account gets few tries
    (`AXES_FAILURE_LIMIT`); one address gets more (`CLOSELOOP_LOGIN_FAILURES_PER_ADDRESS`), because a
    whole office behind one NAT address shares it and a colleague's typos must not lock everyone out.
    So this handler reports the account's failures, or the account's limit once the address reached its own.
    """

    def get_failures(self, request, credentials=None) -> int:
        by_account, by_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if by_address >= settings.CLOSELOOP_LOGIN_FAILURES_PER_ADDRESS:
            return max(by_account, settings.AXES_FAILURE_LIMIT)
        return by_account


def login_locked_out(request, response=None, credentials=None):
    """What a locked-out login sees: the login page again, saying why and for how long (429)."""
    from django.contrib.auth.forms import AuthenticationForm
    from django.shortcuts import render

    message = _(
        "Too many failed logins for this account or from this address. Try again in %(minutes)d minutes, "
        "or ask an administrator to unlock the account."
    ) % {"minutes": lockout_minutes()}
    form = AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")})
    return render(request, "registration/login.html", {"form": form, "locked_out": message}, status=429)


def record_login_lockout(*, username: str | None, ip_address: str) -> None:
    """One audit entry on the account a lockout protects, once per lock-out period.

    Axes signals a lockout again on every attempt during it; the trail keeps the first. A lockout of
    an address whose tried names match no account has no record to sit on: axes keeps its attempts
    (Django admin → Access attempts) and the log has a warning.
    """
    from .audit import audit_record
    from .models import AuditEntry, Channel, User

    user = User.objects.filter(username=username).first() if username else None
    if user is None:
        log.warning("Logins from %s locked out after repeated failures (name tried: %r)", ip_address, username)
        return
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    if AuditEntry.objects.for_object(user).filter(action="user.locked_out", created_at__gte=since).exists():
        return
    audit_record(actor=None, channel=Channel.WEB, action="user.locked_out", target=user,
                 note=_("Too many failed logins; locked for %(minutes)d minutes (address %(address)s).")
                 % {"minutes": lockout_minutes(), "address": ip_address})


# ---------------------------------------------------------------------------------------------------
# API tokens


def _token_usage(request, group: str, key: str, rate: str, *, increment: bool):
    return get_usage(request, group=group, key=lambda _group, _request: key,
                     rate=parse_rate(rate, "CLOSELOOP_API_TOKEN_FAILURE_RATE"), increment=increment)


def _token_refusal(seconds: int) -> Throttled:
    seconds = max(1, seconds)
    return Throttled(
        _("Too many requests with an unknown API token from this address or for this account. Try again in "
          "%(seconds)d seconds.") % {"seconds": seconds},
        retry_after=seconds,
    )


def _blocked_key(address: str) -> str:
    return f"api-token-blocked:{address}"


def api_token_check_address(request) -> None:
    """Refuse (429) an address that sent too many unknown tokens, before its token is looked at: a
    right guess must get the same answer as a wrong one while the address is blocked.

    Every API call passes here, so it only reads: one cache get of the address's "blocked until" time,
    which `api_token_failed` writes when a failure takes the address over its limit. (Asking the counter
    instead costs a cache write per call — a `cache.add` — and on SQLite that takes the one writer's lock
    on the intake path.)"""
    key = _blocked_key(client_ip(request))
    if not _may_be_blocked(key):
        return
    until = cache.get(key)
    if until is not None and (left := int(until - time.time())) > 0:
        raise _token_refusal(left)


def _may_be_blocked(key: str) -> bool:
    """False when the cache holds no row for `key` at all: the answer of nearly every call, found by one
    prepared statement (~8 µs) instead of the database cache's `get` (~40 µs: its key, router and cursor
    work). A row, expired or not, is read again through `cache.get`, which decodes it and knows expiry."""
    sql = _cache_row_sql()
    if sql is None:
        return True
    return fastsql.run(sql, [cache.make_and_validate_key(key)], fetch="one") is not None


@functools.cache
def _cache_row_sql() -> str | None:
    # Only for the database cache on the default database; any other backend is asked itself.
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, DatabaseCache) or router.db_for_read(backend.cache_model_class) != DEFAULT_DB_ALIAS:
        return None
    return f"SELECT 1 FROM {connection.ops.quote_name(backend._table)} WHERE cache_key = %s"  # noqa: S608 - setting


def api_token_failed(request, raw: str) -> None:
    """Count an unknown token against its address and, when its prefix names someone's token (a guess
    at that account's token), against that account; refuse once either is over its limit."""
    from .audit import audit_record
    from .models import ApiToken, Channel

    address = client_ip(request)
    rate = settings.CLOSELOOP_API_TOKEN_FAILURE_RATE
    usage = _token_usage(request, "api-token-address", address, rate, increment=True)
    if usage is not None and usage["should_limit"]:
        if usage["count"] == usage["limit"] + 1:
            log.warning("API requests from %s throttled after repeated unknown tokens", address)
        # Blocked until the counter's period ends: api_token_check_address reads this on every call.
        cache.set(_blocked_key(address), time.time() + usage["time_left"], timeout=max(1, usage["time_left"]))
    token = ApiToken.objects.select_related("user").filter(prefix=raw[:10]).first() if raw.startswith("cl_") else None
    if token is not None:
        account = _token_usage(request, "api-token-account", str(token.user_id), rate, increment=True)
        if account is not None and account["should_limit"]:
            if account["count"] == account["limit"] + 1:
                # Once per period, when the account's limit is first passed.
                audit_record(actor=None, channel=Channel.API, action="user.api_token_throttled", target=token.user,
                             note=_("Too many unknown API tokens for this account (address %(address)s).")
                             % {"address": address})
            usage = account if usage is None or not usage["should_limit"] else usage
    if usage is not None and usage["should_limit"]:
        raise _token_refusal(usage["time_left"])
