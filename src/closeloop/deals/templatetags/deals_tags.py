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
