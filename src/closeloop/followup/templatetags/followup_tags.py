from django import template
from django.utils.safestring import mark_safe

from closeloop.followup.registry import panels_for
from closeloop.followup.rights import Act, may
from closeloop.followup.selectors import comment_draft_key

register = template.Library()


@register.simple_tag(takes_context=True)
def record_panels(context, record, slot: str):
    """`{% record_panels lead "actions" %}`: the partials other apps add to this record's page in that slot
    (deals adds "Convert to deal" to a lead's actions), each rendered with `record` in the page's context."""
    engine = context.template.engine
    with context.push(record=record):
        html = "".join(engine.get_template(panel.template).render(context) for panel in panels_for(record, slot))
    return mark_safe(html)  # noqa: S308 - rendered templates, escaped by the template engine


@register.simple_tag(takes_context=True)
def may_act(context, record, act: str) -> bool:
    """`{% may_act lead "edit" as can_convert %}`: whether the viewer may do that act (followup.rights) on the
    record, so a page offers only the buttons its services would not refuse."""
    return may(context["request"].user, record, Act(act))


@register.simple_tag(takes_context=True)
def comment_draft(context, record) -> str:
    """The comment the service just refused on this record (too long, say), taken out of the session so the box
    shows it once more with the error instead of losing what was written."""
    request = context.get("request")
    if request is None or not hasattr(request, "session"):
        return ""
    return request.session.pop(comment_draft_key(record), "")
