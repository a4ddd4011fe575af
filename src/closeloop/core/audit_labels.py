"""Human labels for the audit trail: what an action code and a changed field are called on a timeline.

The trail stores stable codes (`lead.create`, `expected_close_date`) so it can be queried and survives a
change of language; people read the labels. Field labels come from the models' verbose names, so they are
translated wherever the models are. Actions' labels and the few keys that are not model fields come from
the apps that write them (`LoopApp.audit_actions`, `audit_extra_labels`, `audit_action_models`).
"""

import functools
from collections import defaultdict
from datetime import datetime

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.template.defaultfilters import yesno
from django.utils import dateformat, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from .audit import declared_actions
from .customfields import registry, types
from .hooks import loop_apps
from .models import AuditEntry, CustomFieldType, User
from .money import format_yuan, is_money_field


@functools.cache
def _vocabulary() -> tuple[dict, dict, dict]:
    """(extra keys' labels, per-model field labels, action prefix → model), gathered from the apps."""
    extra: dict[str, object] = {"api_token": _("API token"), "api_token_access": _("API token access"),
                                "api_token_expires_at": _("API token expires")}
    model_fields: dict[tuple[str, str], object] = {}
    action_models: dict[str, tuple[str, str]] = {}
    for config in loop_apps():
        for key, label in config.audit_extra_labels.items():
            if key.count(".") == 2:
                app_label, model, name = key.split(".")
                model_fields[(f"{app_label}.{model}", name)] = label
            else:
                extra[key] = label
        for prefix, model_label in config.audit_action_models.items():
            app_label, _sep, model = model_label.partition(".")
            action_models[prefix] = (app_label, model)
    return extra, model_fields, action_models


# Columns the code derives for matching (normalized phone/email/company keys, brand fragments): they change
# with the fields people edit and mean nothing to them. Non-editable `*_key` columns are hidden as well.
INTERNAL_FIELDS = {"brand_head", "brand_tail", "path"}

CUSTOM_PREFIX = "custom."

# The same format as the entry headers on the timelines.
DATETIME_FORMAT = "Y-m-d H:i"


def action_label(action: str) -> str:
    """The label of an action code; an unknown code (from an app no longer installed) is shown as it is."""
    return str(declared_actions().get(action, action))


def _model_of(entry):
    # An app may record events on the record people look at (a contact's on its customer) while their
    # changes are another model's fields: labelled with the customer's, a contact's name read “company name”.
    if described := _vocabulary()[2].get(entry.action.partition(".")[0]):
        return apps.get_model(*described)
    try:
        # Served from ContentType's cache after the first lookup: no query per timeline row.
        return ContentType.objects.get_for_id(entry.target_type_id).model_class()
    except ContentType.DoesNotExist:
        return None


def _field(model, name: str):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def field_label(model, name: str) -> str:
    extra, model_fields, _models = _vocabulary()
    if model is not None and (label := model_fields.get((model._meta.label_lower, name))):
        return str(label)
    field = _field(model, name)
    if field is not None and getattr(field, "verbose_name", None):
        return str(field.verbose_name)
    return str(extra.get(name, name.replace("_", " ")))


def _split(change) -> tuple:
    if isinstance(change, (list, tuple)):
        return (list(change) + [None, None])[0], (list(change) + [None, None])[1]
    return None, change


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_internal(field, name: str) -> bool:
    return name in INTERNAL_FIELDS or (name.endswith("_key") and not getattr(field, "editable", False))


def _score_lines(value) -> str:
    """`score_details` (a list of rules that gave points) as one line per rule: “来源: 展会 +10”."""
    lines = []
    for line in value:
        if isinstance(line, dict):
            points = line.get("points", 0)
            lines.append(f"{line.get('rule', '')} {'+' if isinstance(points, int) and points > 0 else ''}{points}")
        else:
            lines.append(str(line))
    return "\n".join(lines)


def _local_datetime(value: str):
    """An ISO timestamp from the trail in the reader's time zone, or None when the text is not one."""
    if "T" not in value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    if moment is None:
        return None
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return dateformat.format(moment, DATETIME_FORMAT)


def _display(field, value, names: dict):
    """A value as people read it: a related record by its name, a choice by its label, yes/no for flags,
    an amount as money, a timestamp in local time, a list as lines."""
    if value is None:
        return value
    if isinstance(value, datetime):
        return dateformat.format(timezone.localtime(value) if timezone.is_aware(value) else value, DATETIME_FORMAT)
    if isinstance(value, list):
        if any(isinstance(item, dict) and "rule" in item for item in value):
            return _score_lines(value)
        return ", ".join(str(item) for item in value)
    if isinstance(value, str) and (moment := _local_datetime(value)):
        return moment
    if field is not None and (field.many_to_one or field.one_to_one):
        # Foreign keys are stored as ids; an id whose record is gone stays as it was stored.
        return names.get(field.related_model, {}).get(value, value) if _is_id(value) else value
    if field is not None and getattr(field, "flatchoices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return yesno(value)
    if is_money_field(field) and value != "":
        # Stored as the column's text ("1200000.00"); read as every amount in the app is: ¥1,200,000.00.
        return format_yuan(value)
    return value


def labelled_changes(entries, *, viewer=None) -> dict[int, list[dict]]:
    """Rows of `{"field", "label", "old", "new"}` per audit entry id, for a whole timeline at once.

    Related records are looked up in one query per model across all the entries, not one per row.
    `entries` may hold timeline items wrapping entries (`.item`); anything else is skipped.
    """
    plans = []
    wanted: dict = defaultdict(set)
    for entry in (getattr(e, "item", e) for e in entries):
        if not isinstance(entry, AuditEntry) or not entry.changes:
            continue
        model = _model_of(entry)
        rows = []
        for name, change in entry.changes.items():
            old, new = _split(change)
            if name.startswith(CUSTOM_PREFIX):
                custom = _custom_field(entry, model, name)
                # Fields are never deleted: a change whose field is not found is not shown to a viewer it could
                # tell a restricted value.
                if viewer is None or (custom is not None and registry.may_see(custom, viewer)):
                    if custom is not None and custom.type == CustomFieldType.USER:
                        wanted[User].update(v for v in (old, new) if _is_id(v))
                    rows.append((name, custom, old, new))
                continue
            field = _field(model, name)
            if is_internal(field, name):
                continue
            if field is not None and (field.many_to_one or field.one_to_one):
                wanted[field.related_model].update(v for v in (old, new) if _is_id(v))
            rows.append((name, field, old, new))
        plans.append((entry.pk, model, rows))
    names = {related: {pk: str(obj) for pk, obj in related._default_manager.in_bulk(list(pks)).items()}
             for related, pks in wanted.items() if pks}
    # A change that reads the same before and after (a stage re-entered within the minute: 20:57 → 20:57) tells
    # the reader nothing: it is not shown.
    return {
        pk: [row for row in (
            _custom_row(field, name, old, new, names.get(User, {})) if name.startswith(CUSTOM_PREFIX) else
            {"field": name, "label": field_label(model, name), "old": _display(field, old, names),
             "new": _display(field, new, names)} for name, field, old, new in rows) if row["old"] != row["new"]]
        for pk, model, rows in plans
    }


def change_rows(entry) -> list[dict]:
    """The labelled changes of one entry."""
    return labelled_changes([entry]).get(entry.pk, [])


def _custom_field(entry, model, name: str):
    """The definition of a custom field's change (`custom.<key>`), hidden ones too (their history stays): a field
    of the model the entry's changes are labelled with, else of the record it is written on (a quote's custom
    values change in an entry labelled with its version's fields)."""
    key = name.removeprefix(CUSTOM_PREFIX)
    found = registry.definition(model._meta.label, key) if model is not None else None
    if found is None:
        try:
            target = ContentType.objects.get_for_id(entry.target_type_id).model_class()
        except ContentType.DoesNotExist:
            target = None
        if target is not None and target is not model:
            found = registry.definition(target._meta.label, key)
    return found


def _custom_row(field, name: str, old, new, users: dict) -> dict:
    """A custom field's change labelled and shown as its field is (`users`: names for person fields); a key no
    field has any more is shown as it is stored."""
    if field is None:
        return {"field": name, "label": name.removeprefix(CUSTOM_PREFIX), "old": old, "new": new}
    return {"field": name, "label": field.label, "old": types.display(field, old, users=users) or None,
            "new": types.display(field, new, users=users) or None}
