"""`lead_submit` for many rows at once (spreadsheet imports): the same checks per row, the writes batched."""

from contextlib import closing
from dataclasses import dataclass, field
from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import creation_changes_many
from closeloop.core.bulk import executemany_insert
from closeloop.core.customfields.registry import clean_record
from closeloop.core.errors import DomainError, ValidationFailed
from closeloop.core.models import AuditEntry, Channel, User
from closeloop.core.notify import notify
from closeloop.core.webhooks import events as webhook_events

from .. import assignment, dedup, scoring
from ..models import (
    Campaign,
    Lead,
    LeadSource,
)
from . import pipeline
from .intake import LEAD_TARGET, channel_policy, clean_submission, lead_submit, match_note, resolve_source


@dataclass
class BatchOutcome:
    """What a batch did. `refused` holds (row key, field errors) for the chunk just committed."""

    created: int = 0
    routed: int = 0  # duplicates that lead_submit's duplicate routing handed to an existing record
    refused: list = field(default_factory=list)
    owners: dict = field(default_factory=dict)  # owner → new leads they received
    flagged: dict = field(default_factory=dict)  # owner id → new leads flagged as looking like theirs
    progress: object = None  # what the batch's `progress()` said once this chunk's rows were drawn


# Rows an import writes per transaction (and between two looks at whether it was cancelled).
IMPORT_CHUNK_ROWS = 2000


def lead_submit_batch(
    *, rows, channel: str, actor: User | None, campaign: Campaign | None = None, chunk_size: int = 2000,
    on_chunk=None, import_job=None, progress=None, apart: bool = False, stop=None,
) -> BatchOutcome:
    """`lead_submit` for many rows: the same `_clean`, source rules and dedup/scoring/assignment seams per
    row, with the writes batched. `rows` yields `(key, data)`; each chunk of `chunk_size` rows is one
    transaction, and `on_chunk(outcome)` runs inside it, so a caller's progress commits with the leads.

    `apart`: read `rows` and clean them in a second process (`pipeline.chunks_apart`) while this one
    searches, assigns and writes; `rows` must then need no database. `progress()` is read after each chunk
    is drawn from `rows`, in the process that reads them, and handed to `on_chunk` as `outcome.progress`
    (a generator's own bookkeeping, such as the last row number, lives in that process).

    A row the duplicate check does not simply let through goes through `lead_submit` itself, so
    routing a duplicate to its owner (touch, flag, refusal) behaves exactly as on every other channel.

    `stop()` is asked after each chunk commits; when it says so the batch ends there (a cancelled import),
    the chunks written before kept, the preparing process ended.
    """
    if channel not in Channel.values:
        raise ValueError(channel)
    policy = channel_policy(channel)
    sources: dict = {}
    total = BatchOutcome()
    prepare = partial(_prepare_row, channel=channel, policy=policy)
    chunks = pipeline.chunks_apart if apart and pipeline.available() else pipeline.chunks_in_process
    search = dedup.ChunkSearch()  # its reads carry over to the next chunk while nobody else writes
    with closing(chunks(rows, chunk_size, prepare, progress)) as stream:  # closing it ends the second process
        for chunk, drawn in stream:
            with transaction.atomic():
                outcome = _submit_chunk(chunk, channel=channel, actor=actor, campaign=campaign, sources=sources,
                                        import_job=import_job, search=search)
                outcome.progress = drawn
                if on_chunk is not None:
                    on_chunk(outcome)
            total.created += outcome.created
            total.routed += outcome.routed
            for owner, count in outcome.owners.items():
                total.owners[owner] = total.owners.get(owner, 0) + count
            for owner, count in outcome.flagged.items():
                total.flagged[owner] = total.flagged.get(owner, 0) + count
            if stop is not None and stop():
                break
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


def _prepare_row(row, *, channel, policy) -> tuple:
    """What a row's cleaning needs no database for (`clean_submission`): `(key, data, cleaned, None)`, or
    `(key, data, None, (message, field errors))` for a refused row. Runs in the preparing process of an
    import, so it returns plain values that travel well, not models or exceptions."""
    key, data = row
    try:
        return key, data, clean_submission(data, channel=channel, policy=policy), None
    except ValidationFailed as exc:
        return key, data, None, (exc.message, exc.field_errors)


def _cleaned(cleaned, problem) -> dict:
    """A prepared row's cleaning, as `clean_submission` returned or raised it."""
    if problem is not None:
        message, field_errors = problem
        raise ValidationFailed(message, field_errors=field_errors)
    return cleaned


def _submit_chunk(chunk, *, channel, actor, campaign, sources, import_job=None, search=None) -> BatchOutcome:
    outcome = BatchOutcome()
    pending: list[Lead] = []
    # Rows the duplicate check did not simply let through: they go through `lead_submit` after the
    # pending rows are written (one flush per chunk, not one per duplicate).
    deferred: list[tuple] = []
    creator = actor if actor is not None and actor.pk else None

    # One moment for the chunk (one transaction): its leads' creation, assignment and audit times, so the insert
    # adapts one timestamp per column instead of one per lead.
    now = timezone.now()
    new_lead = _lead_builder(campaign=campaign, creator=creator, channel=channel, import_job=import_job, now=now)
    # Rules are read once per chunk: a rule changed during a long import applies from the next chunk.
    ruleset = scoring.Ruleset.load()
    assigner = assignment.AssignmentBatch(now=now)
    search = search or dedup.ChunkSearch()
    search.chunk_started()

    def flush():
        if pending:
            _insert_leads(pending, actor=actor, channel=channel, now=now)
            for owner, count in assignment.after_intake_batch(
                    leads=pending, actor=actor, due_at=assigner.first_contact_due(), now=now).items():
                outcome.owners[owner] = outcome.owners.get(owner, 0) + count
            outcome.created += len(pending)
            pending.clear()
        # Cursors and shares written before a routed row's `lead_submit` may assign from the table.
        assigner.save()
        search.written()
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
                search.forget()
            else:
                outcome.routed += 1
        deferred.clear()

    rows = []
    for key, data, prepared, problem in chunk:
        try:
            # The built-in fields (cleaned by `_prepare_row`) and the custom ones in one round, as lead_submit
            # checks them.
            cleaned, custom = clean_record(partial(_cleaned, prepared, problem), LEAD_TARGET, data, channel=channel,
                                           actor=actor, creating=True)
            source = _cached_source(data, campaign, sources)
        except ValidationFailed as exc:
            outcome.refused.append((key, exc.field_errors or {"": [exc.message]}))
            continue
        if custom:
            cleaned["custom"] = custom
        lead = new_lead(cleaned, source)
        rows.append((key, data, source, lead, dedup.entry_for_lead(lead)))
    entries = [row[4] for row in rows]
    search.prefetch(entries)

    for position, (key, data, source, lead, entry) in enumerate(rows):
        if search.needs_writing(entry):
            # An earlier row of this chunk, not written yet, is a match for this one: write it first so
            # the duplicate check sees it, exactly as if the rows had been submitted one by one.
            flush()
            if search.dropped_reads():
                search.prefetch(entries[position:])
        search.wait(lead)
        flagged_owner_id = None
        if verdicts := search.verdicts(entry):
            existing_pk, match = dedup.best_verdict(verdicts)
            if match.same_person:
                # A touch on the lead on record or a refusal, by the channel's policy: exactly what every
                # other channel does, through lead_submit.
                deferred.append((key, data, source))
                continue
            # Another person at a known company (or the same phone at another): created, flagged as
            # lead_submit flags it, without loading the lead on record; its owner hears once per import.
            known, owner_id = search.owner_of(existing_pk)
            # A merged lead answers with its survivor, which may not be among the candidates read.
            found = [owner_id] if known else Lead.objects.filter(pk=existing_pk).values_list("owner_id", flat=True)[:1]
            if not found:  # deleted since it was found
                deferred.append((key, data, source))
                continue
            lead.duplicate_of_id, flagged_owner_id = existing_pk, found[0]
            lead.audit_note = match_note(existing_pk, match)
        scoring.score_lead(lead, ruleset=ruleset)
        assignment.assign_new_lead(lead=lead, channel=channel, actor=actor, data=data, batch=assigner)
        if flagged_owner_id is not None and flagged_owner_id not in (getattr(actor, "pk", None), lead.owner_id):
            outcome.flagged[flagged_owner_id] = outcome.flagged.get(flagged_owner_id, 0) + 1
        pending.append(lead)
    flush()
    search.chunk_ended()
    return outcome


def _lead_builder(*, campaign, creator, channel, import_job=None, now=None):
    """Unsaved leads as `Lead(**cleaned, source=, campaign=, created_by=, created_via=)` builds them, but
    positionally: `Model(*values)` skips the keyword and descriptor work, a third of the per-row cost.
    `now`: the chunk's moment, for the fields whose default is the time of creation."""
    fields = Lead._meta.concrete_fields
    per_row = [f for f in fields if f.has_default() and callable(f.default)  # list, ...
               and not (now is not None and f.default is timezone.now)]
    fixed = {f.attname: now if now is not None and f.has_default() and f.default is timezone.now else f.get_default()
             for f in fields if f not in per_row}
    overrides = {"campaign_id": campaign.pk if campaign else None, "created_by_id": creator.pk if creator else None,
                 "created_via": channel, "import_job_id": import_job.pk if import_job else None}
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
    """`resolve_source`, once per distinct value in a batch (its answer or its refusal)."""
    value = data.get("source")
    key = value.pk if isinstance(value, LeadSource) else str(value or "").strip()
    if key not in cache:
        try:
            cache[key] = resolve_source(data, campaign)
        except ValidationFailed as exc:
            cache[key] = exc
    found = cache[key]
    if isinstance(found, ValidationFailed):
        raise found
    return found


def _insert_leads(leads: list[Lead], *, actor, channel: str, now=None) -> None:
    """Insert new leads and their audit entries with one executemany each (ORM bulk_create is ~10× slower).

    The audit rows carry what `audit_record(action="lead.create", changes=diff({}, snapshot(lead)))` writes.
    `now`: the chunk's moment (its leads' update and audit times).
    """
    now = now or timezone.now()
    for lead, pk in zip(leads, _reserve_ids(Lead, len(leads)), strict=True):
        lead.pk = pk
        lead.updated_at = now
    executemany_insert(Lead, [lead.__dict__ for lead in leads], with_pk=True)
    lead_type_id = ContentType.objects.get_for_model(Lead).pk
    actor_id = actor.pk if actor is not None and actor.pk else None
    entries = [
        {"created_at": now, "actor_id": actor_id, "channel": channel, "action": "lead.create",
         "target_type_id": lead_type_id, "target_id": str(lead.pk), "target_repr": str(lead)[:200],
         "changes": changes, "note": getattr(lead, "audit_note", "")}
        for lead, changes in zip(leads, creation_changes_many(leads), strict=True)
    ]
    executemany_insert(AuditEntry, entries, with_pk=False)
    for lead in leads:
        lead._state.adding = False
        lead._state.db = "default"
    # What audit_record would tell the webhooks for each entry, told once for the chunk.
    webhook_events.on_created_many(action="lead.create", changes=[(lead, entry["changes"]) for lead, entry in
                                                                  zip(leads, entries, strict=True)])


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
