from django import template

from closeloop.core import audit_labels

register = template.Library()


@register.filter
def action_label(action: str) -> str:
    """`{{ entry.action|action_label }}`: “Deal created” instead of `opportunity.create`."""
    return audit_labels.action_label(action)


@register.simple_tag(takes_context=True)
def audit_changes(context, entries) -> dict[int, list[dict]]:
    """`{% audit_changes timeline as audit_rows %}`: every entry's changes, labelled, in a few queries; custom
    fields the page's viewer may not see are left out."""
    request = context.get("request")
    return audit_labels.labelled_changes(entries, viewer=getattr(request, "user", None))


@register.filter
def rows_for(changes: dict, entry_pk) -> list[dict]:
    """`{% for row in audit_rows|rows_for:entry.pk %}`: each change with the field's label and readable values."""
    return changes.get(entry_pk, [])
