from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` for dicts and QueryDicts, whose keys are not valid template names."""
    if mapping is None:
        return ""
    return mapping.get(key, "")


@register.simple_tag
def stage_options(stages, selected_id):
    """The `<option>`s of a stage selector. The board renders one per card; a template loop for each costs
    about a fifth of the board's rendering time."""
    from django.utils.html import format_html, format_html_join

    return format_html_join(
        "", "{}", ((format_html('<option value="{}"{}>{}</option>', s.pk, " selected" if s.pk == selected_id else "",
                                s.name),) for s in stages),
    )


@register.simple_tag
def deals_of_lead(lead, user) -> list:
    """The deals a lead was converted to that `user` may see (at most 5): marketing sees its channels' leads, and
    the rep a lead's owner's side, but a deal's name and link only if the deal is theirs to see."""
    from ..models import Opportunity

    return list(Opportunity.objects.visible_to(user).filter(lead=lead).order_by("id")[:5])
