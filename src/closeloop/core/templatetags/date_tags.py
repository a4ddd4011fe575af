from django import template
from django.utils.html import format_html

from closeloop.core.forms import TypedDateInput, TypedMoneyInput

register = template.Library()


@register.simple_tag
def typed_date_input(name: str, value="", *, time: bool = False, bound: str = "", required: bool = False,
                     label: str = "", id: str = ""):
    """A typed date field outside a Django form (a list's filter, the stage-gate dialog), with its echo:
    `{% typed_date_input "from" filters.created_from bound="start" label=_("Created from") %}`."""
    attrs = {"id": id or f"id_{name}"}
    if required:
        attrs["required"] = True
    if label:
        attrs["aria-label"] = attrs["placeholder"] = label
    widget = TypedDateInput(with_time=time, month_start=bound == "start")
    return format_html('<span class="typed-date">{}</span>', widget.render(name, value or None, attrs))


@register.simple_tag
def typed_money_input(name: str, value="", *, required: bool = False, id: str = ""):
    """A typed amount field outside a Django form (the stage-gate dialog), with its echo (5万 → ¥50,000.00)."""
    attrs = {"id": id or f"id_{name}"}
    if required:
        attrs["required"] = True
    return format_html('<span class="typed-money">{}</span>', TypedMoneyInput().render(name, value or None, attrs))
