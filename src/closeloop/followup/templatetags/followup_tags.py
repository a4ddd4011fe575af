from django import template
from django.utils.safestring import mark_safe

from closeloop.followup.registry import panels_for

register = template.Library()


@register.simple_tag(takes_context=True)
def record_panels(context, record, slot: str):
    """`{% record_panels lead "actions" %}`: the partials other apps add to this record's page in that slot
    (deals adds "Convert to deal" to a lead's actions), each rendered with `record` in the page's context."""
    engine = context.template.engine
    with context.push(record=record):
        html = "".join(engine.get_template(panel.template).render(context) for panel in panels_for(record, slot))
    return mark_safe(html)  # noqa: S308 - rendered templates, escaped by the template engine
