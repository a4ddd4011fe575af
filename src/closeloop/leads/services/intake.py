"""The one intake path for every channel (manual form, public web form, API, import): validate, normalize,
find duplicates, score, assign, save, audit, notify."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core import configcache, fastsql
from closeloop.core.audit import audit_record, creation_changes, diff, snapshot
from closeloop.core.customfields import registry
from closeloop.core.errors import Conflict, ValidationFailed
from closeloop.core.inputs import text_limit_errors
from closeloop.core.models import Channel, User
from closeloop.core.money import parse_money
from closeloop.core.notify import notify
from closeloop.followup.models import Activity, ActivityKind

from .. import assignment, dedup, normalize, scoring
from ..models import (
    CONFIGURABLE_FIELDS,
    Campaign,
    ChannelPolicy,
    DuplicateAction,
    Lead,
    LeadSource,
    LeadStatus,
)
from . import intake_fast

# The record type leads' custom fields are declared for (LeadsConfig.custom_field_targets).
LEAD_TARGET = "leads.Lead"


@dataclass
class IntakeResult:
    lead: Lead
    created: bool = True
    messages: list[str] = field(default_factory=list)
    decision: "dedup.DuplicateDecision | None" = None


def channel_policy(channel: str) -> ChannelPolicy:
    """The channel's intake policy (cached per process; read-only)."""
    def load():
        policy = ChannelPolicy.objects.filter(channel=channel).first()
        return policy or ChannelPolicy(channel=channel, required_fields=["company_name", "contact_name"])

    return configcache.cached(f"leads.policy.{channel}", load, models=(ChannelPolicy,))


def _sources() -> tuple[dict, dict]:
    """Every source by primary key and by name, cached per process."""
    def load():
        sources = list(LeadSource.objects.all())
        return {str(s.pk): s for s in sources}, {s.name: s for s in sources}

    return configcache.cached("leads.sources", load, models=(LeadSource,))


def clean_submission(data: dict, *, channel: str, policy: ChannelPolicy | None = None) -> dict:
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
        cleaned[name] = text
    errors.update(text_limit_errors(Lead, cleaned))

    budget = data.get("budget")
    cleaned["budget"] = None
    if budget not in (None, ""):
        try:
            cleaned["budget"] = parse_money(budget)
        except ValueError:
            errors.setdefault("budget", []).append(_("Enter an amount in yuan, for example 50000."))

    for name in ("mobile", "landline"):
        if cleaned[name]:
            cleaned[f"{name}_key"] = normalize.phone_key(cleaned[name])
            if not cleaned[f"{name}_key"]:
                errors.setdefault(name, []).append(normalize.phone_error(name, cleaned[name]))
    if cleaned["email"]:
        cleaned["email_key"] = normalize.email_key(cleaned["email"])
        if not cleaned["email_key"]:
            errors.setdefault("email", []).append(
                _("“%(value)s” is not a valid email address.") % {"value": cleaned["email"]}
            )
        else:
            cleaned["email"] = cleaned["email_key"]
    cleaned.update(normalize.company_keys(cleaned["company_name"]))

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
    cleaned["match_key"] = dedup.match_key_for(cleaned)
    return cleaned


def resolve_source(data: dict, campaign: Campaign | None) -> LeadSource:
    source = data.get("source")
    if isinstance(source, LeadSource):
        return source
    if source not in (None, ""):
        by_pk, by_name = _sources()
        found = by_pk.get(str(source)) if str(source).isdigit() else by_name.get(str(source).strip())
        if found is None:
            raise ValidationFailed(
                _("Unknown source “%(value)s”.") % {"value": source},
                field_errors={"source": [_("Choose one of the configured sources.")]},
            )
        return found
    if campaign is not None:
        return campaign.source
    raise ValidationFailed(_("Please correct the marked fields."), field_errors={"source": [_("This field is required.")]})


def _clean_with_source(data: dict, *, channel: str, campaign: Campaign | None, actor=None) -> tuple[dict, LeadSource]:
    """Every field checked in one round, the source and custom fields too: a person learns of all they must fix
    at once."""
    errors: dict[str, list[str]] = {}
    message = ""
    cleaned = source = None
    try:
        cleaned, custom = registry.clean_record(partial(clean_submission, data, channel=channel), LEAD_TARGET, data,
                                                channel=channel, actor=actor, creating=True)
        if custom:
            cleaned["custom"] = custom
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        message = exc.message
    try:
        source = resolve_source(data, campaign)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        message = message or exc.message
    if errors:
        raise ValidationFailed(message, field_errors=errors)
    return cleaned, source


def lead_submit(*, data: dict, channel: str, actor: User | None, campaign: Campaign | None = None,
                within: Callable[[IntakeResult], None] | None = None) -> IntakeResult:
    """The one intake path: validate → normalize → duplicates → score → assign → save → audit → notify.

    Reading and computing happen before the write transaction, writing inside it: on SQLite the write
    transaction holds the database's one write lock, so only what must be serialized runs under it.
    `within(result)` runs inside that transaction, for a caller's own write that must commit with the
    lead (the API's idempotency record).
    """
    if channel not in Channel.values:
        raise ValueError(channel)
    cleaned, source = _clean_with_source(data, channel=channel, campaign=campaign, actor=actor)
    lead = Lead(
        **cleaned,
        source=source,
        campaign=campaign,
        created_by=actor if actor is not None and actor.pk else None,
        created_via=channel,
    )
    decision = dedup.check_intake(lead=lead, channel=channel, actor=actor)
    scoring.score_lead(lead)
    with transaction.atomic():
        decision = dedup.confirm_in_transaction(lead=lead, decision=decision, channel=channel, actor=actor)
        result = _save_submission(lead, decision, data=data, cleaned=cleaned, channel=channel, actor=actor)
        if within is not None:
            within(result)
    return result


def _save_submission(lead: Lead, decision, *, data: dict, cleaned: dict, channel: str, actor) -> IntakeResult:
    """The writing half of `lead_submit`, inside its transaction."""
    if decision.action == DuplicateAction.REFUSE:
        raise Conflict(
            _duplicate_message(decision, actor, refused=True), code="duplicate",
            lead_id=decision.existing.pk, owner=decision.existing.owner.username if decision.existing.owner_id else None,
            reasons=decision.matches[0].reasons,
        )
    if decision.action == DuplicateAction.ATTACH:
        # Not a new competing lead (撞单): the submission becomes a touch on the lead on record.
        existing = lead_touch(lead=decision.existing, data=cleaned, source=lead.source, campaign=lead.campaign,
                              channel=channel, actor=actor, reasons=decision.matches[0].reasons)
        return IntakeResult(lead=existing, created=False, messages=[_duplicate_message(decision, actor)],
                            decision=decision)
    messages: list[str] = []
    if decision.action == DuplicateAction.CREATE_FLAGGED:
        lead.duplicate_of = decision.existing
        messages.append(_duplicate_message(decision, actor))
    assignment.assign_new_lead(lead=lead, channel=channel, actor=actor, data=data)
    if actor is not None and actor.pk and lead.status == LeadStatus.NURTURE and lead.owner_id != actor.pk:
        # Say where the lead went, or the submitter looks for it among their own and finds nothing.
        messages.append(_("Its score is below the nurture threshold, so the lead goes to nurture with %(owner)s, "
                          "to be re-checked on %(date)s.") % {
            "owner": lead.owner, "date": timezone.localtime(lead.next_follow_up_at).strftime("%Y-%m-%d")})
    elif actor is not None and actor.pk and lead.owner_id is None:
        messages.append(_("No assignment rule took the lead, so it is in the public pool, where sales staff can claim it."))
    fastsql.insert(lead)
    audit_record(actor=actor, channel=channel, action="lead.create", target=lead, changes=creation_changes(lead),
                 note=_reasons_note(decision) if lead.duplicate_of_id else "")
    assignment.after_intake(lead=lead, actor=actor)
    existing = decision.existing
    if lead.duplicate_of_id and existing.owner_id and existing.owner != actor and existing.owner != lead.owner:
        notify(recipient=existing.owner, kind="lead.duplicate",
               message=_("A lead that looks like yours (%(lead)s) was entered: %(new)s") % {"lead": existing, "new": lead},
               url=lead.get_absolute_url())
    return IntakeResult(lead=lead, decision=decision, messages=messages)


def _reasons_note(decision) -> str:
    match = decision.matches[0]
    return match_note(match.lead.pk, match.match)


def match_note(pk: int, match) -> str:
    labels = [str(dedup.REASON_LABELS.get(reason, reason)) for reason in match.reasons]
    return _("Matches lead #%(id)d: %(reasons)s") % {"id": pk, "reasons": ", ".join(labels)}


def _duplicate_message(decision, actor, *, refused: bool = False) -> str:
    """What the submitter is told. Owners are named to people of the company, never to the public form."""
    existing = decision.existing
    internal = actor is not None and getattr(actor, "pk", None)
    owner = existing.owner if existing.owner_id else None
    if not decision.matches[0].match.same_company:
        if internal and owner:
            return _("This mobile number or email is already on lead #%(id)d (%(owner)s) at another company; the "
                     "new lead is flagged for review.") % {"id": existing.pk, "owner": owner}
        if internal:
            return _("This mobile number or email is already on lead #%(id)d at another company; the new lead is "
                     "flagged for review.") % {"id": existing.pk}
        return _("Thank you, we have received your details.")
    if decision.action == DuplicateAction.CREATE_FLAGGED and not decision.matches[0].same_person:
        if internal and owner:
            return _("This company is already followed by %(owner)s (lead #%(id)d); the new lead is flagged for review.") % {
                "owner": owner, "id": existing.pk}
        return _("This company is already on record; the new lead is flagged for review.")
    if refused:
        if internal and owner:
            return _("This contact is already a lead owned by %(owner)s (lead #%(id)d). Ask them, or their manager, "
                     "instead of entering it again.") % {"owner": owner, "id": existing.pk}
        return _("This contact is already on record (lead #%(id)d).") % {"id": existing.pk}
    if not internal:
        return _("Thank you, your details were added to our existing record.")
    if decision.action == DuplicateAction.CREATE_FLAGGED:
        return _("This contact looks like lead #%(id)d (owner: %(owner)s); the new lead is flagged as a possible duplicate.") % {
            "id": existing.pk, "owner": owner or _("unassigned")}
    if owner:
        return _("This contact is already a lead owned by %(owner)s (lead #%(id)d); your entry was added to it as a new touch "
                 "and %(owner)s was notified.") % {"owner": owner, "id": existing.pk}
    return _("This contact is already an unassigned lead (#%(id)d); your entry was added to it as a new touch.") % {
        "id": existing.pk}


def _plain_payload(data: dict) -> dict:
    """The submitted values in a form JSON keeps: no empties, decimals as text."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items() if v not in (None, "")}


def lead_touch(*, lead: Lead, data: dict, source: LeadSource | None, campaign: Campaign | None, channel: str,
               actor: User | None, reasons: list[str]) -> Lead:
    """Record a repeated submission as a touch (Activity kind=touch) on the lead on record; tell its owner."""
    payload = _plain_payload({k: v for k, v in data.items() if k in CONFIGURABLE_FIELDS + ["credit_code"]})
    if source is not None:
        payload["source"] = source.name
    if campaign is not None:
        payload["campaign"] = campaign.name
    summary = " · ".join(str(payload[k]) for k in ("company_name", "contact_name", "mobile", "email", "source") if k in payload)
    # No savepoint: within an intake every statement counts, and an error fails the intake anyway.
    with transaction.atomic(savepoint=False):
        activity = Activity(
            kind=ActivityKind.TOUCH, content=_("Submitted again via %(channel)s: %(summary)s") % {
                "channel": Channel(channel).label, "summary": summary},
            feedback=payload.get("need", ""), actor=actor if getattr(actor, "pk", None) else None, channel=channel,
            payload={**payload, "match_reasons": reasons},
        )
        activity.set_record(lead)
        fastsql.insert(activity)
        # Repeated touches are a scoring signal (behaviour), so the grade moves with them.
        before = snapshot(lead, ["score", "grade"])
        # `scoring.rescore_lead` on prepared statements (`intake_fast`; test_intake_fast.py holds them equal).
        scoring.score_lead(lead, touches=intake_fast.touch_count(lead))
        intake_fast.save_score(lead)
        audit_record(actor=actor, channel=channel, action="lead.touch", target=lead,
                     changes=diff(before, snapshot(lead, ["score", "grade"])),
                     note=_("Duplicate submission recorded as touch #%(id)d (%(reasons)s)") % {
                         "id": activity.pk, "reasons": ", ".join(str(dedup.REASON_LABELS.get(r, r)) for r in reasons)})
        if lead.owner_id and lead.owner != actor:
            notify(recipient=lead.owner, kind="lead.touch",
                   message=_("%(lead)s came in again via %(channel)s") % {"lead": lead, "channel": Channel(channel).label},
                   url=lead.get_absolute_url())
    return lead


def lead_check(*, data: dict, channel: str) -> dict:
    """The field errors `lead_submit` would report for this data, without writing anything ({} = fine)."""
    errors = {}
    try:
        clean_submission(data, channel=channel)
        resolve_source(data, None)
    except ValidationFailed as exc:
        errors = exc.field_errors or {"": [exc.message]}
    if data.get("custom") or registry.definitions(LEAD_TARGET):
        errors |= registry.clean_custom(LEAD_TARGET, data.get("custom") or {}, channel=channel, actor=None,
                                        creating=True, types_only=True)[1]
    return errors
