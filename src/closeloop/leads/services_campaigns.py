"""Campaign and lead-source writes: the configuration behind the public web form and the source list.

Administrators manage everything; marketing manages the campaigns of its own source channels and the
company's list of sources. Every write is audited in its transaction.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record, audited_create, audited_update
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import Channel, Role, User

from .models import Campaign, LeadSource, new_form_key

CAMPAIGN_FIELDS = ["name", "source", "active", "thank_you_message"]


def can_manage_campaigns(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and (user.is_admin or user.role == Role.MARKETING))


def _require_manager(actor: User) -> None:
    if not can_manage_campaigns(actor):
        raise Forbidden(_("Only administrators and marketing can manage campaigns and sources."))


def _check_source_allowed(actor: User, source: LeadSource) -> None:
    if actor.is_admin or actor.source_channels.filter(pk=source.pk).exists():
        return
    raise ValidationFailed(
        _("Please correct the marked fields."),
        field_errors={"source": [_("You can only run campaigns for your own source channels.")]},
    )


def campaign_save(*, actor: User, data: dict, campaign: Campaign | None = None) -> Campaign:
    """Create a campaign or change its name, source, active flag or thank-you message."""
    _require_manager(actor)
    name = str(data.get("name") or "").strip()
    source = data.get("source")
    errors = {}
    if not name:
        errors["name"] = [_("Give the campaign a name.")]
    if not isinstance(source, LeadSource):
        errors["source"] = [_("Choose the source channel its leads belong to.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    _check_source_allowed(actor, source)
    with transaction.atomic():
        values = {"name": name, "source": source, "active": bool(data.get("active", True)),
                  "thank_you_message": str(data.get("thank_you_message") or "").strip()}
        if campaign is not None:
            campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
            audited_update(instance=campaign, data=values, actor=actor, channel=Channel.WEB, action="campaign.update")
            return campaign
        # The creation entry names what a person chose; the form key is generated.
        campaign = audited_create(instance=Campaign(**values), actor=actor, channel=Channel.WEB,
                                  action="campaign.create", fields=CAMPAIGN_FIELDS)
    return campaign


def campaign_regenerate_key(*, actor: User, campaign: Campaign) -> Campaign:
    """A new form key: the old embed code stops working (for a key that leaked to spammers)."""
    _require_manager(actor)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        old_key = campaign.form_key
        campaign.form_key = new_form_key()
        campaign.save(update_fields=["form_key"])
        # Keys are not secrets (they are in every embedding page), so the trail may show them.
        audit_record(
            actor=actor, channel=Channel.WEB, action="campaign.regenerate_key", target=campaign,
            changes={"form_key": [old_key, campaign.form_key]},
        )
    return campaign


def _source_name(name: str, *, exclude: LeadSource | None = None) -> str:
    name = str(name or "").strip()
    if not name:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors={"name": [_("Give the source a name.")]})
    if len(name) > LeadSource._meta.get_field("name").max_length:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors={"name": [_("At most 50 characters.")]})
    clash = LeadSource.objects.filter(name=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise ValidationFailed(
            _("Please correct the marked fields."), field_errors={"name": [_("A source with this name already exists.")]}
        )
    return name


def lead_source_create(*, actor: User, name: str) -> LeadSource:
    """Add a source at the end of the list. A marketer who adds one runs it: it joins their channels."""
    _require_manager(actor)
    name = _source_name(name)
    with transaction.atomic():
        last = LeadSource.objects.order_by("-position").values_list("position", flat=True).first()
        source = audited_create(instance=LeadSource(name=name, position=0 if last is None else last + 1),
                                actor=actor, channel=Channel.WEB, action="source.create")
        if not actor.is_admin:
            actor.source_channels.add(source)
            audit_record(actor=actor, channel=Channel.WEB, action="user.source_channels", target=actor,
                         changes={"source_channels": [None, source.name]}, note=_("Added the source they created."))
    return source


def lead_source_update(*, actor: User, source: LeadSource, name: str, active: bool) -> LeadSource:
    """Rename or (de)activate a source. Inactive sources keep their leads but leave the pick lists."""
    _require_manager(actor)
    name = _source_name(name, exclude=source)
    with transaction.atomic():
        source = LeadSource.objects.select_for_update().get(pk=source.pk)
        audited_update(instance=source, data={"name": name, "active": active}, actor=actor, channel=Channel.WEB,
                       action="source.update")
    return source


def lead_source_move(*, actor: User, source: LeadSource, offset: int) -> LeadSource:
    """Move a source up (-1) or down (+1) in the pick lists, renumbering positions 0..n-1."""
    _require_manager(actor)
    with transaction.atomic():
        # Lock the whole (short) list so two people reordering at once cannot interleave.
        ordered = list(LeadSource.objects.select_for_update().order_by("position", "name"))
        index = next(i for i, s in enumerate(ordered) if s.pk == source.pk)
        target = min(max(index + offset, 0), len(ordered) - 1)
        if target == index:
            return ordered[index]
        moved = ordered.pop(index)
        ordered.insert(target, moved)
        for position, item in enumerate(ordered):
            if item.position != position:
                old = item.position
                LeadSource.objects.filter(pk=item.pk).update(position=position)
                item.position = position
                audit_record(actor=actor, channel=Channel.WEB, action="source.move", target=item,
                             changes={"position": [old, position]})
    return moved

