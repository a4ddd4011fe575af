"""Editing a lead's fields and giving it to an owner."""

from copy import copy
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import audited_update
from closeloop.core.customfields.registry import clean_record
from closeloop.core.errors import Conflict, ValidationFailed, invalid
from closeloop.core.inputs import text_limit_errors
from closeloop.core.models import Channel, User
from closeloop.core.notify import notify
from closeloop.core.sync import departures
from closeloop.followup.rights import Act, require
from closeloop.followup.services import tasks_cancel

from .. import assignment, scoring
from ..models import (
    ACTION_STATUSES,
    CONFIGURABLE_FIELDS,
    ChannelPolicy,
    DisqualifyReason,
    Lead,
    LeadStatus,
)
from .intake import LEAD_TARGET, clean_submission, resolve_source

EDITABLE_FIELDS = CONFIGURABLE_FIELDS + ["credit_code", "source", "status"]


def lead_update(*, lead: Lead, data: dict, actor: User, channel: str) -> Lead:
    """Edit a lead's fields; normalization and validation as on intake, every change audited."""
    require(actor, lead, Act.EDIT)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        merged = {name: getattr(lead, name) for name in CONFIGURABLE_FIELDS + ["credit_code"]}
        merged.update({k: v for k, v in data.items() if k in CONFIGURABLE_FIELDS + ["credit_code"]})
        # Every problem at once: the built-in fields' and the custom fields' together.
        policy = ChannelPolicy(channel=channel, required_fields=[], require_contact_method=False)
        values, custom = clean_record(partial(clean_submission, merged, channel=channel, policy=policy), LEAD_TARGET,
                                      data, channel=channel, actor=actor, current=lead.custom)
        if "custom" in data:
            values["custom"] = custom
        if "source" in data and data["source"] not in (None, ""):
            values["source"] = resolve_source({"source": data["source"]}, None)
        if "status" in data and data["status"] and data["status"] != lead.status:
            values["status"] = _edited_status(lead, data["status"])
            if lead.status == LeadStatus.DISQUALIFIED:  # reopened: the reason no longer holds
                values |= {"disqualify_reason": "", "disqualify_note": ""}
        # The score follows the edited fields: scored on a copy, saved and audited with them.
        edited = copy(lead)
        for name, value in values.items():
            setattr(edited, name, value)
        scoring.score_lead(edited)
        values |= {"score": edited.score, "grade": edited.grade, "score_details": edited.score_details}
        audited_update(instance=lead, data=values, actor=actor, channel=channel, action="lead.update")
    return lead


def _edited_status(lead: Lead, status: str) -> str:
    """A status an edit may set: the working ones. Converted, disqualified and merged come from their actions,
    and a converted or merged lead keeps its status (its customer and deal, or the lead it went into, carry on)."""
    if status == LeadStatus.CONVERTED:
        message = _("A lead becomes converted only by converting it: use “Convert to deal” on a qualified lead, "
                    "which creates its customer and deal.")
    elif status == LeadStatus.DISQUALIFIED:
        message = _("Disqualify a lead with “Disqualify” on its page, which asks why.")
    elif lead.status in (LeadStatus.CONVERTED, LeadStatus.MERGED):
        message = _("A %(status)s lead keeps its status.") % {"status": lead.get_status_display().lower()}
    elif status not in LeadStatus.values or status in ACTION_STATUSES:
        message = _("Not a status you can set.")
    else:
        return status
    raise invalid("status", message)


def lead_disqualify(*, lead: Lead, reason: str, note: str = "", actor: User, channel: str = Channel.WEB) -> Lead:
    """Mark a lead 无效 (disqualified) with the reason: a category, and a note (required for “other”). Its open
    tasks are cancelled and it leaves follow-up lists; editing its status back reopens it."""
    require(actor, lead, Act.EDIT)
    note = (note or "").strip()
    errors = {}
    if reason not in DisqualifyReason.values:
        errors["reason"] = [_("Choose why the lead is not worth pursuing.")]
    elif reason == DisqualifyReason.OTHER and not note:
        errors["note"] = [_("Say why the lead is not worth pursuing.")]
    # The form's field is "note": a note too long is said there, beside a missing reason, in one answer.
    if too_long := text_limit_errors(Lead, {"disqualify_note": note}):
        errors["note"] = too_long["disqualify_note"]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status in (LeadStatus.CONVERTED, LeadStatus.MERGED):
            raise Conflict(_("A %(status)s lead cannot be disqualified.") % {"status": lead.get_status_display().lower()})
        audited_update(instance=lead, data={"status": LeadStatus.DISQUALIFIED, "disqualify_reason": reason,
                                            "disqualify_note": note, "next_follow_up_at": None},
                       actor=actor, channel=channel, action="lead.disqualify", note=note)
        tasks_cancel(record=lead)
    return lead


def lead_assign(*, lead: Lead, owner: User, actor: User, channel: str = Channel.WEB, reason: str = "") -> Lead:
    """Give a lead to an owner. Only managers over the lead's owner (any manager for an ownerless lead) and admins
    assign (followup.rights' OVERSEE); the reason is kept in the trail."""
    if not owner.is_active or not assignment.can_own(owner):
        raise ValidationFailed(_("%(user)s cannot own leads.") % {"user": owner})
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        require(actor, lead, Act.OVERSEE)
        if lead.owner_id == owner.pk:
            return lead
        values = {"owner": owner, "assigned_at": timezone.now(), "in_pool": False, "pooled_at": None}
        # A manager handing over a pool or nurture lead has decided it is for sales now.
        if lead.status in (LeadStatus.NEW, LeadStatus.NURTURE):
            values["status"] = LeadStatus.ASSIGNED
        with departures(lead):  # the old owner's line may no longer see it
            audited_update(instance=lead, data=values, actor=actor, channel=channel, action="lead.assign",
                           note=reason)
        assignment.first_contact_task(lead=lead, owner=owner)
        notify(recipient=owner, kind="lead.assigned", message=_("Lead assigned to you: %s") % lead, url=lead.get_absolute_url())
    return lead
