"""Lead writes. Every channel (manual form, public web form, API, import) calls `lead_submit`."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record, diff, snapshot
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import Channel, User
from closeloop.core.notify import notify

from . import assignment, dedup, normalize, scoring
from .models import CONFIGURABLE_FIELDS, Campaign, ChannelPolicy, Lead, LeadSource, LeadStatus

TEXT_LIMITS = {f.name: f.max_length for f in Lead._meta.concrete_fields if getattr(f, "max_length", None)}


@dataclass
class IntakeResult:
    lead: Lead
    created: bool = True
    messages: list[str] = field(default_factory=list)
    decision: "dedup.DuplicateDecision | None" = None


def channel_policy(channel: str) -> ChannelPolicy:
    policy = ChannelPolicy.objects.filter(channel=channel).first()
    return policy or ChannelPolicy(channel=channel, required_fields=["company_name", "contact_name"])


def _clean(data: dict, *, channel: str, policy: ChannelPolicy | None = None) -> dict:
    """Validate and normalize submitted values; raise ValidationFailed naming every bad field."""
    policy = policy or channel_policy(channel)
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    for name in CONFIGURABLE_FIELDS:
        value = data.get(name)
        if name == "budget":
            continue
        text = normalize.fold_width(str(value)) if value not in (None, "") else ""
        if name == "need" and value:
            text = str(value).strip()
        limit = TEXT_LIMITS.get(name)
        if limit and len(text) > limit:
            errors.setdefault(name, []).append(_("At most %(limit)d characters.") % {"limit": limit})
        cleaned[name] = text

    budget = data.get("budget")
    cleaned["budget"] = None
    if budget not in (None, ""):
        try:
            amount = Decimal(normalize.fold_width(str(budget)).replace(",", "").replace("¥", "").replace("元", ""))
            if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
                raise InvalidOperation
            cleaned["budget"] = amount.quantize(Decimal("0.01"))
        except InvalidOperation:
            errors.setdefault("budget", []).append(_("Enter an amount in yuan, for example 50000."))

    if cleaned["mobile"]:
        cleaned["mobile_key"] = normalize.phone_key(cleaned["mobile"])
        if not cleaned["mobile_key"]:
            errors.setdefault("mobile", []).append(
                _("“%(value)s” is not a valid phone number.") % {"value": cleaned["mobile"]}
            )
    if cleaned["landline"]:
        cleaned["landline_key"] = normalize.phone_key(cleaned["landline"])
        if not cleaned["landline_key"]:
            errors.setdefault("landline", []).append(
                _("“%(value)s” is not a valid phone number; include the area code, e.g. 021-62345678.")
                % {"value": cleaned["landline"]}
            )
    if cleaned["email"]:
        cleaned["email_key"] = normalize.email_key(cleaned["email"])
        if not cleaned["email_key"]:
            errors.setdefault("email", []).append(
                _("“%(value)s” is not a valid email address.") % {"value": cleaned["email"]}
            )
        else:
            cleaned["email"] = cleaned["email_key"]
    cleaned["company_key"] = normalize.company_key(cleaned["company_name"])

    credit_code = normalize.credit_code_key(str(data.get("credit_code") or ""))
    if credit_code and (problem := normalize.credit_code_error(credit_code)):
        errors.setdefault("credit_code", []).append(problem)
    cleaned["credit_code"] = credit_code

    for name in policy.required_fields:
        if name in CONFIGURABLE_FIELDS and not cleaned.get(name) and name not in errors:
            errors.setdefault(name, []).append(_("This field is required."))
    if policy.require_contact_method and not any(
        cleaned.get(name) for name in ("mobile", "landline", "email", "wechat")
    ) and not any(name in errors for name in ("mobile", "landline", "email")):
        errors.setdefault("mobile", []).append(_("Give at least one way to reach the contact: mobile, landline, email or WeChat."))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return cleaned


def _resolve_source(data: dict, campaign: Campaign | None) -> LeadSource:
    source = data.get("source")
    if isinstance(source, LeadSource):
        return source
    if source not in (None, ""):
        found = (
            LeadSource.objects.filter(pk=source).first() if str(source).isdigit()
            else LeadSource.objects.filter(name=str(source).strip()).first()
        )
        if found is None:
            raise ValidationFailed(
                _("Unknown source “%(value)s”.") % {"value": source},
                field_errors={"source": [_("Choose one of the configured sources.")]},
            )
        return found
    if campaign is not None:
        return campaign.source
    raise ValidationFailed(_("Please correct the marked fields."), field_errors={"source": [_("This field is required.")]})


def lead_submit(*, data: dict, channel: str, actor: User | None, campaign: Campaign | None = None) -> IntakeResult:
    """The one intake path: validate → normalize → duplicates → score → assign → save → audit → notify."""
    if channel not in Channel.values:
        raise ValueError(channel)
    cleaned = _clean(data, channel=channel)
    source = _resolve_source(data, campaign)
    with transaction.atomic():
        lead = Lead(
            **cleaned,
            source=source,
            campaign=campaign,
            created_by=actor if actor is not None and actor.pk else None,
            created_via=channel,
        )
        decision = dedup.check_intake(lead=lead, channel=channel, actor=actor)
        scoring.score_lead(lead)
        assignment.assign_new_lead(lead=lead, channel=channel, actor=actor, data=data)
        lead.save()
        audit_record(actor=actor, channel=channel, action="lead.create", target=lead, changes=diff({}, snapshot(lead)))
        assignment.after_intake(lead=lead, actor=actor)
    return IntakeResult(lead=lead, decision=decision)


EDITABLE_FIELDS = CONFIGURABLE_FIELDS + ["credit_code", "source", "status"]


def lead_update(*, lead: Lead, data: dict, actor: User, channel: str) -> Lead:
    """Edit a lead's fields; normalization and validation as on intake, every change audited."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        before = snapshot(lead)
        merged = {name: getattr(lead, name) for name in CONFIGURABLE_FIELDS + ["credit_code"]}
        merged.update({k: v for k, v in data.items() if k in CONFIGURABLE_FIELDS + ["credit_code"]})
        cleaned = _clean(merged, channel=channel, policy=ChannelPolicy(channel=channel, required_fields=[], require_contact_method=False))
        for name, value in cleaned.items():
            setattr(lead, name, value)
        if "source" in data and data["source"] not in (None, ""):
            lead.source = _resolve_source({"source": data["source"]}, None)
        if "status" in data and data["status"]:
            if data["status"] not in LeadStatus.values or data["status"] == LeadStatus.MERGED:
                raise ValidationFailed(_("Please correct the marked fields."), field_errors={"status": [_("Not a status you can set.")]})
            lead.status = data["status"]
        changes = diff(before, snapshot(lead))
        if changes:
            lead.save()
            audit_record(actor=actor, channel=channel, action="lead.update", target=lead, changes=changes)
    return lead


def lead_assign(*, lead: Lead, owner: User, actor: User, channel: str = Channel.WEB, reason: str = "") -> Lead:
    """Give a lead to an owner. Only managers and admins assign; the reason is kept in the trail."""
    if not actor.can_assign:
        raise Forbidden(_("Only managers and administrators can assign leads."))
    if not owner.is_active or not assignment.can_own(owner):
        raise ValidationFailed(_("%(user)s cannot own leads.") % {"user": owner})
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.owner_id == owner.pk:
            return lead
        tracked = ["owner", "status", "assigned_at", "in_pool"]
        before = snapshot(lead, tracked)
        lead.owner = owner
        lead.assigned_at = timezone.now()
        # A manager handing over a pool or nurture lead has decided it is for sales now.
        if lead.status in (LeadStatus.NEW, LeadStatus.NURTURE):
            lead.status = LeadStatus.ASSIGNED
        lead.in_pool, lead.pooled_at = False, None
        lead.save(update_fields=["owner", "assigned_at", "status", "in_pool", "pooled_at", "updated_at"])
        audit_record(
            actor=actor, channel=channel, action="lead.assign", target=lead,
            changes=diff(before, snapshot(lead, tracked)), note=reason,
        )
        assignment.first_contact_task(lead=lead, owner=owner)
        notify(recipient=owner, kind="lead.assigned", message=_("Lead assigned to you: %s") % lead, url=lead.get_absolute_url())
    return lead
