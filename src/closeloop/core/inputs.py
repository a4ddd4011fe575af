"""Dates and times as people type them into a field or send them to the API ("2026-12-01 10:00"), parsed
once for every service; a value that is not one names its field. Amounts are core.money's. Text is bounded
by its model field's `max_length` (TextFields too), checked here for every channel."""

from datetime import date, datetime, time, timedelta

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .errors import ValidationFailed, invalid


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


def day_start(text: str, *, days_after: int = 0) -> datetime | None:
    """Local midnight of an ISO date typed into a list filter, `days_after` days later; None when blank or not a
    date. Lists compare datetime columns with these bounds: `created_at__date` would wrap the column in a function
    that no index serves."""
    try:
        day = date.fromisoformat(text) + timedelta(days=days_after) if text else None
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, time.min)) if day else None


def too_long_message(limit: int, count: int) -> str:
    """Django's own words for a form field's limit (and its translations), so every channel says it alike."""
    return ngettext(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        limit,
    ) % {"limit_value": limit, "show_value": count}


def text_limit_errors(model, values: dict) -> dict[str, list[str]]:
    """A field error for each text value longer than its model field's `max_length`, naming the limit."""
    errors = {}
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        try:
            limit = getattr(model._meta.get_field(name), "max_length", None)
        except FieldDoesNotExist:
            continue
        if limit and len(value) > limit:
            errors[name] = [too_long_message(limit, len(value))]
    return errors


def check_text_limits(model, values: dict) -> None:
    """Refuse text longer than its field allows (ValidationFailed naming each field), before it is saved."""
    if errors := text_limit_errors(model, values):
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
