"""Merging duplicate leads into one, field by field, with everything attached to them."""


from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import audited_update
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import Channel, User
from closeloop.core.notify import notify
from closeloop.followup.services import rows_move

from ..models import (
    CONFIGURABLE_FIELDS,
    ChannelPolicy,
    Lead,
    LeadStatus,
)
from .intake import clean_submission

# Fields a merge lets a person choose, one lead's value each.
MERGE_FIELDS = CONFIGURABLE_FIELDS + ["credit_code", "source", "owner"]


def merge_field_values(leads: list[Lead]) -> dict[str, list[tuple[Lead, object]]]:
    """For each mergeable field, the value every lead holds (for the merge form's choices)."""
    return {name: [(lead, getattr(lead, name)) for lead in leads] for name in MERGE_FIELDS}


def lead_merge(*, survivor: Lead, others: list[Lead], field_choices: dict[str, int], actor: User,
               channel: str = Channel.WEB) -> Lead:
    """Merge `others` into `survivor`, field by field as chosen; everything attached to them moves over.

    `field_choices` maps a field of MERGE_FIELDS to the id of the lead whose value survives; a field
    not named keeps the survivor's value, or the first non-empty one among the others when it has none.
    Activities, tasks and every other record pointing at the merged leads move to the survivor; their
    audit entries stay where they are and the survivor's timeline reads them through `merged_into`.
    """
    others = [lead for lead in others if lead.pk != survivor.pk]
    if not others:
        raise ValidationFailed(_("Choose at least two leads to merge."))
    ids = sorted({survivor.pk, *(lead.pk for lead in others)})
    visible = Lead.objects.visible_to(actor).filter(pk__in=ids).count()
    if visible != len(ids):
        raise Forbidden(_("You can only merge leads you can see."))
    with transaction.atomic():
        # Locks in primary-key order, so two merges touching the same leads cannot deadlock.
        locked = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        survivor = locked[survivor.pk]
        others = [locked[lead.pk] for lead in others]
        if not actor.can_assign and any(lead.owner_id != actor.pk for lead in locked.values()):
            raise Forbidden(_("Only managers, administrators or the owner of every one of these leads can merge them."))
        if any(lead.status == LeadStatus.MERGED for lead in locked.values()):
            raise ValidationFailed(_("One of these leads was already merged; open the lead it was merged into instead."))
        everyone = [survivor, *others]
        values = {}
        for name in MERGE_FIELDS:
            chosen = field_choices.get(name)
            if chosen not in (None, ""):
                if int(chosen) not in locked:
                    raise ValidationFailed(_("Choose each value from one of the leads being merged."),
                                           field_errors={name: [_("Not one of the merged leads.")]})
                values[name] = getattr(locked[int(chosen)], name)
            elif getattr(survivor, name) in (None, ""):
                values[name] = next((getattr(lead, name) for lead in others if getattr(lead, name) not in (None, "")),
                                    getattr(survivor, name))
        kept = {}
        text_values = {k: v for k, v in values.items() if k not in ("source", "owner")}
        if text_values:
            current = {name: getattr(survivor, name) for name in CONFIGURABLE_FIELDS + ["credit_code"]}
            kept = clean_submission({**current, **text_values}, channel=channel, policy=ChannelPolicy(
                channel=channel, required_fields=[], require_contact_method=False))
        if values.get("source") is not None:
            kept["source"] = values["source"]
        owner = survivor.owner
        if "owner" in values and values["owner"] != survivor.owner:
            owner = values["owner"]
            kept |= {"owner": owner, "assigned_at": timezone.now() if owner else None,
                     "in_pool": owner is None and survivor.in_pool}
        if survivor.duplicate_of_id in ids:
            kept["duplicate_of"] = None
        merged_ids = [lead.pk for lead in others]
        moved = _move_related(survivor=survivor, merged_ids=merged_ids, owner=owner)
        # Leads merged earlier into one of these now point at the survivor, so one hop reaches every history.
        Lead.objects.filter(merged_into_id__in=merged_ids).update(merged_into=survivor)
        Lead.objects.filter(duplicate_of_id__in=merged_ids).exclude(pk__in=ids).update(duplicate_of=survivor)
        audited_update(
            instance=survivor, data=kept, actor=actor, channel=channel, action="lead.merge", always=True,
            note=_("Merged leads %(ids)s into this one; moved %(moved)s.") % {
                "ids": ", ".join(f"#{pk}" for pk in merged_ids),
                "moved": ", ".join(f"{n} {label}" for label, n in moved.items() if n) or _("nothing else")},
        )
        for lead in others:
            audited_update(instance=lead, data={"status": LeadStatus.MERGED, "merged_into": survivor, "duplicate_of": None},
                           actor=actor, channel=channel, action="lead.merged", always=True,
                           note=_("Merged into lead #%(id)d.") % {"id": survivor.pk})
        for lead in everyone:
            if lead.owner_id and lead.owner != actor and lead.owner_id != survivor.owner_id:
                notify(recipient=lead.owner, kind="lead.merged",
                       message=_("Your lead %(lead)s was merged into %(survivor)s") % {"lead": lead, "survivor": survivor},
                       url=survivor.get_absolute_url())
    return survivor


def _move_related(*, survivor: Lead, merged_ids: list[int], owner) -> dict[str, int]:
    """Point every record that belongs to a merged lead (activities, tasks, deals, ...) at the survivor.

    Found from the model graph, so records other apps attach to leads later move too; the follow-up
    family's rows (generic relations, outside the graph) move with `rows_move`.
    """
    moved = rows_move(model=Lead, from_ids=merged_ids, to=survivor, owner_id=owner.pk if owner else None)
    for relation in Lead._meta.related_objects:
        if not relation.one_to_many or relation.related_model is Lead:
            continue
        model, field_name = relation.related_model, relation.field.name
        count = model._default_manager.filter(**{f"{field_name}__in": merged_ids}).update(**{field_name: survivor})
        moved[str(model._meta.verbose_name_plural)] = count
    return moved
