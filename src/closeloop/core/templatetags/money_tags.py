from django import template

from closeloop.core.money import format_yuan

register = template.Library()


@register.filter
def yuan(amount) -> str:
    """`{{ deal.amount|yuan }}`: ¥1,200,000.00 — grouped by thousands so a large amount reads at a glance;
    an empty amount is a dash."""
    return format_yuan(amount)
