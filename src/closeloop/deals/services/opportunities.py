"""Deals: create, edit, move through the stages with their gates, transfer to another rep."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext

from closeloop.core.audit import audit_record, audited_update, creation_changes
from closeloop.core.customfields import types
from closeloop.core.customfields.registry import clean_record
from closeloop.core.errors import Forbidden, ValidationFailed, invalid
from closeloop.core.inputs import check_text_limits, date_input, datetime_input
from closeloop.core.models import Channel, User
from closeloop.core.money import parse_money
from closeloop.core.notify import notify
from closeloop.core.sync import departures
from closeloop.followup.models import ParticipantRole
from closeloop.followup.rights import Act, may, require
from closeloop.followup.services import follow_up_time, participant_discard, participant_ensure
from closeloop.leads.models import Lead

from ..models import (
    CUSTOM_GATE_PREFIX,
    Contact,
    Customer,
    LostReason,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageHistory,
    WinReason,
    gate_custom_field,
    gate_label,
)
from .ownership import check_may_give, check_new_owner


def list_separator() -> str:
    """How a list of field names is joined in a message: 、 in Chinese, a comma otherwise."""
    # Translators: the separator between items of a short list, e.g. "budget, need".
    return pgettext("list separator", ", ")


OPPORTUNITY_FIELDS = ["name", "amount", "expected_close_date", "probability", "budget", "authority", "need", "timeline",
                      "next_step", "next_follow_up_at", "lost_reason", "lost_note", "win_reason", "win_note",
                      "contacts"]
# The record type of deals' custom fields (DealsConfig.custom_field_targets).
DEAL_TARGET = "deals.Opportunity"
# The category fields: a name or an id of one of the configured reasons.
REASON_FIELDS = {"lost_reason": (LostReason, _lazy("Choose one of the configured lost reasons.")),
                 "win_reason": (WinReason, _lazy("Choose one of the configured win reasons."))}


def _clean_opportunity_fields(opportunity: Opportunity, data: dict) -> tuple[dict, list | None]:
    """Parse the given fields (only those present); returns plain values and the contact list, if given."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    contacts = None
    for name, raw in data.items():
        if name not in OPPORTUNITY_FIELDS:
            continue
        try:
            if name in ("amount", "budget"):
                try:
                    values[name] = parse_money(raw)
                except ValueError:
                    raise invalid(name, _("Enter an amount in yuan, for example 50000.")) from None
            elif name == "expected_close_date":
                values[name] = date_input(raw, name)
            elif name == "next_follow_up_at":
                values[name] = datetime_input(raw, name)
            elif name == "probability":
                try:
                    number = int(raw) if raw not in (None, "") else None
                except (TypeError, ValueError):
                    number = -1
                if number is None:
                    continue
                if not 0 <= number <= 100:
                    raise invalid(name, _("Enter a percentage from 0 to 100."))
                values[name] = number
            elif name in REASON_FIELDS:
                model, message = REASON_FIELDS[name]
                if raw in (None, ""):
                    values[name] = None
                elif isinstance(raw, model):
                    values[name] = raw
                else:
                    found = model.objects.filter(pk=raw).first() if str(raw).isdigit() else \
                        model.objects.filter(name=str(raw).strip()).first()
                    if found is None:
                        raise invalid(name, str(message))
                    values[name] = found
            elif name == "contacts":
                ids = [c.pk if isinstance(c, Contact) else c for c in (raw or [])]
                try:
                    ids = [int(i) for i in ids]
                except (TypeError, ValueError):
                    raise invalid(name, _("Choose contacts of this customer.")) from None
                contacts = list(Contact.objects.filter(customer_id=opportunity.customer_id, pk__in=ids))
                if len(contacts) != len(set(ids)):
                    raise invalid(name, _("Choose contacts of this customer."))
            else:
                text = str(raw or "").strip()
                check_text_limits(Opportunity, {name: text})
                values[name] = text
        except ValidationFailed as exc:
            for field, messages in exc.field_errors.items():
                errors.setdefault(field, []).extend(messages)
    if "name" in values and not values["name"]:
        errors.setdefault("name", []).append(_("This field is required."))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return values, contacts


def gate_fields(stage: Stage) -> list[str]:
    """The fields a deal needs to enter `stage`: its own gate and every earlier stage's (no skipping past a gate)."""
    if stage.is_lost:
        return list(dict.fromkeys([*stage.required_fields, "lost_reason"]))
    required: list[str] = []
    for earlier in Stage.objects.filter(pipeline_id=stage.pipeline_id, position__lte=stage.position, is_lost=False):
        required.extend(earlier.required_fields)
    return list(dict.fromkeys(required))


def _missing(opportunity: Opportunity, fields: list[str], has_contacts) -> list[str]:
    missing = []
    for name in fields:
        if name == "contacts":
            if not opportunity.pk or not has_contacts():
                missing.append(name)
        elif name.startswith(CUSTOM_GATE_PREFIX):
            field = gate_custom_field(name)
            if field is not None and types.is_empty((opportunity.custom or {}).get(field.key)):
                missing.append(name)
        elif getattr(opportunity, name, None) in (None, ""):
            missing.append(name)
    return missing


def missing_gate_fields(opportunity: Opportunity, stage: Stage) -> list[str]:
    # Asked only when the gate names contacts, and never of a deal not saved yet (it has none).
    return _missing(opportunity, gate_fields(stage), lambda: opportunity.contacts.exists())


def missing_by_stage(opportunity: Opportunity, stages: list[Stage]) -> dict[int, list[str]]:
    """{stage id: what the deal lacks to enter it} for every stage of its pipeline (the deal page's hints), from
    the stages in hand and one look at the contacts; `gate_fields` and `missing_gate_fields` per stage cost two
    queries each. The same rules: a stage needs its own gate and every earlier open stage's."""
    contacts: list[bool] = []

    def has_contacts() -> bool:
        if not contacts:
            contacts.append(opportunity.contacts.exists())
        return contacts[0]

    result = {}
    for stage in stages:
        if stage.is_lost:
            fields = [*stage.required_fields, "lost_reason"]
        else:
            fields = [name for earlier in sorted(stages, key=lambda s: (s.position, s.pk))
                      if not earlier.is_lost and earlier.position <= stage.position for name in earlier.required_fields]
        result[stage.pk] = _missing(opportunity, list(dict.fromkeys(fields)), has_contacts)
    return result


def field_label(name: str) -> str:
    if name == "lost_reason":
        return str(_("lost reason"))
    if name == "win_reason":
        return str(_("win reason"))
    return gate_label(name)


def _check_gate(opportunity: Opportunity, stage: Stage) -> None:
    if missing := missing_gate_fields(opportunity, stage):
        raise _gate_error(stage, missing)


def _gate_error(stage: Stage, missing: list[str]) -> ValidationFailed:
    labels = list_separator().join(field_label(name) for name in missing)
    return ValidationFailed(
        _("To move to “%(stage)s”, fill in: %(fields)s.") % {"stage": stage.name, "fields": labels},
        code="stage_gate",
        field_errors={name: [_("Required for “%(stage)s”.") % {"stage": stage.name}] for name in missing},
        stage=stage.pk, missing=missing,
    )


def _stage_values(stage: Stage, now) -> dict:
    """What entering `stage` sets on a deal: the stage, its probability, and the status it means."""
    values = {"stage": stage, "stage_entered_at": now, "probability": stage.probability}
    if stage.is_won:
        return values | {"status": OpportunityStatus.WON, "won_at": now, "lost_at": None}
    if stage.is_lost:
        return values | {"status": OpportunityStatus.LOST, "lost_at": now, "won_at": None, "win_reason": None,
                         "win_note": ""}
    return values | {"status": OpportunityStatus.OPEN, "won_at": None, "lost_at": None, "lost_reason": None,
                     "lost_note": "", "win_reason": None, "win_note": ""}


def _record_stage_entry(opportunity: Opportunity, stage: Stage, *, actor, now) -> None:
    """Close the deal's open stage interval and open one for `stage` (cycle time per stage reads these)."""
    by = actor if getattr(actor, "pk", None) else None
    StageHistory.objects.filter(opportunity=opportunity, exited_at__isnull=True).update(exited_at=now, exited_by=by)
    StageHistory.objects.create(opportunity=opportunity, stage=stage, stage_name=stage.name, entered_at=now,
                                entered_by=by)


def opportunity_create(*, customer: Customer, data: dict, actor: User, channel: str = Channel.WEB,
                       owner: User | None = None, pipeline: Pipeline | None = None, lead: Lead | None = None) -> Opportunity:
    """Open a deal with a customer: only whoever may edit the customer may (seeing it as a collaborator from
    another team is not enough: that would be a second rep on one company, 撞单). A lead's conversion (`lead`
    given) has checked the right on the lead and the new owner's on the customer itself."""
    if lead is None:
        require(actor, customer, Act.EDIT)
    pipeline = pipeline or Pipeline.default()
    if pipeline is None:
        raise ValidationFailed(_("No active pipeline is configured; an administrator can set one up under Pipelines."),
                               code="no_pipeline")
    owner = owner or actor
    if lead is None:
        check_may_give(actor, owner)
    check_new_owner(owner)
    first = pipeline.stages.filter(is_won=False, is_lost=False).order_by("position", "id").first()
    if first is None:
        raise invalid("stage", _("The pipeline “%(name)s” has no open stage.") % {"name": pipeline})
    with transaction.atomic():
        now = timezone.now()
        opportunity = Opportunity(customer=customer, pipeline=pipeline, stage=first, owner=owner, created_by=actor,
                                  lead=lead, probability=first.probability, stage_entered_at=now)
        (values, contacts), custom = clean_record(
            lambda: _clean_opportunity_fields(opportunity, {"name": "", **data}), DEAL_TARGET, data, channel=channel,
            actor=actor, creating=True)
        values["custom"] = custom
        values.pop("lost_reason", None)
        values.pop("win_reason", None)
        for name, value in values.items():
            setattr(opportunity, name, value)
        if opportunity.next_follow_up_at is None or opportunity.next_follow_up_at <= now:
            # An open deal always has a next step; a lead's overdue one is not a plan.
            opportunity.next_follow_up_at = follow_up_time(pipeline.follow_up_days, now=now)
        if missing := missing_gate_fields(opportunity, first):
            # Contacts are set after the save, so they cannot block here.
            if missing != ["contacts"] or not contacts:
                raise _gate_error(first, missing)
        opportunity.save()
        if contacts is not None:
            opportunity.contacts.set(contacts)
        StageHistory.objects.create(opportunity=opportunity, stage=first, stage_name=first.name, entered_at=now,
                                    entered_by=actor)
        audit_record(actor=actor, channel=channel, action="opportunity.create", target=opportunity,
                     changes=creation_changes(opportunity))
        if owner != actor:
            notify(recipient=owner, kind="opportunity.assigned", message=_("New deal for you: %s") % opportunity,
                   url=opportunity.get_absolute_url())
    return opportunity


def opportunity_update(*, opportunity: Opportunity, data: dict, actor: User, channel: str = Channel.WEB) -> Opportunity:
    """Edit fields. A deal in a gated stage keeps its gate: emptying a required field is refused."""
    require(actor, opportunity, Act.EDIT)
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update(of=("self",)).select_related("stage").get(pk=opportunity.pk)
        (values, contacts), custom = clean_record(lambda: _clean_opportunity_fields(opportunity, data), DEAL_TARGET,
                                                  data, channel=channel, actor=actor, current=opportunity.custom)
        values["custom"] = custom
        if not opportunity.stage.is_lost:
            values.pop("lost_reason", None)
        if not opportunity.stage.is_won:
            values.pop("win_reason", None)
        if contacts is not None:
            opportunity.contacts.set(contacts)
        audited_update(instance=opportunity, data=values, actor=actor, channel=channel, action="opportunity.update",
                       check=lambda deal: _check_gate(deal, deal.stage),
                       extra_changes={"contacts": [None, ", ".join(str(c) for c in contacts)]} if contacts is not None
                       else None)
    return opportunity


def opportunity_move_stage(*, opportunity: Opportunity, stage: Stage, actor: User | None, channel: str = Channel.WEB,
                           fields: dict | None = None, because: str = "") -> Opportunity:
    """Move a deal to a stage. The stage gate is checked here, so pages, the API and imports all obey it.

    `fields` fills in values on the way (the gate form on the board); they are saved only if the move succeeds.
    A move the pipeline's own rule makes (a quote sent or accepted) comes with `actor=None`, the system, and
    `because` names what triggered it, for the trail and the owner's notice.
    """
    require(actor, opportunity, Act.EDIT)
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update(of=("self",)).select_related("stage", "owner").get(pk=opportunity.pk)
        if stage.pipeline_id != opportunity.pipeline_id:
            raise invalid("stage", _("“%(stage)s” is not a stage of this deal's pipeline.") % {"stage": stage.name})
        fields = fields or {}
        # A gate's custom fields are filled on the way like its own (`fields["custom"]`, by key).
        (values, contacts), custom = clean_record(lambda: _clean_opportunity_fields(opportunity, fields), DEAL_TARGET,
                                                  fields, channel=channel, actor=actor, current=opportunity.custom)
        if "custom" in fields:
            values["custom"] = custom
        if contacts is not None:
            opportunity.contacts.set(contacts)
        old_stage, now = opportunity.stage, timezone.now()
        moving = stage.pk != old_stage.pk
        if moving:
            values |= _stage_values(stage, now)
        audited_update(instance=opportunity, data=values, actor=actor, channel=channel,
                       action="opportunity.stage" if moving else "opportunity.update",
                       note=" · ".join(filter(None, [f"{old_stage.name} → {stage.name}" if moving else "", because])),
                       check=lambda deal: _check_gate(deal, stage), always=contacts is not None)
        if moving:
            _record_stage_entry(opportunity, stage, actor=actor, now=now)
        if moving and opportunity.owner_id != getattr(actor, "pk", None):
            message = (_("%(deal)s moved to %(stage)s by %(actor)s") if actor is not None
                       else _("%(deal)s moved to %(stage)s: %(because)s"))
            notify(recipient=opportunity.owner, kind="opportunity.stage",
                   message=message % {"deal": opportunity, "stage": stage.name, "actor": actor, "because": because},
                   url=opportunity.get_absolute_url())
    return opportunity


def opportunity_transfer(*, opportunity: Opportunity, new_owner: User, actor: User, reason: str,
                         keep_as_collaborator: bool = False, channel: str = Channel.WEB) -> Opportunity:
    """A manager gives a deal to another rep; the old owner loses access unless kept as a collaborator."""
    if not reason.strip():
        raise invalid("reason", _("Give the reason for the transfer; it is kept in the trail."))
    check_new_owner(new_owner)
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update(of=("self",)).select_related("owner").get(pk=opportunity.pk)
        if not may(actor, opportunity, Act.OVERSEE):
            raise Forbidden(_("Only a manager of the current owner, or an administrator, can transfer a deal."))
        old = opportunity.owner
        if old == new_owner:
            return opportunity
        opportunity.owner = new_owner
        with departures(opportunity):  # the old owner's line, unless kept as a collaborator
            opportunity.save(update_fields=["owner", "updated_at"])
            participant_discard(record=opportunity, user=new_owner)
            if keep_as_collaborator:
                participant_ensure(record=opportunity, user=old, role=ParticipantRole.SALES)
        audit_record(actor=actor, channel=channel, action="opportunity.transfer", target=opportunity,
                     changes={"owner": [str(old), str(new_owner)]}, note=reason)
        notify(recipient=new_owner, kind="opportunity.transferred",
               message=_("Deal transferred to you: %s") % opportunity, url=opportunity.get_absolute_url())
        notify(recipient=old, kind="opportunity.transferred",
               message=_("Deal %(deal)s was transferred to %(user)s") % {"deal": opportunity, "user": new_owner})
    return opportunity
