from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """A rate in percent as the dashboard shows it ("50.0%"), or a dash when there is nothing to divide by."""
    return "–" if value is None else f"{value}%"
