"""Pipeline settings (administrators): pipelines, their stages with gates, and lost-reason categories."""

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from closeloop.core.audit import audit_record, audited_create, audited_update, snapshot
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from closeloop.core.models import Channel, User

from ..models import (
    LostReason,
    Opportunity,
    Pipeline,
    Stage,
    StageHistory,
    gate_choices,
)
from .opportunities import field_label, gate_fields, list_separator


def _require_admin(actor: User):
    if not actor.is_admin:
        raise Forbidden(_("Only administrators configure pipelines."))


def pipeline_save(*, actor: User, data: dict, pipeline: Pipeline | None = None, channel: str = Channel.WEB) -> Pipeline:
    _require_admin(actor)
    name = str(data.get("name") or "").strip()
    if not name:
        raise invalid("name", _("This field is required."))
    with transaction.atomic():
        if Pipeline.objects.filter(name=name).exclude(pk=getattr(pipeline, "pk", None)).exists():
            raise invalid("name", _("A pipeline with this name exists."))
        values = {"name": name, "position": int(data.get("position") or 0), "active": bool(data.get("active", True)),
                  "is_default": bool(data.get("is_default", pipeline.is_default if pipeline else False)),
                  "follow_up_days": int(data.get("follow_up_days") or (pipeline.follow_up_days if pipeline else 7))}
        if values["is_default"]:
            Pipeline.objects.exclude(pk=getattr(pipeline, "pk", None)).filter(is_default=True).update(is_default=False)
        if pipeline is None:
            return audited_create(instance=Pipeline(**values), actor=actor, channel=channel, action="pipeline.create")
        audited_update(instance=pipeline, data=values, actor=actor, channel=channel, action="pipeline.update",
                       always=True)
    return pipeline


def stage_save(*, actor: User, pipeline: Pipeline, data: dict, stage: Stage | None = None,
               channel: str = Channel.WEB) -> Stage:
    _require_admin(actor)
    errors = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    try:
        probability = int(data.get("probability") or 0)
        if not 0 <= probability <= 100:
            raise ValueError
    except (TypeError, ValueError):
        errors["probability"] = [_("Enter a percentage from 0 to 100.")]
        probability = 0
    required = [f for f in (data.get("required_fields") or []) if f]
    known = {name for name, _label in gate_choices()} | set(getattr(stage, "required_fields", None) or [])
    if unknown := [f for f in required if f not in known]:
        errors["required_fields"] = [_("Unknown fields: %(names)s") % {"names": ", ".join(unknown)}]
    stale = data.get("stale_after_days")
    try:
        stale = int(stale) if stale not in (None, "") else None
        if stale is not None and not 1 <= stale <= 3650:
            raise ValueError
    except (TypeError, ValueError):
        errors["stale_after_days"] = [_("Enter a number of days from 1 to 3650, or leave empty.")]
        stale = None
    is_won, is_lost = bool(data.get("is_won")), bool(data.get("is_lost"))
    if is_won and is_lost:
        errors["is_lost"] = [_("A stage cannot be both won and lost.")]
    if name and Stage.objects.filter(pipeline=pipeline, name=name).exclude(pk=getattr(stage, "pk", None)).exists():
        errors["name"] = [_("This pipeline already has a stage with this name.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        siblings = list(Stage.objects.select_for_update().filter(pipeline=pipeline)
                        .exclude(pk=getattr(stage, "pk", None)).order_by("position", "id"))
        position = _open_before_closed(int(data.get("position") or 0), closed=is_won or is_lost, siblings=siblings)
        values = {"name": name, "probability": probability, "required_fields": required,
                  "position": position, "stale_after_days": stale, "is_won": is_won,
                  "is_lost": is_lost}
        if stage is None or stage.position != position:
            _make_room(siblings=siblings, position=position, name=name, actor=actor, channel=channel)
        if stage is None:
            return audited_create(instance=Stage(pipeline=pipeline, **values), actor=actor, channel=channel,
                                  action="stage.create")
        audited_update(instance=stage, data=values, actor=actor, channel=channel, action="stage.update", always=True)
    return stage


def stage_move(*, actor: User, stage: Stage, index: int, channel: str = Channel.WEB) -> Stage:
    """Put the stage at `index` (0 first) in its pipeline's order, as the settings' drag or its up/down buttons
    ask: it takes the position of the stage now there, which moves down a place with the later ones (stage_save's
    rule), or goes last, but never across the line between open and closed stages (stage_save keeps won and lost
    after the open ones). Only the position changes, audited on each stage that moved."""
    _require_admin(actor)
    others = list(Stage.objects.filter(pipeline_id=stage.pipeline_id).exclude(pk=stage.pk).order_by("position", "id"))
    index = max(0, min(int(index), len(others)))
    position = others[index].position if index < len(others) else (others[-1].position + 1 if others else 0)
    data = {"name": stage.name, "probability": stage.probability, "required_fields": stage.required_fields,
            "position": position, "stale_after_days": stage.stale_after_days, "is_won": stage.is_won,
            "is_lost": stage.is_lost}
    return stage_save(actor=actor, pipeline=stage.pipeline, data=data, stage=stage, channel=channel)


def _open_before_closed(position: int, *, closed: bool, siblings: list[Stage]) -> int:
    """The position asked for, kept on its side of the line: open stages come before the won and lost ones (the
    board reads left to right towards the outcome, and a 赢单 column among the open ones reads as a step to pass).
    An open stage asked for below the first closed one goes just before it; a closed one asked for above the last
    open one goes just after it."""
    if closed:
        last_open = max((s.position for s in siblings if not s.is_closed), default=None)
        return position if last_open is None or position > last_open else last_open + 1
    first_closed = min((s.position for s in siblings if s.is_closed), default=None)
    return position if first_closed is None or position <= first_closed else first_closed


def _make_room(*, siblings: list[Stage], position: int, name: str, actor: User, channel: str):
    """A stage put at a taken position goes before the stage there: that one and every later one move down a
    place, so "at position 4" means before what is at 4 now, never after the won and lost stages."""
    if not any(sibling.position == position for sibling in siblings):
        return
    for sibling in reversed(siblings):
        if sibling.position >= position:
            audited_update(instance=sibling, data={"position": sibling.position + 1}, actor=actor, channel=channel,
                           action="stage.update", note=_("Moved down a place for “%(stage)s”.") % {"stage": name})


def _stage_kind(stage: Stage) -> str:
    return "won" if stage.is_won else "lost" if stage.is_lost else "open"


def stage_place(stage: Stage) -> int:
    """Where the stage is in its pipeline's order, 1 first, as the settings page numbers them."""
    return Stage.objects.filter(pipeline_id=stage.pipeline_id).filter(
        Q(position__lt=stage.position) | Q(position=stage.position, id__lt=stage.pk)).count() + 1


def stage_delete_targets(stage: Stage):
    """Where the deals of `stage` may go before it is deleted: the other stages of its pipeline of the same kind.

    Same kind only (open to open, won to won, lost to lost): deleting a stage is reorganising the pipeline,
    not winning or losing deals in bulk, so no deal's status, won or lost date changes on the way.
    """
    kind = {"won": Q(is_won=True), "lost": Q(is_lost=True), "open": Q(is_won=False, is_lost=False)}[_stage_kind(stage)]
    return Stage.objects.filter(kind, pipeline_id=stage.pipeline_id).exclude(pk=stage.pk).order_by("position", "id")


def _deals_missing_gate(deals, stage: Stage):
    """The deals of `deals` that lack a field the gate of `stage` requires, in SQL (a stage may hold thousands)."""
    missing = Q()
    for name in gate_fields(stage):
        if name == "contacts":
            missing |= ~Q(pk__in=Opportunity.contacts.through.objects.values("opportunity_id"))
            continue
        missing |= Q(**{f"{name}__isnull": True})
        if isinstance(Opportunity._meta.get_field(name), (models.CharField, models.TextField)):
            missing |= Q(**{name: ""})
    return deals.filter(missing) if missing else deals.none()


def stage_delete(*, actor: User, stage: Stage, move_to: Stage | None = None, channel: str = Channel.WEB) -> int:
    """Delete a stage; its deals first move to `move_to`, another stage of the same pipeline and kind.

    Without `move_to` a stage holding deals is refused. A pipeline keeps at least one open, one won and
    one lost stage, so deals can still be created, won and lost. Returns how many deals moved.
    """
    _require_admin(actor)
    with transaction.atomic():
        # Locks the pipeline's stages in id order: two admins deleting the last two won stages at once
        # cannot both pass the "one remains" check.
        siblings = list(Stage.objects.select_for_update().filter(pipeline_id=stage.pipeline_id).order_by("pk"))
        stage = next((s for s in siblings if s.pk == stage.pk), None)
        if stage is None:
            raise Conflict(_("This stage no longer exists."), code="stage_gone")
        kind = _stage_kind(stage)
        if not any(_stage_kind(s) == kind for s in siblings if s.pk != stage.pk):
            message = {
                "won": _("“%(stage)s” is the pipeline's only won stage; add another won stage before deleting it."),
                "lost": _("“%(stage)s” is the pipeline's only lost stage; add another lost stage before deleting it."),
                "open": _("“%(stage)s” is the pipeline's only open stage; new deals need one to start in."),
            }[kind]
            raise Conflict(message % {"stage": stage.name}, code="last_stage_of_kind")
        deals = Opportunity.objects.filter(stage=stage)
        count = deals.count()
        if count and move_to is None:
            raise Conflict(
                ngettext("%(n)d deal is in “%(stage)s”. Choose a stage to move it to first.",
                         "%(n)d deals are in “%(stage)s”. Choose a stage to move them to first.", count)
                % {"n": count, "stage": stage.name}, code="stage_has_deals", deals=count)
        moved = 0
        if count:
            if not stage_delete_targets(stage).filter(pk=move_to.pk).exists():
                raise invalid("move_to", _("Choose another stage of the same pipeline, of the same kind (open, won or lost)."))
            if blocked := list(_deals_missing_gate(deals, move_to).values_list("name", flat=True)[:5]):
                labels = list_separator().join(field_label(name) for name in gate_fields(move_to))
                raise invalid("move_to", _("Some deals lack what “%(stage)s” requires (%(fields)s), for example: "
                                            "%(deals)s. Choose an earlier stage.")
                               % {"stage": move_to.name, "fields": labels, "deals": "、".join(blocked)})
            moved = _move_all(deals, stage, move_to, actor=actor, channel=channel)
        # The whole configuration of the deleted stage stays readable in the trail.
        changes = {name: [value, None] for name, value in snapshot(stage).items() if value not in (None, "", [])}
        note = ""
        if moved:
            note = ngettext("%(n)d deal moved to “%(stage)s”.", "%(n)d deals moved to “%(stage)s”.", moved) % {
                "n": moved, "stage": move_to.name}
        audit_record(actor=actor, channel=channel, action="stage.delete", target=stage, changes=changes, note=note)
        stage.delete()
    return moved


def _move_all(deals, stage: Stage, target: Stage, *, actor: User, channel: str) -> int:
    """Move every deal of `stage` to `target` with its stage history; a few statements whatever the number."""
    now = timezone.now()
    ids = list(deals.select_for_update().order_by("pk").values_list("pk", flat=True))
    StageHistory.objects.filter(opportunity_id__in=ids, exited_at__isnull=True).update(exited_at=now, exited_by=actor)
    StageHistory.objects.bulk_create(
        [StageHistory(opportunity_id=pk, stage=target, stage_name=target.name, entered_at=now, entered_by=actor)
         for pk in ids], batch_size=1000)
    Opportunity.objects.filter(pk__in=ids).update(stage=target, stage_entered_at=now, probability=target.probability,
                                                 updated_at=now)
    # One entry per deal, so each deal's own trail says why it changed stage.
    for deal in Opportunity.objects.filter(pk__in=ids).only("pk"):
        audit_record(actor=actor, channel=channel, action="opportunity.stage", target=deal,
                     changes={"stage": [stage.name, target.name]},
                     note=_("Stage “%(stage)s” was deleted by an administrator.") % {"stage": stage.name})
    return len(ids)


def reason_save(*, actor: User, model: type, data: dict, reason=None, channel: str = Channel.WEB):
    """Create or edit a lost-reason or win-reason category (`model`): one name each, kept for the review."""
    _require_admin(actor)
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        raise invalid("name", _("Give a name of at most 100 characters."))
    if model.objects.filter(name=name).exclude(pk=getattr(reason, "pk", None)).exists():
        raise invalid("name", _("This reason exists."))
    with transaction.atomic():
        values = {"name": name, "position": int(data.get("position") or 0), "active": bool(data.get("active", True))}
        if reason is None:
            return audited_create(instance=model(**values), actor=actor, channel=channel,
                                  action="lost_reason.create" if model is LostReason else "win_reason.create")
        audited_update(instance=reason, data=values, actor=actor, channel=channel,
                       action="lost_reason.update" if model is LostReason else "win_reason.update", always=True)
    return reason
