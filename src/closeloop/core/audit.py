"""The audit trail (过程留痕): every service write calls `audit_record` inside its transaction.

Action codes are typed: each app declares its own as a `TextChoices` (`LoopApp.audit_actions`, values
"record.verb", labels for the timelines), and `audit_record` refuses a code no installed app declared.
"""

import functools
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import fastsql
from .hooks import loop_apps
from .inputs import check_text_limits
from .models import AuditEntry, Channel
from .webhooks import events as webhook_events


class CoreAction(models.TextChoices):
    USER_CREATE = "user.create", _("User created")
    USER_UPDATE = "user.update", _("User edited")
    DEPARTMENT_CREATE = "department.create", _("Department created")
    DEPARTMENT_UPDATE = "department.update", _("Department edited")
    API_TOKEN_CREATE = "api_token.create", _("API token created")
    API_TOKEN_REVOKE = "api_token.revoke", _("API token revoked")
    USER_LOCKED_OUT = "user.locked_out", _("Logins locked after repeated failures")
    USER_API_TOKEN_THROTTLED = "user.api_token_throttled", _("API requests throttled after unknown tokens")
    ROBOT_CREATE = "robot.create", _("Group robot created")
    ROBOT_UPDATE = "robot.update", _("Group robot edited")
    ROBOT_DELETE = "robot.delete", _("Group robot deleted")
    ROBOT_TEST = "robot.test", _("Test message sent")
    NOTIFICATION_PREFERENCES_UPDATE = "notification_preferences.update", _("Notification settings changed")
    CUSTOM_FIELD_CREATE = "custom_field.create", _("Custom field added")
    CUSTOM_FIELD_UPDATE = "custom_field.update", _("Custom field edited")
    CUSTOM_FIELD_HIDE = "custom_field.hide", _("Custom field hidden")
    CUSTOM_FIELD_SHOW = "custom_field.show", _("Custom field shown again")
    CUSTOM_FIELD_CONVERT = "custom_field.convert", _("Custom field's type changed, values converted")
    CUSTOM_FIELD_INDEX = "custom_field.index", _("Custom field's filter index switched")
    WEBHOOK_CREATE = "webhook.create", _("Webhook subscription created")
    WEBHOOK_UPDATE = "webhook.update", _("Webhook subscription edited")
    WEBHOOK_ROTATE_SECRET = "webhook.rotate_secret", _("Webhook signing secret rotated")
    WEBHOOK_PAUSE = "webhook.pause", _("Webhook subscription paused")
    WEBHOOK_RESUME = "webhook.resume", _("Webhook subscription resumed")
    WEBHOOK_DELETE = "webhook.delete", _("Webhook subscription deleted")
    WEBHOOK_REPLAY = "webhook.replay", _("Webhook delivery replayed")
    WEBHOOK_TEST = "webhook.test", _("Webhook test event sent")
    SAVED_VIEW_CREATE = "saved_view.create", _("View saved")
    SAVED_VIEW_UPDATE = "saved_view.update", _("View changed")
    SAVED_VIEW_DELETE = "saved_view.delete", _("View deleted")
    SAVED_VIEW_TEAM_DEFAULT = "saved_view.team_default", _("Team's default view set")
    EXPORT_REQUEST = "export.request", _("Large export requested")


@functools.cache
def declared_actions() -> dict[str, object]:
    """Every action code the installed apps declare, with its label."""
    actions: dict[str, object] = {}
    for config in loop_apps():
        if config.audit_actions is not None:
            for value, label in config.audit_actions.choices:
                if value in actions:
                    raise ValueError(f"audit action {value!r} is declared twice (again by {config.label})")
                actions[value] = label
    return actions


def _plain(value):
    """A JSON-safe, human-readable form of a field value for the trail."""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict:
    """The current values of a record's concrete fields, by attribute name (foreign keys as their id)."""
    result = {}
    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in {"id", "updated_at"}:
            continue
        result[field.name] = getattr(obj, field.attname)
    return result


def creation_changes(obj: models.Model) -> dict:
    """`diff({}, snapshot(obj))` for a new record, without the generic detours: bulk inserts run it per row."""
    values = obj.__dict__
    changes = {}
    for name, attname in _creation_fields(type(obj)):
        value = values.get(attname)
        if value is None:
            continue
        if name == CUSTOM:
            changes |= custom_changes(None, value)
            continue
        changes[name] = [None, value if type(value) in (str, int, bool) else _plain(value)]
    return changes


def creation_changes_many(objs: list) -> list[dict]:
    """`creation_changes` of each new record of one model (a bulk insert's rows): the field list walked once per
    call, each record's values taken in one C call, and a value the records share (a chunk's one timestamp)
    made readable once."""
    if not objs:
        return []
    fields = _creation_fields(type(objs[0]))
    names = [name for name, _attname in fields]
    take = itemgetter(*[attname for _name, attname in fields])
    plain_types = (str, int, bool)
    readable: dict[int, object] = {}  # id(value) → _plain(value): the records share their timestamps

    result = []
    for obj in objs:
        try:
            values = take(obj.__dict__)
        except KeyError:  # a field not loaded: the general path
            result.append(creation_changes(obj))
            continue
        changes = {}
        for name, value in zip(names, values, strict=True):
            if value is None:
                continue
            if name == CUSTOM:
                changes |= custom_changes(None, value)
            elif type(value) in plain_types:
                changes[name] = [None, value]
            else:
                key = id(value)
                if key not in readable:
                    readable[key] = _plain(value)
                changes[name] = [None, readable[key]]
        result.append(changes)
    return result


def _unaudited(model) -> frozenset:
    """Columns a model derives from its other fields for its own machinery (`unaudited_fields` on the model):
    saved with the change that made them, but the change is the news, not them."""
    return getattr(model, "unaudited_fields", frozenset())


def _creation_fields(model) -> list[tuple[str, str]]:
    fields = model.__dict__.get("_audit_creation_fields")
    if fields is None:
        skipped = {"id", "updated_at"} | _unaudited(model)
        fields = [(f.name, f.attname) for f in model._meta.concrete_fields if f.name not in skipped]
        model._audit_creation_fields = fields
    return fields


# A record's custom field values (core/customfields): one JSON column, audited key by key as "custom.<key>",
# so the trail names the field that changed with its label.
CUSTOM = "custom"


def custom_changes(before: dict | None, after: dict | None) -> dict:
    """`{"custom.<key>": [old, new]}` for every custom value that changed."""
    before, after = before or {}, after or {}
    return {f"{CUSTOM}.{key}": [before.get(key), after.get(key)]
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)}


def diff(before: dict, after: dict) -> dict:
    """`{field: [old, new]}` for every field whose value changed (custom values key by key)."""
    changes = {}
    for name, value in after.items():
        if before.get(name) == value:
            continue
        if name == CUSTOM:
            changes |= custom_changes(before.get(name), value)
        else:
            changes[name] = [_plain(before.get(name)), _plain(value)]
    return changes


def audit_record(
    *, actor, channel: str, action: str, target: models.Model, changes: dict | None = None, note: str = ""
) -> AuditEntry:
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if action not in declared_actions():
        raise ValueError(f"undeclared audit action {action!r}: add it to the app's audit actions")
    # One prepared INSERT (core.fastsql): every write of every service passes here.
    entry = fastsql.insert(AuditEntry(
        actor=actor if getattr(actor, "pk", None) else None,
        channel=channel,
        action=action,
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        changes={k: [_plain(v[0]), _plain(v[1])] for k, v in (changes or {}).items()},
        note=note,
    ))
    # Every change passes here, so this is where outbound webhooks hear of it (in the same transaction).
    webhook_events.on_audit(action=action, target=target, changes=entry.changes)
    return entry


def audited_create(*, instance: models.Model, actor, channel: str, action: str, target: models.Model | None = None,
                   note: str = "", fields: list[str] | None = None) -> models.Model:
    """Save a new record and write its creation entry in the caller's transaction: every field it was given,
    or only those in `fields` (what a person chose, not a generated key or a file path). Text longer than its
    field allows is refused here, for every service and channel, before anything is written."""
    check_text_limits(type(instance), {f.name: getattr(instance, f.attname) for f in instance._meta.concrete_fields})
    instance.save()
    changes = creation_changes(instance)
    if fields is not None:
        changes = {name: change for name, change in changes.items() if name in fields}
    audit_record(actor=actor, channel=channel, action=action, target=target or instance, changes=changes, note=note)
    return instance


def audited_update(*, instance: models.Model, data: dict, actor, channel: str, action: str,
                   fields: list[str] | None = None, target: models.Model | None = None, note: str = "",
                   extra_changes: dict | None = None, always: bool = False,
                   check: Callable[[models.Model], None] | None = None) -> dict:
    """The one way a service changes a record's fields: set `data` on `instance` (only the names in `fields`,
    when given), and if a value changed, save just those columns (`update_fields`, with `updated_at` when the
    model keeps one) and write one audit entry with each changed field's old and new value, in the caller's
    transaction (shaped like the styleguide's `model_update`).

    `target` is the record whose trail gets the entry (the instance by default: a contact's edit is on its
    customer's trail); `extra_changes` adds changes that are not columns (many-to-many, a contact list);
    `always` writes the entry even when nothing changed (the action itself is the news); `check(instance)`
    runs on the changed instance before anything is saved and may refuse it (a stage gate, a rule's
    consistency); text longer than its field allows is refused first. Returns the changes; {} means nothing was
    saved and, unless `always`, nothing audited.
    """
    names = [name for name in (fields if fields is not None else data) if name in data]
    check_text_limits(type(instance), {name: data[name] for name in names})
    before = snapshot(instance, names)
    for name in names:
        setattr(instance, name, data[name])
    if check is not None:
        check(instance)
    changed = diff(before, snapshot(instance, names))
    if changed:
        columns = list(dict.fromkeys(name.partition(".")[0] for name in changed))
        if any(field.name == "updated_at" for field in instance._meta.concrete_fields):
            columns.append("updated_at")
        instance.save(update_fields=columns)
    skipped = _unaudited(type(instance))
    changes = {name: change for name, change in changed.items() if name not in skipped} | (extra_changes or {})
    if changes or always:
        audit_record(actor=actor, channel=channel, action=action, target=target or instance, changes=changes,
                     note=note)
    return changes


def audit_trail(obj: models.Model):
    return AuditEntry.objects.for_object(obj).select_related("actor")
