"""A rule's condition on a record's custom field (scoring and assignment rules): equals, contains, greater than,
is set.

A condition is kept as three texts (key, operator, value as an administrator typed it) and compiled once per
loaded rule into a test of a record's `custom` dict, so the per-row and the batch paths run the same test. A
condition whose field is gone, hidden, or whose value no longer fits the field's type matches nothing.
"""

from collections.abc import Callable
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import CustomFieldType as T
from . import registry, types


class Operator(models.TextChoices):
    EQUALS = "eq", gettext_lazy("equals")
    CONTAINS = "contains", gettext_lazy("contains")
    GREATER = "gt", gettext_lazy("greater than")
    SET = "set", gettext_lazy("is filled in")


NUMBER_TYPES = {T.INTEGER, T.DECIMAL, T.MONEY}
TEXT_TYPES = {T.TEXT, T.LONG_TEXT, T.PHONE, T.EMAIL, T.URL}
CONTAINS_TYPES = TEXT_TYPES | {T.MULTI_CHOICE}
# Equality means nothing on long text (a paragraph); contains says what is meant.
EQUALS_TYPES = set(T.values) - {T.LONG_TEXT}
VALUE_LIMIT = 200


def _never(_custom) -> bool:
    return False


def check(target: str, key: str, operator: str, value: str) -> dict[str, list[str]]:
    """What is wrong with a condition, by the rule's form field (`custom_key`, `custom_operator`, `custom_value`);
    empty when it is right or when there is none (no key)."""
    if not key:
        return {}
    field = registry.definition(target, key)
    if field is None or field.hidden:
        return {"custom_key": [_("Choose one of the custom fields shown.")]}
    if operator not in Operator.values:
        return {"custom_operator": [_("Choose how to compare.")]}
    if operator == Operator.GREATER and field.type not in NUMBER_TYPES:
        return {"custom_operator": [_("“Greater than” compares numbers and amounts; “%(field)s” is not one.")
                                    % {"field": field.label}]}
    if operator == Operator.CONTAINS and field.type not in CONTAINS_TYPES:
        return {"custom_operator": [_("“Contains” looks in text and multiple choices; use “equals” for “%(field)s”.")
                                    % {"field": field.label}]}
    if operator == Operator.EQUALS and field.type not in EQUALS_TYPES:
        return {"custom_operator": [_("Use “contains” for long text.")]}
    if operator == Operator.SET:
        return {}
    if not str(value or "").strip():
        return {"custom_value": [_("Give the value to compare with.")]}
    if len(str(value)) > VALUE_LIMIT:
        return {"custom_value": [_("Enter at most %(limit)d characters.") % {"limit": VALUE_LIMIT}]}
    if operator != Operator.CONTAINS or field.type == T.MULTI_CHOICE:
        probe = field if field.type != T.MULTI_CHOICE else _single(field)
        try:
            types.parse(probe, str(value))
        except types.ValueProblem as problem:
            return {"custom_value": [str(problem)]}
    return {}


class _single:
    """A multiple-choice field seen as a single choice: a condition names one of its options."""

    def __init__(self, field):
        self.type, self.options, self.key = T.CHOICE, field.options, field.key


def compile_condition(target: str, key: str, operator: str, value: str) -> Callable[[dict | None], bool] | None:
    """A test of a record's `custom` values for the condition, or None when the rule has no condition."""
    if not key:
        return None
    if check(target, key, operator, value):
        return _never
    field = registry.definition(target, key)
    if operator == Operator.SET:
        return lambda custom: not types.is_empty((custom or {}).get(key))
    if field.type == T.MULTI_CHOICE:
        option = types.parse(_single(field), str(value))
        return lambda custom: option in ((custom or {}).get(key) or [])
    if operator == Operator.CONTAINS:
        wanted = str(value).strip().casefold()
        return lambda custom: isinstance(found := (custom or {}).get(key), str) and wanted in found.casefold()
    expected = types.parse(field, str(value))
    if operator == Operator.GREATER:
        bound = Decimal(str(expected))

        def greater(custom) -> bool:
            found = (custom or {}).get(key)
            if isinstance(found, bool) or not isinstance(found, int | float | str):
                return False
            try:
                return Decimal(str(found)) > bound
            except ArithmeticError:
                return False
        return greater
    if field.type in TEXT_TYPES:
        folded = str(expected).casefold()
        return lambda custom: isinstance(found := (custom or {}).get(key), str) and found.casefold() == folded
    return lambda custom: (custom or {}).get(key) == expected


def describe(target: str, key: str, operator: str, value: str) -> str:
    """The condition as a person reads it: “行业细分 equals 汽车零部件”."""
    field = registry.definition(target, key)
    label = field.label if field is not None else key
    if operator == Operator.SET:
        return f"{label} {Operator(operator).label}"
    return f"{label} {Operator(operator).label if operator in Operator.values else operator} {value}"


def field_choices(target: str) -> list[tuple[str, str]]:
    """The fields a condition may test: the record type's fields not hidden."""
    return [("", "—"), *((field.key, field.label) for field in registry.definitions(target))]
