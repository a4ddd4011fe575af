"""What the JSON API shares: input types that accept exactly what the OpenAPI document
says, and the error answers every operation may give.

The document must be true both ways: what it calls valid is accepted (or refused by a business rule
with a message), what it calls invalid is refused with 422. Pydantic's lax parsing is friendlier than
the document (a date from the number 0, an integer from "5", a boolean from 1), so request bodies use
the types below, and the schema of each says what they take.
"""

import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import errors as ninja_errors
from ninja.parser import Parser
from pydantic import BeforeValidator, StrictBool, WithJsonSchema

from .errors import ErrorOut, ValidationFailed

__all__ = ["IsoDate", "IsoDateTime", "JsonInt", "JsonObjectParser", "Money", "QueryBool", "StrictBool",
           "declare_common_errors", "decimal_in", "form_bool", "form_date", "int_in", "multipart_form",
           "request_errors"]


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339 (the document's `format: date-time`): a time with seconds and an offset.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(_("Give a date as YYYY-MM-DD."))
    return value


def _iso_date_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise ValueError(_("Give a time as RFC 3339, e.g. 2026-03-01T09:30:00+08:00."))
    return value


def _bounds_text(bounds: dict) -> str:
    words = {"minimum": _("at least %s"), "exclusiveMinimum": _("above %s"), "maximum": _("at most %s"),
             "exclusiveMaximum": _("below %s")}
    return _(", ").join(words[key] % f"{value:,}" for key, value in bounds.items())


def decimal_in(*, digits: int, places: int = 2, above: int | None = None, at_least: int | None = 0,
               below: int | None = None, at_most: int | None = None, pattern: str = "", description: str = "") -> Any:
    """A decimal input taken as a JSON number or a decimal string, within bounds and with at most `places`
    decimals; the document says exactly that (pydantic's own Decimal schema admits any string). `pattern`
    is for strings when the bounds are not 0 and 10**digits: the document cannot bound a string otherwise."""
    pattern = pattern or rf"^\d{{1,{digits}}}(\.\d{{1,{places}}})?$"
    step = Decimal(1).scaleb(-places)
    bounds = {"minimum": at_least, "exclusiveMinimum": above, "maximum": at_most, "exclusiveMaximum": below}
    bounds = {key: value for key, value in bounds.items() if value is not None}

    def parse(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise ValueError(_("Give a number, e.g. 300000 or \"300000.00\"."))
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            raise ValueError(_("Give a number with at most %(places)s decimals, e.g. \"12.50\".") % {"places": places})
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(_("Give a number, e.g. 300000.")) from None
        if (not amount.is_finite()
                or (at_least is not None and amount < at_least) or (above is not None and amount <= above)
                or (at_most is not None and amount > at_most) or (below is not None and amount >= below)
                or abs(amount) >= 10**digits):
            raise ValueError(_("Give a number %(bounds)s, with at most %(places)s decimals.") % {
                "bounds": _bounds_text(bounds), "places": places})
        # Within bounds, so quantizing cannot overflow the decimal context (9e307 would raise, not refuse).
        nearest = amount.quantize(step)
        if isinstance(value, float) and abs(amount - nearest) < step / 1_000_000:
            # 57 * 0.01 is 0.5700000000000001 in binary floating point: a client's float is read to the cent.
            amount = nearest
        if amount != nearest:
            raise ValueError(_("Give a number with at most %(places)s decimals.") % {"places": places})
        return amount

    return Annotated[Decimal, BeforeValidator(parse), WithJsonSchema({
        "anyOf": [{"type": "number", **bounds, "multipleOf": float(step)}, {"type": "string", "pattern": pattern}],
        "description": description or f"A number or a decimal string, at most {places} decimals.",
    })]


def _json_int(value: Any) -> int:
    # JSON Schema's "integer" is a number without a fraction: 81.0 is one, "81" and true are not.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(_("Give a whole number."))
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(_("Give a whole number."))
        return int(value)
    return value




def int_in(*, minimum: int, maximum: int) -> Any:
    """A whole number within bounds, with the bounds in the document (Field(ge=...) on a validated type
    writes them as keys JSON Schema does not know)."""

    def bounded(value: Any) -> int:
        number = _json_int(value)
        if not minimum <= number <= maximum:
            raise ValueError(_("Give a whole number from %(minimum)s to %(maximum)s.") % {
                "minimum": minimum, "maximum": maximum})
        return number

    return Annotated[int, BeforeValidator(bounded),
                     WithJsonSchema({"type": "integer", "minimum": minimum, "maximum": maximum})]


def _query_bool(value: Any) -> Any:
    # A query string carries text: the document's boolean is written `true` or `false` there, nothing else
    # (pydantic would also read 1, yes, on, t ...).
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError(_("Give true or false."))


def multipart_form(request):
    """The fields of a request the document says is multipart/form-data; a body that is not (another content type,
    no boundary) is refused as not matching the document (422 `request_invalid`), not left to fail as a 500."""
    try:
        return request.POST
    except MultiPartParserError:
        raise ninja_errors.ValidationError([{"loc": ("request",), "msg": _("Send the form as multipart/form-data.")}]) \
            from None


def form_bool(data, name: str) -> bool:
    """A multipart form's boolean as the document writes it: absent or `false` is false, `true` is true, anything
    else is refused as not matching the document (422 `request_invalid`)."""
    value = data.get(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise ninja_errors.ValidationError([{"loc": (name,), "msg": _("Give true or false.")}])


def form_date(data, name: str) -> date | None:
    """A multipart form's `format: date` field: absent is None, otherwise YYYY-MM-DD or refused as not matching the
    document (422 `request_invalid`)."""
    value = data.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(_iso_date(value))
    except ValueError:
        raise ninja_errors.ValidationError([{"loc": (name,), "msg": _("Give a date as YYYY-MM-DD.")}]) from None


# Ids: a positive 64-bit integer, so a number past the database's integer is refused, not an error.
JsonInt = int_in(minimum=1, maximum=2**63 - 1)
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_date_time)]
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
Money = decimal_in(digits=12, below=1_000_000_000_000,
                   description="Yuan, at most two decimals: a number or a decimal string.")


class NotAnObject(ValueError):
    pass


def _refuse_unstorable(value: Any, location: list) -> None:
    """A NUL character or a lone surrogate cannot be stored (PostgreSQL refuses both): refuse a value holding one
    as a field error (422 validation_failed) instead of failing at the database. Unknown keys are ignored anyway."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            bad = True
        else:
            bad = "\x00" in value
        if bad:
            field = ".".join(str(part) for part in location) or "request"
            raise ValidationFailed(_("Please correct the marked fields."), field_errors={
                field: [_("Text may not contain NUL characters or unpaired surrogates.")]})
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unstorable(item, [*location, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_unstorable(item, [*location, index])


class JsonObjectParser(Parser):
    """Every request body of this API is a JSON object: an array or a bare value is refused (422), not
    read as an empty object. Text the database cannot store is refused in the body and in the query."""

    def parse_body(self, request):
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise NotAnObject(_("The request body must be a JSON object."))
        _refuse_unstorable(data, [])
        return data

    def parse_querydict(self, data, list_fields, request):
        result = super().parse_querydict(data, list_fields, request)
        _refuse_unstorable(result, [])
        return result


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}


def declare_common_errors(schema: dict) -> dict:
    """Add the answers any operation may give to the document: 401 and 429 where a token is needed (a
    missing, unknown or expired token; an address that sent too many unknown ones), 403 where it writes (a
    read-only token), 422 where the request has
    parameters or a body that may break the schema, 400 where a body may not be JSON at all."""
    schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}"))
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if operation.get("security"):
                responses.setdefault(401, _error("No valid API token was sent, or it expired."))
                responses.setdefault(429, _error("Too many unknown tokens from this address; see Retry-After."))
                if method.lower() not in ("get", "head", "options"):
                    responses.setdefault(403, _error("The token is read-only (code `read_only_token`), or you may "
                                                     "not do this."))
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault(422, _error("The request does not match this document, or a rule refused it; "
                                                 "`fields` names what to change."))
            if operation.get("requestBody"):
                responses.setdefault(400, _error("The body is not JSON."))
    return schema


# Pydantic's error types, as a sentence a person can act on: each names the field and the limit it broke.
# Unknown types keep pydantic's own (English) text after the field's name.
_MESSAGES = {
    "missing": lambda ctx: _("“%(field)s” is required."),
    "string_too_short": lambda ctx: (_("“%(field)s” cannot be empty.") if ctx.get("min_length") in (1, "1")
                                     else _("“%(field)s” needs at least %(min_length)s characters.")),
    "string_too_long": lambda ctx: _("“%(field)s” may have at most %(max_length)s characters; shorten it."),
    "too_short": lambda ctx: _("“%(field)s” needs at least %(min_length)s items."),
    "too_long": lambda ctx: _("“%(field)s” may hold at most %(max_length)s items."),
    "greater_than": lambda ctx: _("“%(field)s” must be greater than %(gt)s."),
    "greater_than_equal": lambda ctx: _("“%(field)s” must be at least %(ge)s."),
    "less_than": lambda ctx: _("“%(field)s” must be less than %(lt)s."),
    "less_than_equal": lambda ctx: _("“%(field)s” must be at most %(le)s."),
    "string_type": lambda ctx: _("“%(field)s” must be text."),
    "string_pattern_mismatch": lambda ctx: _("“%(field)s” does not have the expected form (%(pattern)s)."),
    "int_type": lambda ctx: _("“%(field)s” must be a whole number."),
    "int_parsing": lambda ctx: _("“%(field)s” must be a whole number."),
    "int_from_float": lambda ctx: _("“%(field)s” must be a whole number."),
    "bool_type": lambda ctx: _("“%(field)s” must be true or false."),
    "bool_parsing": lambda ctx: _("“%(field)s” must be true or false."),
    "literal_error": lambda ctx: _("“%(field)s” must be one of: %(expected)s."),
    "enum": lambda ctx: _("“%(field)s” must be one of: %(expected)s."),
    "dict_type": lambda ctx: _("“%(field)s” must be a JSON object."),
    "model_type": lambda ctx: _("“%(field)s” must be a JSON object."),
    "model_attributes_type": lambda ctx: _("“%(field)s” must be a JSON object."),
    "list_type": lambda ctx: _("“%(field)s” must be a list."),
    "extra_forbidden": lambda ctx: _("“%(field)s” is not a field of this request; remove it."),
    "value_error": lambda ctx: _("“%(field)s”: %(error)s"),
    "assertion_error": lambda ctx: _("“%(field)s”: %(error)s"),
}
# Where ninja found the value, and the name of the view's schema parameter: not part of the field's name.
_SOURCES = ("body", "query", "path", "header", "cookie", "form", "file")
_PARAMETERS = ("payload", "params", "filters")


def _number(value: Any) -> Any:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value


def request_errors(errors: list[dict]) -> dict[str, list[str]]:
    """A request that does not match the document, as `fields` for the error answer: by dotted field name
    (`request` for the whole request), messages in the request's language (zh-hans or English, from the
    site language or Accept-Language) naming the field and the limit, where pydantic's are English only."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in _SOURCES:
            location = location[1:]
        if location and location[0] in _PARAMETERS:
            location = location[1:]
        field = ".".join(location) or "request"
        kind = error.get("type")
        ctx = {key: _number(value) for key, value in (error.get("ctx") or {}).items()}
        if isinstance(ctx.get("expected"), str):  # pydantic's "'a', 'b' or 'c'": the "or" is English
            ctx["expected"] = ctx["expected"].replace(" or ", ", ")
        if kind is None:
            # Raised by hand (multipart_form, form_bool ...): its message is already the person's.
            message = str(error.get("msg") or _("This value is not valid."))
        else:
            try:
                message = str(_MESSAGES[kind](ctx)) % {**ctx, "field": field}
            except KeyError:  # an unknown type, or a context without the limit the sentence names
                message = None
        if message is None:
            message = _("“%(field)s” is not valid: %(detail)s") % {"field": field, "detail": error.get("msg", "")}
        fields.setdefault(field, []).append(message)
    return fields
