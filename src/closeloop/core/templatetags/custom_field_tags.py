"""Custom fields on the records' pages: `{% custom_values record %}` on a detail page (the fields its viewer may
see, by section) and `{% custom_form_fields form %}` in a record's form (its custom fields, by section)."""

from django import template

from closeloop.core.customfields import registry

register = template.Library()


@register.inclusion_tag("core/customfields/_values.html", takes_context=True)
def custom_values(context, record):
    request = context.get("request")
    sections = registry.shown_values(record._meta.label, record.custom, getattr(request, "user", None))
    return {"sections": sections}


@register.inclusion_tag("core/customfields/_form_fields.html")
def custom_form_fields(form):
    grouped: dict[str, list] = {}
    for name, formfield in form.fields.items():
        if (field := getattr(formfield, "custom_field", None)) is not None:
            grouped.setdefault(field.section, []).append(form[name])
    return {"sections": list(grouped.items())}


@register.filter
def is_custom(bound_field) -> bool:
    """`{% if field|is_custom %}`: a record form's loop over its own fields leaves the custom ones to the tag."""
    return hasattr(bound_field.field, "custom_field")


@register.inclusion_tag("core/customfields/_inline.html", takes_context=True)
def custom_inline(context, record):
    """A record's custom values on one line (“label: value · …”), for a row in another record's page (a contact's)."""
    request = context.get("request")
    rows = [row for _section, rows in registry.shown_values(record._meta.label, record.custom,
                                                            getattr(request, "user", None)) for row in rows if row[1]]
    return {"rows": rows}


@register.simple_tag
def custom_people(records, fields) -> dict:
    """`{% custom_people page.rows custom_columns as custom_users %}`: the names of the people in the records'
    person fields, read once for a list's page and handed to each `custom_cell`."""
    return registry.user_names(fields, [record.custom for record in records])


@register.simple_tag
def custom_cell(record, field, users=None) -> str:
    """`{% custom_cell lead field custom_users %}`: a record's value of one custom field as people read it (a
    list's cell); `users` from `custom_people`, else a person field's cell reads its name on its own."""
    from closeloop.core.customfields import types

    return types.display(field, (record.custom or {}).get(field.key), users=users)


@register.simple_tag
def chosen_options(field, text) -> list[str]:
    """The options of a multiple-choice filter's chosen text (`A,B`), in the options' order."""
    from closeloop.core.customfields.indexes import QUERY_PREFIX, filters_from_query

    if not text:
        return []
    chosen = filters_from_query([field], {QUERY_PREFIX + field.key: str(text)})
    return list(chosen[0][2]) if chosen else []
