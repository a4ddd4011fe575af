"""The custom fields a record type has, who sees and edits each, and cleaning a record's submitted values.

Apps declare their record types through `LoopApp.custom_field_targets()`; their services call `clean_custom`
with the rest of a record's fields, so every channel refuses the same values in the same words, all at once.
"""

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal

from django.utils.translation import gettext as _

from .. import configcache
from ..hooks import CustomFieldTarget, collect
from ..models import CustomField, CustomFieldType, Role, User
from . import types

ERROR_PREFIX = "custom."


def targets() -> dict[str, CustomFieldTarget]:
    """Every record type that takes custom fields, by model label, in the apps' order."""
    return {target.model: target for target in sorted(collect("custom_field_targets"), key=lambda t: t.order)}


def _all_fields() -> dict[str, list[CustomField]]:
    def load():
        by_target: dict[str, list[CustomField]] = {}
        for field in CustomField.objects.all():
            by_target.setdefault(field.target, []).append(field)
        return by_target

    return configcache.cached("core.custom_fields", load, models=(CustomField,))


def definitions(target: str, *, include_hidden: bool = False) -> list[CustomField]:
    """A record type's fields in form order (section, then position); hidden ones only when asked."""
    return [field for field in _all_fields().get(target, []) if include_hidden or not field.hidden]


def definition(target: str, key: str) -> CustomField | None:
    """A field by key, hidden or not (the trail labels a hidden field's old changes)."""
    return next((field for field in _all_fields().get(target, []) if field.key == key), None)


def may_see(field: CustomField, user) -> bool:
    """Administrators see every field; others the fields whose roles include theirs (no roles: everyone)."""
    if user is None or not getattr(user, "pk", None):
        return False
    return user.is_admin or not field.view_roles or user.role in field.view_roles


def may_edit(field: CustomField, user) -> bool:
    if user is None or not getattr(user, "pk", None):
        return False
    return user.is_admin or (may_see(field, user) and (not field.edit_roles or user.role in field.edit_roles))


def visible_fields(target: str, user) -> list[CustomField]:
    return [field for field in definitions(target) if may_see(field, user)]


def editable_fields(target: str, user) -> list[CustomField]:
    return [field for field in definitions(target) if may_edit(field, user)]


def public_fields(target: str) -> list[CustomField]:
    """The fields a visitor fills on the public web form (a field's “on the public web form”)."""
    return [field for field in definitions(target) if field.public]


def visible_values(target: str, custom: dict | None, user) -> dict:
    """A record's values a viewer may see, by key (what a page, an export and the API answer show)."""
    custom = custom or {}
    return {field.key: custom.get(field.key) for field in visible_fields(target, user)}


def shown_values(target: str, custom: dict | None, user) -> list[tuple[str, list[tuple[CustomField, str]]]]:
    """A detail page's custom fields the viewer may see, as (section, [(field, displayed value)]) in order."""
    custom = custom or {}
    fields = visible_fields(target, user)
    users = user_names(fields, [custom])
    sections: dict[str, list] = {}
    for field in fields:
        sections.setdefault(field.section, []).append((field, types.display(field, custom.get(field.key), users=users)))
    return list(sections.items())


def user_names(fields, customs) -> dict:
    """The names `types.display` shows for the person fields among `fields` in the records' `customs` (their
    `custom` dicts), read in one query for all of them, none when no such field has a value."""
    ids = {custom.get(field.key) for field in fields if field.type == CustomFieldType.USER
           for custom in customs if custom}
    ids = {pk for pk in ids if isinstance(pk, int) and not isinstance(pk, bool)}
    return {user.pk: str(user) for user in User.objects.filter(pk__in=ids)} if ids else {}


# Custom figures are numbers in a workbook.
NUMBER_TYPES = {CustomFieldType.INTEGER, CustomFieldType.DECIMAL, CustomFieldType.MONEY}


@dataclass
class ExportColumns:
    """The custom-field columns of a record list's export: the fields the exporting viewer may see, headed by their
    labels (a re-import maps them back by label), and each record's values as people read them."""

    fields: list[CustomField]
    users: dict = dataclass_field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        return [field.label for field in self.fields]

    def cells(self, custom: dict | None) -> list[str]:
        custom = custom or {}
        return [types.display(field, custom.get(field.key), users=self.users) for field in self.fields]

    def typed_cells(self, custom: dict | None) -> list[tuple[CustomField, object, str]]:
        """(field, stored value, displayed text) per column, for a workbook that writes figures as numbers."""
        custom = custom or {}
        return [(field, custom.get(field.key), types.display(field, custom.get(field.key), users=self.users))
                for field in self.fields]

    def write(self, sheet, row: int, first_column: int, custom: dict | None, export) -> None:
        """A record's values into a workbook's row from `first_column` on (`export`: core.spreadsheets'
        `WorkbookExport`): figures as numbers, as a record's own amounts are (sums and filters work on them), money
        in the money format; everything else as the text people read, never run as a formula."""
        for col, (field, value, text) in enumerate(self.typed_cells(custom), start=first_column):
            if not text:
                continue  # an empty cell, as a record's own empty values are
            if field.type in NUMBER_TYPES:
                sheet.write_number(row, col, Decimal(str(value)),
                                   export.money if field.type == CustomFieldType.MONEY else None)
            else:
                sheet.write_string(row, col, text)


def export_columns(target: str, viewer) -> ExportColumns:
    """What every list export adds after its own columns (leads, deals, …): one place decides which fields a role
    may take out of the system. Person fields show names: every user's, read once (a company has hundreds, an
    export a million rows)."""
    fields = visible_fields(target, viewer) if viewer is not None else []
    users = {user.pk: str(user) for user in User.objects.all()} if any(
        field.type == CustomFieldType.USER for field in fields) else {}
    return ExportColumns(fields, users)


def error_key(field_or_key) -> str:
    """The key a field's errors are reported under (`custom.<key>`), which is also its form field's name."""
    return ERROR_PREFIX + getattr(field_or_key, "key", field_or_key)


def clean_custom(target: str, data: dict | None, *, channel: str, actor, current: dict | None = None,
                 creating: bool = False, types_only: bool = False) -> tuple[dict, dict[str, list[str]]]:
    """The record's new `custom` values and every problem with them: `({key: stored value}, {"custom.<key>":
    [messages]})`.

    `data` holds the submitted values by key (typed, or text from a form or a spreadsheet); keys it leaves out
    keep `current` (or, when `creating`, get the field's default). A value for an unknown or hidden field, or one
    the actor may not edit that differs from the stored one, is refused. On `creating`, a field required on
    `channel` must have a value; on an edit, a required field may not be emptied. The public web form
    (`actor` None) writes only the fields on it. `types_only` checks the values alone, as if the actor may edit
    every field (an import's preview, before its job knows who runs it).
    """
    data = data or {}
    values = dict(current or {})
    errors: dict[str, list[str]] = {}
    fields = {field.key: field for field in definitions(target)}
    public = actor is None or not getattr(actor, "pk", None)
    for key in data:
        if key not in fields:
            errors.setdefault(error_key(key), []).append(_("There is no custom field “%(key)s”.") % {"key": key})
    for key, field in fields.items():
        allowed = types_only or (field.public if public else may_edit(field, actor))
        if key in data:
            try:
                value = types.parse(field, data[key])
            except types.ValueProblem as problem:
                errors.setdefault(error_key(field), []).append(str(problem))
                continue
            if not allowed:
                if value != values.get(key) and not (value is None and key not in values):
                    errors.setdefault(error_key(field), []).append(
                        _("You may not change “%(field)s”.") % {"field": field.label})
                continue
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        elif creating and field.default is not None and key not in values:
            values[key] = field.default
        required = channel in field.required_channels and (creating or key in data)
        if required and allowed and types.is_empty(values.get(key)) and error_key(field) not in errors:
            errors.setdefault(error_key(field), []).append(_("This field is required."))
    return values, errors


def role_choices() -> list[tuple[str, str]]:
    return list(Role.choices)


def clean_record(clean, target: str, data: dict, *, channel: str, actor, current: dict | None = None,
                 creating: bool = False):
    """A record's own cleaning (`clean()`, which may raise ValidationFailed) and its custom fields' (`data["custom"]`)
    in one round: `(clean()'s result, the new custom values or None)`, or one ValidationFailed naming every problem.
    On an edit that sends no custom values, they stay `current`."""
    from ..errors import ValidationFailed

    errors: dict[str, list[str]] = {}
    message = None
    cleaned = None
    try:
        cleaned = clean()
    except ValidationFailed as exc:
        if not exc.field_errors:
            raise
        errors.update(exc.field_errors)
        message = exc.message
    custom = current
    if "custom" in data or creating:
        submitted = data.get("custom") or {}
        if not isinstance(submitted, dict):
            errors["custom"] = [_("Give custom fields as an object of values by key.")]
        else:
            values, custom_errors = clean_custom(target, submitted, channel=channel, actor=actor, current=current,
                                                 creating=creating)
            custom = values or None
            errors.update(custom_errors)
    if errors:
        raise ValidationFailed(message or _("Please correct the marked fields."), field_errors=errors)
    return cleaned, custom


def clean_new(target: str, custom: dict | None, *, channel: str, actor) -> dict | None:
    """A new record's custom values, for a service whose other inputs are keyword arguments: `custom` cleaned as
    `clean_record` does (raising ValidationFailed naming `custom.<key>`); None, for a record made by the system
    or a step that asks no one (a renewal's draft), gives the fields' defaults and asks for no required value."""
    if custom is None:
        values, _errors = clean_custom(target, {}, channel="", actor=actor, creating=True)
        return values or None
    return clean_record(lambda: None, target, {"custom": custom}, channel=channel, actor=actor, creating=True)[1]
