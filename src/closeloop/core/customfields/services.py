"""The audited writes of custom field definitions (administrators only).

A field is never deleted: hiding it takes it off forms, pages and the API and keeps its values and its trail.
Its key and record type never change (the API, exports and imports name it by key). Changing its type or its
options converts every stored value first and changes nothing when one cannot be converted.
"""

from django.apps import apps
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..audit import audited_create, audited_update
from ..errors import Forbidden, ValidationFailed
from ..models import Channel, CustomField, Role
from ..models import CustomFieldType as T
from . import indexes, registry, search, types

CHOICE_TYPES = {T.CHOICE, T.MULTI_CHOICE}
EDITABLE = ["label_zh", "label_en", "options", "default", "help_text", "section", "position", "required_channels",
            "view_roles", "edit_roles", "public", "list_column", "searchable"]
EXAMPLES = 5


def _require_admin(actor) -> None:
    if actor is None or not actor.is_admin:
        raise Forbidden(_("Only administrators manage custom fields."))


def _options(raw) -> list[str]:
    """Options as typed: a list, or one per line; blanks and repeats dropped, order kept."""
    items = raw if isinstance(raw, list | tuple) else str(raw or "").splitlines()
    seen: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in seen:
            seen.append(text)
    return seen


def _clean(data: dict, *, target: str, field_type: str, errors: dict) -> dict:
    """The definition's editable values from `data`, checked; problems added to `errors` by form field."""
    target_config = registry.targets().get(target)
    values = {name: data[name] for name in EDITABLE if name in data}
    for name in ("label_zh", "label_en", "help_text", "section"):
        if name in values:
            values[name] = str(values[name] or "").strip()
    if "label_zh" in values and not values["label_zh"]:
        errors.setdefault("label_zh", []).append(_("Give the field a Chinese label."))
    if "options" in values:
        values["options"] = _options(values["options"])
    if field_type in CHOICE_TYPES and not values.get("options", data.get("current_options")):
        errors.setdefault("options", []).append(_("Give the options to choose from, one per line."))
    if field_type not in CHOICE_TYPES:
        values["options"] = []
    channels = target_config.channels if target_config else ()
    if "required_channels" in values:
        values["required_channels"] = [c for c in Channel.values if c in set(values["required_channels"] or [])]
        if unknown := set(data["required_channels"] or []) - set(channels):
            errors.setdefault("required_channels", []).append(
                _("These records do not come in through: %(channels)s.") % {"channels": ", ".join(sorted(unknown))})
    for name in ("view_roles", "edit_roles"):
        if name in values:
            chosen = set(values[name] or [])
            if unknown := chosen - set(Role.values):
                errors.setdefault(name, []).append(_("Unknown roles: %(roles)s.") % {"roles": ", ".join(sorted(unknown))})
            values[name] = [role for role in Role.values if role in chosen]
    if "position" in values:
        try:
            values["position"] = max(0, min(32767, int(values["position"] or 0)))
        except (TypeError, ValueError):
            errors.setdefault("position", []).append(_("Enter a whole number, for example 10."))
    if "list_column" in values:
        values["list_column"] = bool(values["list_column"])
    # Only a text-like field is looked in by the lists' search; a field whose type stops being one leaves it.
    if "searchable" in values or field_type not in search.SEARCHABLE_TYPES:
        values["searchable"] = (bool(values.get("searchable")) and field_type in search.SEARCHABLE_TYPES
                                and bool(target_config and target_config.searched))
    if "public" in values:
        # A person field on the public form would list the company's users to any visitor.
        values["public"] = (bool(values["public"]) and bool(target_config and target_config.public_form)
                            and field_type != T.USER)
    return values


def _clean_default(values: dict, field: CustomField, errors: dict) -> None:
    if "default" not in values:
        return
    probe = CustomField(type=field.type, options=values.get("options", field.options))
    try:
        values["default"] = types.parse(probe, values["default"])
    except types.ValueProblem as problem:
        errors.setdefault("default", []).append(str(problem))


def custom_field_create(*, target: str, key: str, field_type: str, data: dict, actor) -> CustomField:
    """Add a field to a record type."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    key = (key or "").strip()
    if target not in registry.targets():
        errors.setdefault("target", []).append(_("Choose the kind of record the field belongs to."))
    if not indexes.KEY_PATTERN.match(key):
        errors.setdefault("key", []).append(
            _("Use lower-case letters, digits and underscores, starting with a letter, at most 40 (e.g. sub_industry)."))
    elif CustomField.objects.filter(target=target, key=key).exists():
        errors.setdefault("key", []).append(
            _("This record type already has a field “%(key)s” (perhaps hidden): choose another key.") % {"key": key})
    if field_type not in T.values:
        errors.setdefault("type", []).append(_("Choose a type."))
    values = _clean(data, target=target, field_type=field_type, errors=errors)
    field = CustomField(target=target, key=key, type=field_type, **values)
    _clean_default(values, field, errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    field.default = values.get("default")
    with transaction.atomic():
        audited_create(instance=field, actor=actor, channel=Channel.WEB, action="custom_field.create")
        search.field_changed(field, was_searchable=False)
    return field


def custom_field_update(*, field: CustomField, data: dict, actor, field_type: str | None = None) -> dict:
    """Change a field's labels, options, rules or type. A new type, or options that drop a stored value, first
    converts every stored value; when one cannot be converted nothing changes and the error says how many
    and gives examples."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    field_type = field_type or field.type
    if field_type not in T.values:
        errors.setdefault("type", []).append(_("Choose a type."))
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    values = _clean({**data, "current_options": field.options}, target=field.target, field_type=field_type,
                    errors=errors)
    probe = CustomField(target=field.target, key=field.key, type=field_type,
                        options=values.get("options", field.options))
    _clean_default(values, probe, errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        converted = 0
        if field_type != field.type or probe.options != field.options:
            converted = _convert_values(field, probe)
            values |= {"type": field_type}
        note = ngettext("%(count)d value converted.", "%(count)d values converted.", converted) % {
            "count": converted} if converted else ""
        was_searchable, was_type = search.is_searchable(field), field.type
        changes = audited_update(instance=field, data=values, actor=actor, channel=Channel.WEB,
                                 action="custom_field.convert" if field_type != field.type else "custom_field.update",
                                 note=note)
        search.field_changed(field, was_searchable=was_searchable)
        if field.indexed and was_type != field_type:
            # A multiple choice's index is of another kind (GIN, or SQLite's side table) than a value's.
            indexes.index_create(field.target, field.key, field_type)
        return changes


def _convert_values(field: CustomField, new: CustomField) -> int:
    """Convert the stored values of `field` to `new`'s type and options, in the caller's transaction; refuse,
    changing nothing, when any cannot be. Returns how many values changed."""
    model = apps.get_model(field.target)
    records = model.objects.filter(custom__isnull=False).order_by("pk")
    if connection.vendor == "postgresql":
        records = records.select_for_update()
    changed = []
    failures = 0
    examples: list[str] = []
    for pk, custom in records.values_list("pk", "custom").iterator(chunk_size=2000):
        if not isinstance(custom, dict) or types.is_empty(custom.get(field.key)):
            continue
        value = custom[field.key]
        try:
            new_value = types.convert(field, new, value)
        except types.ValueProblem:
            failures += 1
            if len(examples) < EXAMPLES:
                examples.append(f"#{pk} “{types.display(field, value)}”")
            continue
        if new_value != value:
            changed.append((pk, {**custom, field.key: new_value} if new_value is not None else
                            {k: v for k, v in custom.items() if k != field.key}))
    if failures:
        raise ValidationFailed(
            ngettext("%(count)d stored value cannot become %(type)s, for example %(examples)s. Correct or clear "
                     "it first, or keep the type and options.",
                     "%(count)d stored values cannot become %(type)s, for example %(examples)s. Correct or clear "
                     "them first, or keep the type and options.", failures)
            % {"count": failures, "type": new.get_type_display(), "examples": "、".join(examples)},
            code="unconvertible", field_errors={"type": [_("%(count)d values cannot be converted.") % {"count": failures}]},
            count=failures, examples=examples,
        )
    for start in range(0, len(changed), 500):
        batch = [model(pk=pk, custom=custom) for pk, custom in changed[start:start + 500]]
        model.objects.bulk_update(batch, ["custom"])
    return len(changed)


def custom_field_hide(*, field: CustomField, hidden: bool, actor) -> dict:
    """Hide a field (its values and trail stay) or show it again."""
    _require_admin(actor)
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        return audited_update(instance=field, data={"hidden": hidden}, actor=actor, channel=Channel.WEB,
                              action="custom_field.hide" if hidden else "custom_field.show")


def custom_field_index(*, field: CustomField, indexed: bool, actor) -> dict:
    """Switch the expression index that serves the lists' filter on this field on or off."""
    _require_admin(actor)
    if indexed and field.type not in indexes.INDEXABLE_TYPES:
        raise ValidationFailed(_("A %(type)s field is not filtered by value, so it has no index.")
                               % {"type": field.get_type_display().lower()}, field_errors={})
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        if indexed:
            indexes.index_create(field.target, field.key, field.type)
        else:
            indexes.index_drop(field.target, field.key)
        return audited_update(instance=field, data={"indexed": indexed}, actor=actor, channel=Channel.WEB,
                              action="custom_field.index")
