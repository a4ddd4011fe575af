from django import template

from closeloop.core.money import format_yuan

register = template.Library()


@register.filter
def yuan(amount) -> str:
    """`{{ deal.amount|yuan }}`: ¥1,200,000.00 — grouped by thousands so a large amount reads at a glance;
    an empty amount is a dash."""
    return format_yuan(amount)


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` for dicts and QueryDicts, whose keys are not valid template names."""
    if mapping is None:
        return ""
    return mapping.get(key, "")


@register.simple_tag
def lead_follow_ups(lead):
    """The follow-ups logged on a lead and the deals it became, for the lead page's partial."""
    from closeloop.deals.selectors import lead_activities
    from closeloop.followup.models import FOLLOW_UP_KINDS

    return {"activities": lead_activities(lead), "deals": list(lead.opportunities.all()[:5]),
            "kinds": [(k.value, k.label) for k in FOLLOW_UP_KINDS]}


@register.simple_tag
def stage_options(stages, selected_id):
    """The `<option>`s of a stage selector. The board renders one per card; a template loop for each costs
    about a fifth of the board's rendering time."""
    from django.utils.html import format_html, format_html_join

    return format_html_join(
        "", "{}", ((format_html('<option value="{}"{}>{}</option>', s.pk, " selected" if s.pk == selected_id else "",
                                s.name),) for s in stages),
    )
