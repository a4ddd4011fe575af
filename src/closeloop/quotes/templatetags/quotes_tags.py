from decimal import Decimal

from django import template

from closeloop.core.money import format_yuan

register = template.Library()


@register.filter
def yuan(amount) -> str:
    """¥12,800.00; an empty amount is a dash."""
    return format_yuan(amount)


@register.filter
def num(value) -> str:
    """A quantity or percentage without trailing zeros: 2, 1.5, 13."""
    if value is None or value == "":
        return "—"
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    text = f"{value.normalize():f}"
    return text


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` for dict keys that are not valid template names (ids)."""
    return (mapping or {}).get(key, "")
