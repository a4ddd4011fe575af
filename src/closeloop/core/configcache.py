"""A per-process cache for the small configuration tables that every intake reads.

Scoring rules, assignment rules, channel policies, sources and team robots change a few times a
month but were read on every submitted lead: a dozen queries per request. Here each is loaded once
and kept until one of its models is saved or deleted in this process (signals drop the entry at
once), and at most `CLOSELOOP_CONFIG_CACHE_SECONDS` (default 5) for changes made by another process,
which is how long another server process may go on using an admin's previous rules.

Cached values are shared between requests: callers must treat them as read-only.
"""

import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

_entries: dict[str, tuple[float, object]] = {}
_names_by_model: dict[type, set[str]] = {}
_lock = threading.Lock()


def cached[T](name: str, load: Callable[[], T], *, models: tuple[type, ...]) -> T:
    """The value stored under `name`, loaded with `load()` when missing or expired.

    `models` are the tables the value is read from; a write to any of them drops the entry.
    """
    entry = _entries.get(name)
    now = time.monotonic()
    if entry is not None and entry[0] > now:
        return entry[1]
    with _lock:
        for model in models:
            _names_by_model.setdefault(model, set()).add(name)
    value = load()
    _entries[name] = (now + settings.CLOSELOOP_CONFIG_CACHE_SECONDS, value)
    return value


def clear(*names: str) -> None:
    """Drop the named entries, or every entry when no name is given."""
    if not names:
        _entries.clear()
        return
    for name in names:
        _entries.pop(name, None)


def _model_changed(sender, **kwargs) -> None:
    names = _names_by_model.get(sender)
    if not names:
        return
    names = tuple(names)
    clear(*names)
    # A value loaded later in the same transaction would hold rows that are not committed yet; drop
    # it again once they are, so other requests load the committed state.
    transaction.on_commit(lambda: clear(*names))


def model_changed(model: type) -> None:
    """What a save of `model` does to the cache, for writes that send no signal (`core.fastsql.insert`)."""
    if model in _names_by_model:
        _model_changed(model)


def _m2m_changed(sender, instance, **kwargs) -> None:
    _model_changed(type(instance))


post_save.connect(_model_changed, dispatch_uid="closeloop.configcache.save")
post_delete.connect(_model_changed, dispatch_uid="closeloop.configcache.delete")
m2m_changed.connect(_m2m_changed, dispatch_uid="closeloop.configcache.m2m")
