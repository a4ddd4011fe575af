"""Custom fields in the JSON API: the `custom` object of the records' schemas, the field-definitions endpoint, and
the OpenAPI document's description of each record type's custom fields as an object of typed properties.

Fields are data, so the document is written when it is asked for: a record schema's `custom` property carries
`x-custom-fields: <record type>` and `describe` replaces it with the current fields' typed properties. Values are
cleaned by the records' services (`registry.clean_custom`), so an invalid value is a 422 naming `custom.<key>`,
with every other problem of the request.
"""

from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from ..errors import ErrorOut, NotFound, ValidationFailed
from ..models import CustomFieldType as T
from . import indexes, registry, search, types

MARKER = "x-custom-fields"
READ_MARKER = "x-custom-fields-read"
FILTERS_MARKER = "x-custom-filters"


def custom_in(target: str) -> Any:
    """The `custom` property of a record's input schema."""
    return Field(None, description="Custom field values by key (see GET /api/custom-fields/); null clears one.",
                 json_schema_extra={MARKER: target})


def custom_out(target: str) -> Any:
    """The `custom` property of a record's output schema: the values the caller may see."""
    return Field(default_factory=dict, description="Custom field values by key: those the caller may see.",
                 json_schema_extra={READ_MARKER: target})


def values_for(record, context) -> dict:
    """A record's custom values as the API shows them to the request's user (`resolve_custom`)."""
    request = (context or {}).get("request")
    user = getattr(request, "user", None)
    custom = record.custom or {}
    return {field.key: types.api_value(field, custom.get(field.key))
            for field in registry.visible_fields(record._meta.label, user)}


def filters_in(target: str) -> dict:
    """An API list operation's `openapi_extra`: the document lists a `cf.<key>` query parameter per custom field of
    `target` that filters (`describe` writes them when the document is asked for, as fields are data)."""
    return {FILTERS_MARKER: target}


# What a list operation's description says of its `cf.` filters, and (FILTERED_SYNC) of syncing with them.
FILTERS_DESCRIPTION = (" Custom fields filter with `cf.<key>=value` (equal), and `cf.<key>.gte=` / `cf.<key>.lte=` on "
                       "numbers, dates and times; a multiple-choice field keeps the records holding any of the options "
                       "given (the parameter repeated, or `cf.<key>=A,B`). A key you may not see or filter on, or a "
                       "value its field does not take, is refused (422) naming the parameter.")
FILTERED_SYNC = (" Filters combine with syncing: a record changed so that it no longer matches is not told (`GET /api/deleted/` tells "
                       "only deletions and records that left your sight), so a filtered mirror reads its list again "
                       "to drop those.")


def list_filters(request, target: str) -> list[tuple]:
    """The `cf.` filters of an API list's query on the custom fields of `target` the caller may see, read by the web
    lists' own parser (`indexes.filters_from_query`); refused (422 `validation_failed`) naming each parameter it
    cannot use, where a page's list passes them by."""
    problems = {}
    chosen = indexes.filters_from_query(registry.visible_fields(target, request.user), request.GET, problems=problems,
                                         target=target)
    if problems:
        raise ValidationFailed(_("Please correct the marked fields."),
                               field_errors={name: [message] for name, message in sorted(problems.items())})
    return chosen


def _filter_parameters(target: str) -> list[dict]:
    parameters = []
    for field in registry.definitions(target):
        if field.type not in indexes.INDEXABLE_TYPES:
            continue
        label = " · ".join(part for part in [field.label_zh, field.label_en] if part)
        if field.type == T.MULTI_CHOICE:
            parameters.append({
                "name": f"{indexes.QUERY_PREFIX}{field.key}", "in": "query", "required": False, "style": "form",
                "explode": True, "description": f"{label}: records holding any of these options (or `A,B`).",
                "schema": {"type": "array", "maxItems": indexes.OPTIONS_LIMIT,
                           "items": {"type": "string", "enum": list(field.options)}}})
            continue
        schema = {key: value for key, value in _property(field, read=False)["anyOf"][0].items()
                  if key != "description"}
        if "anyOf" in schema:  # a number written as text in a query string
            schema = schema["anyOf"][1]
        if field.type in (T.INTEGER, T.USER):
            schema = {"type": "integer"}
        elif field.type == T.BOOLEAN:
            schema = {"type": "boolean"}
        names = [("", f"{label}: equal to.")]
        if field.type in indexes.ORDERED_TYPES:
            names += [(".gte", f"{label}: at least."), (".lte", f"{label}: at most.")]
        parameters += [{"name": f"{indexes.QUERY_PREFIX}{field.key}{suffix}", "in": "query", "required": False,
                        "description": description, "schema": schema} for suffix, description in names]
    return parameters


def _property(field, *, read: bool) -> dict:
    kind = field.type
    if kind in (T.TEXT, T.LONG_TEXT):
        schema = {"type": "string", "maxLength": types.LONG_TEXT_LIMIT if kind == T.LONG_TEXT else types.TEXT_LIMIT}
    elif kind == T.INTEGER:
        schema = {"type": "integer"}
    elif kind in (T.DECIMAL, T.MONEY):
        text = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
        schema = text if read else {"anyOf": [{"type": "number"}, text]}
    elif kind == T.DATE:
        schema = {"type": "string", "format": "date"}
    elif kind == T.DATETIME:
        schema = {"type": "string", "format": "date-time"}
    elif kind == T.CHOICE:
        schema = {"type": "string", "enum": list(field.options)}
    elif kind == T.MULTI_CHOICE:
        schema = {"type": "array", "items": {"type": "string", "enum": list(field.options)}}
    elif kind == T.USER:
        schema = {"type": "integer", "description": "A user's id."}
    elif kind == T.BOOLEAN:
        schema = {"type": "boolean"}
    elif kind == T.EMAIL:
        schema = {"type": "string", "format": "email"}
    elif kind == T.URL:
        schema = {"type": "string", "format": "uri"}
    else:
        schema = {"type": "string"}
    description = " · ".join(part for part in [field.label_zh, field.label_en, field.help_text] if part)
    return {"anyOf": [schema, {"type": "null"}], "title": field.label_zh, "description": description}


def _typed(target: str, *, read: bool) -> dict:
    fields = registry.definitions(target)
    return {
        "type": "object",
        "properties": {field.key: _property(field, read=read) for field in fields},
        "additionalProperties": False,
        "description": _("Custom fields of %(records)s, by key.") % {"records": registry.targets()[target].label}
        if target in registry.targets() else "",
    }


def describe(document: dict) -> dict:
    """The OpenAPI document with each record schema's `custom` property as the current typed fields, and each list
    that filters on them with its `cf.<key>` parameters."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and FILTERS_MARKER in operation:
                operation.setdefault("parameters", []).extend(_filter_parameters(operation.pop(FILTERS_MARKER)))
    for schema in document.get("components", {}).get("schemas", {}).values():
        for name, prop in list(schema.get("properties", {}).items()):
            for marker, read in ((MARKER, False), (READ_MARKER, True)):
                if marker in prop:
                    typed = _typed(prop[marker], read=read)
                    if not read:
                        typed = {"anyOf": [typed, {"type": "null"}]}
                    schema["properties"][name] = {**typed, "description": prop.get("description", "")}
    return document


router = Router(tags=["custom fields"])


class CustomFieldOut(Schema):
    key: str
    label_zh: str
    label_en: str
    type: str = Field(description="text, long_text, integer, decimal, money, date, datetime, choice, multi_choice, "
                      "user, boolean, phone, email or url.")
    options: list[str]
    default: Any = None
    help_text: str
    section: str
    position: int
    required_channels: list[str] = Field(description="Channels on which a new record must have a value.")
    editable: bool = Field(description="Whether you may set it.")
    searchable: bool = Field(description="Whether the record type's list search (`q`) also looks in its value.")


class DefinitionParams(Schema):
    target: str = Field(..., max_length=50, description="The record type: leads.Lead, deals.Customer, deals.Contact, "
                        "deals.Opportunity, …")


@router.get("/", response={200: list[CustomFieldOut], 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
            summary="List a record type's custom fields you may see")
def list_definitions(request, params: Query[DefinitionParams]):
    if params.target not in registry.targets():
        raise NotFound(_("No record type “%(target)s” takes custom fields.") % {"target": params.target})
    return [
        {"key": f.key, "label_zh": f.label_zh, "label_en": f.label_en, "type": f.type, "options": f.options,
         "default": types.api_value(f, f.default), "help_text": f.help_text, "section": f.section,
         "position": f.position, "required_channels": f.required_channels,
         "editable": registry.may_edit(f, request.user), "searchable": search.is_searchable(f)}
        for f in registry.visible_fields(params.target, request.user)
    ]
