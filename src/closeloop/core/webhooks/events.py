"""Which events exist, and turning a change into deliveries.

Every write service records its change with `core.audit.audit_record`; that one place calls `on_audit`, which
finds the events the change makes (each app declares its own, with the audit actions that make them) and writes
one delivery row per listening subscription in the service's own transaction: the event exists if and only if
the change committed. After the commit the rows get their body (the record as the API shows it, read once per
record and event) and a job each on the worker's queue.
"""

import importlib
import json
import logging
from collections.abc import Iterable
from types import SimpleNamespace

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import configcache
from ..hooks import WebhookEvent, loop_apps
from .models import WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

VERSION = 1
TEST_EVENT = "webhook.test"

# Filled from every app's `webhook_events()` when core starts (CoreConfig.ready).
EVENTS: dict[str, WebhookEvent] = {}
_BY_ACTION: dict[str, list[WebhookEvent]] = {}
_GROUPS: list[tuple[object, list[WebhookEvent]]] = []


def register() -> None:
    EVENTS.clear()
    _BY_ACTION.clear()
    _GROUPS.clear()
    for config in loop_apps():
        declared = list(config.webhook_events())
        for event in declared:
            if event.code in EVENTS or event.code == TEST_EVENT:
                raise ValueError(f"webhook event {event.code!r} is declared twice (again by {config.label})")
            EVENTS[event.code] = event
            for action in event.actions:
                _BY_ACTION.setdefault(action, []).append(event)
        if declared:
            _GROUPS.append((config.verbose_name, declared))


def groups() -> list[tuple[object, list[WebhookEvent]]]:
    """The events by the app that declares them, lowest app first (the subscription form's checkboxes)."""
    return list(_GROUPS)


def label(code: str) -> str:
    if code == TEST_EVENT:
        return _("Test event")
    return str(EVENTS[code].label) if code in EVENTS else code


class _Integration:
    """Whom a body's record is read as: an administrator, who sees every custom field that is not hidden."""

    pk = -1
    is_admin = True
    is_active = True
    is_authenticated = True
    role = "admin"


_AS_INTEGRATION = {"request": SimpleNamespace(user=_Integration())}


def api_serializer(schema: str):
    """`WebhookEvent.serialize` for a record the API shows with a django-ninja schema, named by its dotted path
    ("closeloop.leads.api.LeadOut") so that declaring events imports no API module while the apps load."""
    module_name, _, name = schema.rpartition(".")

    def serialize(record) -> dict:
        out = getattr(importlib.import_module(module_name), name)
        return out.model_validate(record, context=_AS_INTEGRATION).model_dump(mode="json")

    return serialize


def _listeners() -> dict[str, list[int]]:
    """Subscription ids by event code. Paused subscriptions listen too: their events wait for the resume."""
    listeners: dict[str, list[int]] = {}
    for pk, codes in WebhookSubscription.objects.values_list("pk", "events"):
        for code in codes or ():
            listeners.setdefault(code, []).append(pk)
    return listeners


def on_audit(*, action: str, target, changes: dict | None) -> None:
    """Called by `audit_record` for every entry; costs a dict lookup for actions no event is made of."""
    candidates = _BY_ACTION.get(action)
    if not candidates:
        return
    for event in candidates:
        if event.when is not None and not event.when(target, changes or {}):
            continue
        record = event.record(target) if event.record else target
        if record is not None and record._meta.label == event.model:
            emit_many(events=[event], records=[record])


def on_created_many(*, action: str, changes: Iterable[tuple]) -> None:
    """For services that write their audit rows in bulk (an import's leads): what `on_audit` would do for each
    `(record, changes)`, with one insert for them all."""
    candidates = _BY_ACTION.get(action)
    if not candidates:
        return
    for event in candidates:
        records = [record for record, record_changes in changes if record._meta.label == event.model
                   and event.record is None and (event.when is None or event.when(record, record_changes))]
        if records:
            emit_many(events=[event], records=records)


def emit_many(*, events: list[WebhookEvent], records: list) -> None:
    # The cached map says at no cost whether anyone listens (the common case: nobody); when someone does, the
    # subscriptions are read again inside the transaction, so a subscription deleted a moment ago in another
    # process is not written to.
    cached = configcache.cached("webhooks.listeners", _listeners, models=(WebhookSubscription,))
    if not any(cached.get(event.code) for event in events):
        return
    listeners = _listeners()
    now = timezone.now()
    rows = [
        WebhookDelivery(subscription_id=subscription_id, event=event.code, record_type=event.model,
                        record_id=record.pk, occurred_at=now)
        for event in events for record in records for subscription_id in listeners.get(event.code, ())
    ]
    if not rows:
        return
    with transaction.atomic(savepoint=False):
        WebhookDelivery.objects.bulk_create(rows, batch_size=500)
        ids = [row.pk for row in rows]
        transaction.on_commit(lambda: prepare_and_queue(ids))


def body_for(delivery: WebhookDelivery, data) -> str:
    return json.dumps({"version": VERSION, "event": delivery.event, "id": str(delivery.event_id),
                       "occurred_at": delivery.occurred_at.isoformat(), "data": data},
                      ensure_ascii=False, separators=(",", ":"))


def record_data(event_code: str, record_type: str, record_id) -> dict | None:
    """The record as the API shows it now, or None when it is gone (merged away, deleted)."""
    event = EVENTS.get(event_code)
    if event is None or record_id is None:
        return None
    record = apps.get_model(record_type).objects.filter(pk=record_id).first()
    return None if record is None else event.serialize(record)


def build_bodies(deliveries: list[WebhookDelivery]) -> None:
    """Write the body of each delivery that has none, reading each (event, record) once."""
    data: dict[tuple, object] = {}
    missing = [delivery for delivery in deliveries if not delivery.body]
    for delivery in missing:
        key = (delivery.event, delivery.record_type, delivery.record_id)
        if key not in data:
            data[key] = record_data(*key)
        delivery.body = body_for(delivery, data[key])
    if missing:
        WebhookDelivery.objects.bulk_update(missing, ["body"], batch_size=500)


# Up to this many deliveries get their body in the request that made them, right after its commit; the rest (an
# import's thousands) get it from the worker when it first sends them.
BODIES_AT_COMMIT = 200


def prepare_and_queue(ids: list[int]) -> None:
    """After the commit: bodies, then one job per delivery. A failure here leaves rows the recovery sweep takes."""
    from .sending import enqueue

    if len(ids) <= BODIES_AT_COMMIT:
        try:
            build_bodies(list(WebhookDelivery.objects.filter(pk__in=ids, body="")))
        except Exception:
            logger.exception("could not build webhook bodies for %s deliveries", len(ids))
    enqueue(ids)
