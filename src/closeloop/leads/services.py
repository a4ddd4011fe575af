"""Lead writes. Every channel (manual form, public web form, API, import) calls `lead_submit`."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from operator import itemgetter
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core import configcache
from closeloop.core.audit import audit_record, creation_changes, diff, snapshot
from closeloop.core.errors import Conflict, DomainError, Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry, Channel, User
from closeloop.core.money import parse_money
from closeloop.core.notify import notify
from closeloop.followup.models import Activity, ActivityKind
from closeloop.followup.services import rows_move

from . import assignment, dedup, imports, normalize, scoring
from .models import (
    CONFIGURABLE_FIELDS,
    Campaign,
    ChannelPolicy,
    DuplicateAction,
    ImportJob,
    ImportRefusal,
    ImportStatus,
    Lead,
    LeadSource,
    LeadStatus,
)

logger = logging.getLogger(__name__)

TEXT_LIMITS = {f.name: f.max_length for f in Lead._meta.concrete_fields if getattr(f, "max_length", None)}


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
    return cleaned


def _resolve_source(data: dict, campaign: Campaign | None) -> LeadSource:
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
    cleaned = _clean(data, channel=channel)
    source = _resolve_source(data, campaign)
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
    if actor is not None and actor.pk and lead.owner_id is None:
        # Say where the lead went, or the submitter looks for it among their own and finds nothing.
        messages.append(_("Its score is below the nurture threshold, so the lead waits in nurture without an owner.")
                        if lead.status == LeadStatus.NURTURE else
                        _("No assignment rule took the lead, so it is in the public pool, where sales staff can claim it."))
    lead.save()
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
    return _match_note(match.lead.pk, match.match)


def _match_note(pk: int, match) -> str:
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
    with transaction.atomic():
        activity = Activity(
            kind=ActivityKind.TOUCH, content=_("Submitted again via %(channel)s: %(summary)s") % {
                "channel": Channel(channel).label, "summary": summary},
            feedback=payload.get("need", ""), actor=actor if getattr(actor, "pk", None) else None, channel=channel,
            payload={**payload, "match_reasons": reasons},
        )
        activity.set_record(lead)
        activity.save()
        # Repeated touches are a scoring signal (behaviour), so the grade moves with them.
        before = snapshot(lead, ["score", "grade"])
        scoring.rescore_lead(lead)
        audit_record(actor=actor, channel=channel, action="lead.touch", target=lead,
                     changes=diff(before, snapshot(lead, ["score", "grade"])),
                     note=_("Duplicate submission recorded as touch #%(id)d (%(reasons)s)") % {
                         "id": activity.pk, "reasons": ", ".join(str(dedup.REASON_LABELS.get(r, r)) for r in reasons)})
        if lead.owner_id and lead.owner != actor:
            notify(recipient=lead.owner, kind="lead.touch",
                   message=_("%(lead)s came in again via %(channel)s") % {"lead": lead, "channel": Channel(channel).label},
                   url=lead.get_absolute_url())
    return lead


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
        scoring.score_lead(lead)
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


# ---------------------------------------------------------------------------------------------------
# Batch intake (spreadsheet imports)


@dataclass
class BatchOutcome:
    """What a batch did. `refused` holds (row key, field errors) for the chunk just committed."""

    created: int = 0
    routed: int = 0  # duplicates that lead_submit's duplicate routing handed to an existing record
    refused: list = field(default_factory=list)
    owners: dict = field(default_factory=dict)  # owner → new leads they received
    flagged: dict = field(default_factory=dict)  # owner id → new leads flagged as looking like theirs


def lead_submit_batch(
    *, rows, channel: str, actor: User | None, campaign: Campaign | None = None, chunk_size: int = 2000,
    on_chunk=None,
) -> BatchOutcome:
    """`lead_submit` for many rows: the same `_clean`, source rules and dedup/scoring/assignment seams per
    row, with the writes batched. `rows` yields `(key, data)`; each chunk of `chunk_size` rows is one
    transaction, and `on_chunk(outcome)` runs inside it, so a caller's progress commits with the leads.

    A row the duplicate check does not simply let through goes through `lead_submit` itself, so
    routing a duplicate to its owner (touch, flag, refusal) behaves exactly as on every other channel.
    """
    if channel not in Channel.values:
        raise ValueError(channel)
    policy = channel_policy(channel)
    sources: dict = {}
    total = BatchOutcome()
    rows = iter(rows)
    while True:
        chunk = list(islice(rows, chunk_size))
        if not chunk:
            break
        with transaction.atomic():
            outcome = _submit_chunk(chunk, channel=channel, actor=actor, campaign=campaign, policy=policy,
                                    sources=sources)
            if on_chunk is not None:
                on_chunk(outcome)
        total.created += outcome.created
        total.routed += outcome.routed
        for owner, count in outcome.owners.items():
            total.owners[owner] = total.owners.get(owner, 0) + count
        for owner, count in outcome.flagged.items():
            total.flagged[owner] = total.flagged.get(owner, 0) + count
    for owner, count in total.owners.items():
        if owner != actor:
            notify(recipient=owner, kind="lead.assigned",
                   message=_("%(n)d new leads from an import were assigned to you.") % {"n": count},
                   url=reverse("leads:list") + "?owner=me")
    flagged_owners = User.objects.in_bulk(list(total.flagged))
    for owner_id, count in total.flagged.items():
        notify(recipient=flagged_owners.get(owner_id), kind="lead.duplicate",
               message=_("%(n)d leads from an import look like leads you own; they are flagged for review.") % {
                   "n": count},
               url=reverse("leads:duplicates"))
    return total


def _submit_chunk(chunk, *, channel, actor, campaign, policy, sources) -> BatchOutcome:
    outcome = BatchOutcome()
    pending: list[Lead] = []
    # Rows the duplicate check did not simply let through: they go through `lead_submit` after the
    # pending rows are written (one flush per chunk, not one per duplicate).
    deferred: list[tuple] = []
    waiting_keys: set = set()
    creator = actor if actor is not None and actor.pk else None

    new_lead = _lead_builder(campaign=campaign, creator=creator, channel=channel)
    # Rules are read once per chunk: a rule changed during a long import applies from the next chunk.
    ruleset = scoring.Ruleset.load()
    rules = assignment.active_rules()

    def flush():
        if pending:
            _insert_leads(pending, actor=actor, channel=channel)
            for owner, count in assignment.after_intake_batch(leads=pending, actor=actor).items():
                outcome.owners[owner] = outcome.owners.get(owner, 0) + count
            outcome.created += len(pending)
            pending.clear()
        for key, data, source in deferred:
            try:
                with transaction.atomic():
                    result = lead_submit(data={**data, "source": source}, channel=channel, actor=actor,
                                         campaign=campaign)
            except DomainError as exc:
                outcome.refused.append((key, exc.field_errors or {"": [exc.message]}))
                continue
            if result.created:
                outcome.created += 1
            else:
                outcome.routed += 1
        deferred.clear()
        waiting_keys.clear()

    for key, data in chunk:
        try:
            cleaned = _clean(data, channel=channel, policy=policy)
            source = _cached_source(data, campaign, sources)
        except ValidationFailed as exc:
            outcome.refused.append((key, exc.field_errors or {"": [exc.message]}))
            continue
        lead = new_lead(cleaned, source)
        keys = {(name, value) for name in ("mobile_key", "landline_key", "email_key", "credit_code")
                if (value := getattr(lead, name))}
        if keys & waiting_keys:
            # A row repeating an earlier row of this chunk: write those first so the duplicate check
            # sees them, exactly as if the rows had been submitted one by one.
            flush()
        waiting_keys |= keys
        flagged_owner_id = None
        if verdicts := dedup.verdicts_for(lead):
            existing_pk, match = dedup.best_verdict(verdicts)
            if match.same_person:
                # A touch on the lead on record or a refusal, by the channel's policy: exactly what every
                # other channel does, through lead_submit.
                deferred.append((key, data, source))
                continue
            # Another person at a known company (or the same phone at another): created, flagged as
            # lead_submit flags it, without loading the lead on record; its owner hears once per import.
            found = Lead.objects.filter(pk=existing_pk).values_list("owner_id", flat=True)[:1]
            if not found:  # deleted since it was found
                deferred.append((key, data, source))
                continue
            lead.duplicate_of_id, flagged_owner_id = existing_pk, found[0]
            lead.audit_note = _match_note(existing_pk, match)
        scoring.score_lead(lead, ruleset=ruleset)
        assignment.assign_new_lead(lead=lead, channel=channel, actor=actor, data=data, rules=rules)
        if flagged_owner_id is not None and flagged_owner_id not in (getattr(actor, "pk", None), lead.owner_id):
            outcome.flagged[flagged_owner_id] = outcome.flagged.get(flagged_owner_id, 0) + 1
        pending.append(lead)
    flush()
    return outcome


def _lead_builder(*, campaign, creator, channel):
    """Unsaved leads as `Lead(**cleaned, source=, campaign=, created_by=, created_via=)` builds them, but
    positionally: `Model(*values)` skips the keyword and descriptor work, a third of the per-row cost."""
    fields = Lead._meta.concrete_fields
    per_row = [f for f in fields if f.has_default() and callable(f.default)]  # timezone.now, list, ...
    fixed = {f.attname: f.get_default() for f in fields if f not in per_row}
    overrides = {"campaign_id": campaign.pk if campaign else None, "created_by_id": creator.pk if creator else None,
                 "created_via": channel}
    attnames = [f.attname for f in fields]
    relations = [(Lead._meta.get_field("campaign"), campaign), (Lead._meta.get_field("created_by"), creator)]

    def build(cleaned: dict, source: LeadSource) -> Lead:
        values = {**fixed, **{f.attname: f.get_default() for f in per_row}, **overrides, **cleaned,
                  "source_id": source.pk}
        lead = Lead(*[values[name] for name in attnames])
        # Cache the related objects, as keyword construction does, so the seams read them without a query.
        Lead._meta.get_field("source").set_cached_value(lead, source)
        for relation, value in relations:
            if value is not None:
                relation.set_cached_value(lead, value)
        return lead

    return build


def _cached_source(data: dict, campaign, cache: dict) -> LeadSource:
    """`_resolve_source`, once per distinct value in a batch (its answer or its refusal)."""
    value = data.get("source")
    key = value.pk if isinstance(value, LeadSource) else str(value or "").strip()
    if key not in cache:
        try:
            cache[key] = _resolve_source(data, campaign)
        except ValidationFailed as exc:
            cache[key] = exc
    found = cache[key]
    if isinstance(found, ValidationFailed):
        raise found
    return found


def _insert_leads(leads: list[Lead], *, actor, channel: str) -> None:
    """Insert new leads and their audit entries with one executemany each (ORM bulk_create is ~10× slower).

    The audit rows carry what `audit_record(action="lead.create", changes=diff({}, snapshot(lead)))` writes.
    """
    now = timezone.now()
    for lead, pk in zip(leads, _reserve_ids(Lead, len(leads)), strict=True):
        lead.pk = pk
        lead.updated_at = now
    _executemany_insert(Lead, [lead.__dict__ for lead in leads], with_pk=True)
    lead_type_id = ContentType.objects.get_for_model(Lead).pk
    actor_id = actor.pk if actor is not None and actor.pk else None
    entries = [
        {"created_at": now, "actor_id": actor_id, "channel": channel, "action": "lead.create",
         "target_type_id": lead_type_id, "target_id": str(lead.pk), "target_repr": str(lead)[:200],
         "changes": creation_changes(lead), "note": getattr(lead, "audit_note", "")}
        for lead in leads
    ]
    _executemany_insert(AuditEntry, entries, with_pk=False)
    for lead in leads:
        lead._state.adding = False
        lead._state.db = "default"


def _reserve_ids(model, count: int) -> list[int]:
    """Primary keys for rows about to be inserted, so audit entries can point at them without a read-back."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [model._meta.db_table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so nobody else can take these ids.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - table name from the model
        start = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [model._meta.db_table])
        row = cursor.fetchone()
        start = max(start, row[0] if row else 0)
    return list(range(start + 1, start + 1 + count))


_PLAIN_TYPES = {
    "CharField", "TextField", "EmailField", "ForeignKey", "BigAutoField", "AutoField", "IntegerField",
    "SmallIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField", "BigIntegerField", "BooleanField",
}


def _converter(field, db):
    """How a non-plain column's value goes to the database (plain text and numbers go as they are)."""
    name = field.attname
    if field.get_internal_type() == "DateTimeField":
        adapted: dict = {}  # a chunk shares a few timestamp objects; adapt each once (by identity: hashing is slow)

        def datetime_value(values):
            value = values.get(name)
            if value is None:
                return None
            key = id(value)
            if key not in adapted:
                adapted[key] = field.get_db_prep_save(value, db)
            return adapted[key]

        return datetime_value
    return lambda values: field.get_db_prep_save(values.get(name), db)


def _executemany_insert(model, rows: list[dict], *, with_pk: bool) -> None:
    """INSERT rows given as {attname: value} (a model instance's __dict__ will do) with one executemany."""
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    plain = [f for f in fields if f.get_internal_type() in _PLAIN_TYPES]
    adapted = [f for f in fields if f.get_internal_type() not in _PLAIN_TYPES]
    ordered = plain + adapted  # the column list follows the values: plain ones first, taken in one C call
    take_plain = itemgetter(*[f.attname for f in plain])
    db = connections[DEFAULT_DB_ALIAS]  # the real connection: the `connection` proxy costs a lookup per use
    converters = [_converter(f, db) for f in adapted]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in ordered)
    placeholders = ", ".join(["%s"] * len(ordered))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    params = [take_plain(row) + tuple(convert(row) for convert in converters) for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def lead_check(*, data: dict, channel: str) -> dict:
    """The field errors `lead_submit` would report for this data, without writing anything ({} = fine)."""
    try:
        _clean(data, channel=channel)
        _resolve_source(data, None)
    except ValidationFailed as exc:
        return exc.field_errors or {"": [exc.message]}
    return {}


# ---------------------------------------------------------------------------------------------------
# Import jobs


def import_job_create(*, upload, actor: User) -> ImportJob:
    """Store an uploaded spreadsheet under MEDIA_ROOT/imports/, check it, and read its header and first rows."""
    name = Path(upload.name or "upload").name[:200]
    suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in {".xlsx", ".csv", ".txt"} else ".upload"
    job = ImportJob(created_by=actor, original_name=name)
    # The storage copies the upload chunk by chunk; the file is never read whole into memory.
    job.file.save(f"{uuid.uuid4().hex}{suffix}", upload, save=False)
    try:
        info = imports.inspect_file(Path(job.file.path), name=name)
    except imports.ImportFileError as exc:
        job.file.delete(save=False)
        raise ValidationFailed(exc.message, field_errors={"file": [exc.message]}) from None
    job.file_kind, job.encoding, job.header_row = info.kind, info.encoding, info.header_row
    job.headers, job.sample_rows, job.total_rows = info.headers, info.sample_rows, info.total_rows
    job.mapping = imports.auto_mapping(info.headers)
    with transaction.atomic():
        job.save()
        audit_record(actor=actor, channel=Channel.WEB, action="import.upload", target=job,
                     changes=diff({}, snapshot(job, ["original_name", "file_kind", "encoding", "total_rows"])))
    return job


def import_job_start(
    *, job: ImportJob, mapping: list[str], default_source: LeadSource | None, merge_duplicates: bool, actor: User,
    assign_to_me: bool = False, queue: bool = True,
) -> ImportJob:
    """Fix the column mapping and queue the import; the job runs in the worker after this commits.

    `queue=False` leaves the job queued without a task: the caller runs it (`closeloop import`).
    """
    from .tasks import run_import

    errors = import_mapping_errors(mapping=mapping, headers=job.headers, default_source=default_source)
    if errors:
        raise ValidationFailed(errors[0], field_errors={"mapping": errors})
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.MAPPING:
            raise Conflict(_("This import has already been started."))
        fields = ["status", "mapping", "default_source", "merge_duplicates", "assign_to_me"]
        before = snapshot(job, fields)
        job.mapping, job.default_source, job.merge_duplicates = mapping, default_source, merge_duplicates
        job.assign_to_me = assign_to_me and assignment.can_own(actor)
        job.status = ImportStatus.QUEUED
        job.save(update_fields=fields)
        audit_record(actor=actor, channel=Channel.WEB, action="import.start", target=job,
                     changes=diff(before, snapshot(job, fields)))
        job_id = job.pk
        if queue:
            transaction.on_commit(lambda: run_import.enqueue(job_id))
    return job


def import_mapping_errors(*, mapping: list[str], headers: list[str], default_source) -> list[str]:
    """What is wrong with a column mapping, in words a person can act on."""
    if len(mapping) != len(headers) or any(name not in imports.IMPORT_FIELDS and name for name in mapping):
        return [_("The column mapping does not match the file; choose a field for each column again.")]
    errors = []
    seen: dict[str, int] = {}
    for column, name in enumerate(mapping):
        if name and name in seen:
            errors.append(_("“%(field)s” is chosen for two columns (%(a)s and %(b)s); keep one and ignore the other.")
                          % {"field": imports.FIELD_LABELS[name], "a": headers[seen[name]], "b": headers[column]})
        seen.setdefault(name, column)
    if not any(mapping):
        errors.append(_("No column is mapped to a lead field; choose what at least one column holds."))
    if "source" not in seen and default_source is None:
        errors.append(_("No column holds the source; choose a default source for the rows."))
    for name in channel_policy(Channel.IMPORT).required_fields:
        if name in imports.FIELD_LABELS and name not in seen:
            errors.append(_("“%(field)s” is required for imports but no column is mapped to it.")
                          % {"field": imports.FIELD_LABELS[name]})
    return errors


@dataclass
class _RowState:
    last_row: int = 0
    merged: int = 0


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run a queued import: rows in chunks through `lead_submit_batch`, progress committed with each chunk.

    Safe to run twice or after a crash: a finished job is left alone, a running one resumes after the
    last committed row.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in {ImportStatus.QUEUED, ImportStatus.RUNNING}:
            return job
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
    state = _RowState(last_row=job.last_row)
    plan = _merge_plan(job) if job.merge_duplicates else {}

    def on_chunk(outcome: BatchOutcome):
        refusals = []
        for (number, cells), errors in outcome.refused:
            if number in plan and plan[number][0] == "rep" and plan[number][1]:
                members = ", ".join(str(n) for n in plan[number][1])
                errors = {**errors, "merged": [_("Rows %(rows)s were merged into this row.") % {"rows": members}]}
            refusals.append(ImportRefusal(job_id=job.pk, row_number=number, cells=cells, errors=errors))
        ImportRefusal.objects.bulk_create(refusals)
        merged, state.merged = state.merged, 0
        ImportJob.objects.filter(pk=job.pk).update(
            last_row=state.last_row, imported_rows=F("imported_rows") + outcome.created,
            routed_rows=F("routed_rows") + outcome.routed, refused_rows=F("refused_rows") + len(refusals),
            merged_rows=F("merged_rows") + merged,
        )

    try:
        lead_submit_batch(rows=_job_rows(job, state, plan), channel=Channel.IMPORT, actor=job.created_by,
                          on_chunk=on_chunk)
    except imports.ImportFileError as exc:
        return _import_job_finish(job, error=exc.message)
    except Exception:
        logger.exception("import %s failed", job.pk)
        return _import_job_finish(job, error=_("The import stopped because of an unexpected error. The rows "
                                               "imported before it are kept; the rest were not imported."))
    return _import_job_finish(job, error="")


def _import_job_finish(job: ImportJob, *, error: str) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        before = snapshot(job, ["status"])
        job.status = ImportStatus.FAILED if error else ImportStatus.DONE
        job.error = error[:500]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        audit_record(
            actor=job.created_by, channel=Channel.IMPORT, action="import.finish", target=job,
            changes=diff(before, snapshot(job, ["status"])),
            note=_("%(imported)d imported, %(routed)d sent to existing records, %(merged)d merged, "
                   "%(refused)d refused") % {"imported": job.imported_rows, "routed": job.routed_rows,
                                              "merged": job.merged_rows, "refused": job.refused_rows},
        )
        # The upload holds every contact of the sheet; once the job is over only the refused rows are kept.
        transaction.on_commit(lambda: job.file.delete(save=False))
    return job


def _data_rows(job: ImportJob):
    """(row number, cells, mapped data) for every non-blank data row of the job's file."""
    width = len(job.headers)
    limit = settings.CLOSELOOP_IMPORT_MAX_ROWS
    for number, cells in imports.iter_file_rows(Path(job.file.path), kind=job.file_kind, encoding=job.encoding):
        if number <= job.header_row:
            continue
        if number - job.header_row > limit:
            raise imports.ImportFileError(
                _("The file has more than %(limit)s rows; the import stopped there.")
                % {"limit": f"{limit:,}"})
        if not any(cells):
            continue
        cells = cells[:width] + [""] * (width - len(cells))
        yield number, cells, imports.row_data(cells, job.mapping)


def _job_rows(job: ImportJob, state: _RowState, plan: dict):
    default_source = job.default_source
    for number, cells, data in _data_rows(job):
        if number <= job.last_row:
            continue  # committed before a restart
        entry = plan.get(number)
        if entry is not None and entry[0] == "member":
            state.merged += 1
            continue
        if entry is not None:
            data = {**entry[2], **data}
        if not data.get("source") and default_source is not None:
            data["source"] = default_source
        data["assign_to_me"] = job.assign_to_me
        state.last_row = number
        yield (number, cells), data


def _merge_plan(job: ImportJob) -> dict:
    """Rows of the file that are the same contact, by the dedup engine's `cluster_rows`.

    Returns {row: ("rep", [member rows], fills)} for the first row of each group and
    {row: ("member", first row)} for the others; `fills` are the members' values for the fields the
    first row leaves blank.
    """
    numbers, rows = [], []
    for number, _cells, data in _data_rows(job):
        numbers.append(number)
        rows.append(data)
    first: dict[int, int] = {}
    plan: dict = {}
    for index, (person, _company) in enumerate(dedup.cluster_rows(rows)):
        rep_index = first.setdefault(person, index)
        if rep_index == index:
            continue
        rep = numbers[rep_index]
        entry = plan.setdefault(rep, ("rep", [], {}))
        entry[1].append(numbers[index])
        for name, value in rows[index].items():
            entry[2].setdefault(name, value)
        plan[numbers[index]] = ("member", rep)
    return plan
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
        before = snapshot(survivor)
        text_values = {k: v for k, v in values.items() if k not in ("source", "owner")}
        if text_values:
            current = {name: getattr(survivor, name) for name in CONFIGURABLE_FIELDS + ["credit_code"]}
            cleaned = _clean({**current, **text_values}, channel=channel,
                             policy=ChannelPolicy(channel=channel, required_fields=[], require_contact_method=False))
            for name, value in cleaned.items():
                setattr(survivor, name, value)
        if values.get("source") is not None:
            survivor.source = values["source"]
        if "owner" in values and values["owner"] != survivor.owner:
            survivor.owner = values["owner"]
            survivor.assigned_at = timezone.now() if survivor.owner else None
            survivor.in_pool = survivor.owner is None and survivor.in_pool
        if survivor.duplicate_of_id in ids:
            survivor.duplicate_of = None
        survivor.save()
        merged_ids = [lead.pk for lead in others]
        moved = _move_related(survivor=survivor, merged_ids=merged_ids)
        # Leads merged earlier into one of these now point at the survivor, so one hop reaches every history.
        Lead.objects.filter(merged_into_id__in=merged_ids).update(merged_into=survivor)
        Lead.objects.filter(duplicate_of_id__in=merged_ids).exclude(pk__in=ids).update(duplicate_of=survivor)
        audit_record(
            actor=actor, channel=channel, action="lead.merge", target=survivor, changes=diff(before, snapshot(survivor)),
            note=_("Merged leads %(ids)s into this one; moved %(moved)s.") % {
                "ids": ", ".join(f"#{pk}" for pk in merged_ids),
                "moved": ", ".join(f"{n} {label}" for label, n in moved.items() if n) or _("nothing else")},
        )
        for lead in others:
            lead_before = snapshot(lead, ["status", "merged_into", "duplicate_of"])
            lead.status = LeadStatus.MERGED
            lead.merged_into = survivor
            lead.duplicate_of = None
            lead.save(update_fields=["status", "merged_into", "duplicate_of", "updated_at"])
            audit_record(actor=actor, channel=channel, action="lead.merged", target=lead,
                         changes=diff(lead_before, snapshot(lead, ["status", "merged_into", "duplicate_of"])),
                         note=_("Merged into lead #%(id)d.") % {"id": survivor.pk})
        for lead in everyone:
            if lead.owner_id and lead.owner != actor and lead.owner_id != survivor.owner_id:
                notify(recipient=lead.owner, kind="lead.merged",
                       message=_("Your lead %(lead)s was merged into %(survivor)s") % {"lead": lead, "survivor": survivor},
                       url=survivor.get_absolute_url())
    return survivor


def _move_related(*, survivor: Lead, merged_ids: list[int]) -> dict[str, int]:
    """Point every record that belongs to a merged lead (activities, tasks, deals, ...) at the survivor.

    Found from the model graph, so records other apps attach to leads later move too; the follow-up
    family's rows (generic relations, outside the graph) move with `rows_move`.
    """
    moved = rows_move(model=Lead, from_ids=merged_ids, to=survivor)
    for relation in Lead._meta.related_objects:
        if not relation.one_to_many or relation.related_model is Lead:
            continue
        model, field_name = relation.related_model, relation.field.name
        count = model._default_manager.filter(**{f"{field_name}__in": merged_ids}).update(**{field_name: survivor})
        moved[str(model._meta.verbose_name_plural)] = count
    return moved
