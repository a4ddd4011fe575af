"""Dates and times as people type them into a field or send them to the API ("2026-12-01 10:00"), parsed
once for every service; a value that is not one names its field. Amounts are core.money's."""

from datetime import date, datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from .errors import invalid


def datetime_input(value, field: str) -> datetime | None:
    """A timezone-aware datetime (naive ones are in the site's time zone), or None when empty."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            raise invalid(field, _("Enter a date and time, for example 2026-12-01 10:00."))
        value = parsed
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def date_input(value, field: str) -> date | None:
    """A date (a datetime gives its date), or None when empty."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parsed = parse_date(str(value).strip())
    if parsed is None:
        raise invalid(field, _("Enter a date, for example 2026-12-31."))
    return parsed
