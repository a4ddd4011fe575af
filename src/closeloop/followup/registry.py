"""What the apps declared to the follow-up family (`LoopApp.record_types`, `task_kinds`, `reminder_sources`,
`record_panels`), read once per process: hooks return plain data that does not change while it runs."""

from functools import cache

from django.apps import apps
from django.http import Http404

from closeloop.core.hooks import RecordPanel, RecordType, ReminderSource, TaskKind, TimelineSource, collect


@cache
def record_types() -> dict[type, RecordType]:
    """Every registered record type by its model class, lowest app first."""
    return {apps.get_model(spec.model): spec for spec in collect("record_types")}


def record_models() -> list[type]:
    return list(record_types())


def record_type(model_or_record) -> RecordType:
    model = model_or_record if isinstance(model_or_record, type) else type(model_or_record)
    spec = record_types().get(model)
    if spec is None:
        raise LookupError(f"{model._meta.label} is not a record type of the follow-up family")
    return spec


def model_for_name(name: str) -> type:
    """The record model for a URL's type name ("lead", "customer", "opportunity"); 404 for anything else."""
    for model in record_types():
        if model._meta.model_name == name:
            return model
    raise Http404


@cache
def task_kinds() -> dict[str, TaskKind]:
    return {spec.kind: spec for spec in collect("task_kinds")}


def task_kind(kind: str) -> TaskKind | None:
    return task_kinds().get(kind)


@cache
def reminder_sources() -> list[ReminderSource]:
    return collect("reminder_sources")


def timeline_sources_for(model) -> list[TimelineSource]:
    """What higher apps add to the timeline of `model`'s records (a deal's contracts)."""
    return _timeline_sources().get(model._meta.label, [])


@cache
def _timeline_sources() -> dict[str, list[TimelineSource]]:
    sources: dict[str, list[TimelineSource]] = {}
    for source in collect("timeline_sources"):
        sources.setdefault(source.model, []).append(source)
    return sources


@cache
def record_panels() -> list[RecordPanel]:
    return sorted(collect("record_panels"), key=lambda panel: panel.order)


def panels_for(record, slot: str) -> list[RecordPanel]:
    label = record._meta.label
    return [panel for panel in record_panels() if panel.model == label and panel.slot == slot]
