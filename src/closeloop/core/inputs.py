"""Dates and times as people type them into a field or send them to the API ("2026-12-01 10:00"), parsed
once for every service; a value that is not one names its field. Amounts are core.money's. Text is bounded
by its model field's `max_length` (TextFields too), checked here for every channel."""

from datetime import date, datetime, time, timedelta

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .dates import DateNotUnderstood, TypedDate, parse_typed_date
from .errors import ValidationFailed, invalid


def datetime_input(value, field: str) -> datetime | None:
    """A timezone-aware datetime (naive ones are in the site's time zone), or None when empty. Text is ISO
    ("2026-12-01T10:00+08:00") or a date as people write it (明天 10点, 下周一, 3月5日: core.dates), a date
    alone standing for its DAY_TIME."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = parse_typed_date(value).as_datetime()
        except DateNotUnderstood as exc:
            # What people type is read first; an ISO time with its offset (the API's) is the rest.
            value = parse_datetime(value.strip())
            if value is None:
                raise invalid(field, str(exc)) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def date_input(value, field: str) -> date | None:
    """A date (a datetime gives its date), or None when empty; text as core.dates reads it."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _typed(value, field).day


def _typed(value, field: str) -> TypedDate:
    try:
        return parse_typed_date(str(value))
    except DateNotUnderstood as exc:
        raise invalid(field, str(exc)) from None


def day_start(text: str, *, days_after: int = 0) -> datetime | None:
    """Local midnight of a date typed into a list filter (as core.dates reads it), `days_after` days later; None
    when blank or not a date (the filter form says why: `filter_date_error`). A lower bound (`days_after=0`)
    reads a bare month as its first day, an upper one as its last. Lists compare datetime columns with these
    bounds: `created_at__date` would wrap the column in a function that no index serves."""
    if not text:
        return None
    try:
        day = parse_typed_date(text, month_start=days_after == 0).day + timedelta(days=days_after)
    except DateNotUnderstood:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


def filter_date_error(text: str) -> str:
    """Why a list filter's date was ignored ("" when it was read or empty), for the list to say."""
    if not text:
        return ""
    try:
        parse_typed_date(text)
    except DateNotUnderstood as exc:
        return str(exc)
    return ""


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
