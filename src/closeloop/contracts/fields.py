"""What a person typed into the contract app's forms and API, parsed once for every service here: each helper
adds its field's problem to `errors` (so a form shows every problem at once) and returns the value."""

from decimal import Decimal

from django.utils.translation import gettext as _

from closeloop.core.errors import ValidationFailed
from closeloop.core.inputs import too_long_message
from closeloop.quotes.catalog import parse_amount


def positive_amount(data: dict, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        amount = parse_amount(data.get(field), field)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        return None
    if amount <= 0:
        errors[field] = [_("Enter an amount above zero.")]
    return amount


def texts(data: dict, limits: dict[str, int], errors: dict[str, list[str]]) -> dict[str, str]:
    """Each field's text, stripped; too long a text is refused with its limit."""
    values = {}
    for name, limit in limits.items():
        value = str(data.get(name) or "").strip()
        if len(value) > limit:
            errors[name] = [too_long_message(limit, len(value))]
        values[name] = value
    return values
