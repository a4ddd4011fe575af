from django import template

from closeloop.core import audit_labels

register = template.Library()


@register.filter
def action_label(action: str) -> str:
    """`{{ entry.action|action_label }}`: “Deal created” instead of `opportunity.create`."""
    return audit_labels.action_label(action)


@register.filter
def change_rows(entry) -> list[dict]:
    """`{% for row in entry|change_rows %}`: each change with the field's label and readable values."""
    return audit_labels.change_rows(entry)
