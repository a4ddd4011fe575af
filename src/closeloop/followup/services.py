"""Follow-up writes for any record: activities, tasks, participants, hand-offs, comments, and moving a merged
record's rows.

Every function runs in the caller's transaction or its own, writes its audit entry in it, and notifies
after commit (`notify` defers to on_commit).
"""

import re
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core import fastsql
from closeloop.core.audit import audit_record, audited_update
from closeloop.core.bulk import executemany_insert
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from closeloop.core.inputs import check_text_limits, datetime_input, text_limit_errors
from closeloop.core.models import Channel, User
from closeloop.core.notify import notify
from closeloop.core.sync import departures

from .activity_templates import template_errors
from .models import (
    FOLLOW_UP_KINDS,
    Activity,
    Comment,
    Handoff,
    HandoffStatus,
    Participant,
    ParticipantRole,
    TagLink,
    Task,
    TaskStatus,
)
from .registry import record_type, task_kinds
from .rights import Act, require

# ---------------------------------------------------------------------------------------------------
# Activities


# The hour a proposed follow-up falls on: the morning, when calls get made.
FOLLOW_UP_HOUR = 10


def follow_up_time(days: int, *, now=None):
    """`days` days from today at FOLLOW_UP_HOUR, in the site's time zone: the default next follow-up."""
    local = timezone.localtime(now or timezone.now())
    return (local + timedelta(days=days)).replace(hour=FOLLOW_UP_HOUR, minute=0, second=0, microsecond=0)


def next_follow_up_default(record):
    """When the record's next follow-up falls by default; None when it needs no next step (closed)."""
    spec = record_type(record)
    return spec.next_follow_up_default(record) if spec.next_follow_up_default is not None else None


def activity_log(*, actor: User, record, data: dict, channel: str = Channel.WEB) -> Activity:
    """Log a follow-up on a record; it sets the record's next follow-up and last activity, closes the tasks
    a follow-up completes (a lead's first contact), and lets the record's app add its own change.

    An open record keeps a next step: without a new date the one still ahead stays, or the record's default
    (`next_follow_up_default`) takes its place; logging never leaves an open record without one."""
    require(actor, record, Act.FOLLOW_UP)
    spec = record_type(record)
    errors: dict[str, list[str]] = {}
    kind = data.get("kind") or ""
    if kind not in FOLLOW_UP_KINDS:
        errors["kind"] = [_("Choose call, visit, WeChat, email, meeting or note.")]
    content = str(data.get("content") or "").strip()
    feedback = str(data.get("feedback") or "").strip()
    next_plan = str(data.get("next_plan") or "").strip()
    if not content:
        errors["content"] = [_("Say what happened in this follow-up.")]
    if missing := template_errors(kind, content):  # what the kind's template asks for, every field at once
        errors.setdefault("content", []).extend(missing)
    errors.update(text_limit_errors(Activity, {"content": content, "feedback": feedback, "next_plan": next_plan}))
    try:
        next_follow_up_at = datetime_input(data.get("next_follow_up_at"), "next_follow_up_at")
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        next_follow_up_at = None
    now = timezone.now()
    if next_follow_up_at and next_follow_up_at <= now:
        errors["next_follow_up_at"] = [_("The next follow-up must be in the future.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)

    with transaction.atomic():
        record = type(record).objects.select_for_update().get(pk=record.pk)
        if next_follow_up_at is None and (default := next_follow_up_default(record)) is not None:
            ahead = record.next_follow_up_at if record.next_follow_up_at and record.next_follow_up_at > now else None
            next_follow_up_at = ahead or default
        activity = Activity(kind=kind, content=content, feedback=feedback, next_plan=next_plan,
                            next_follow_up_at=next_follow_up_at, actor=actor, channel=channel, created_at=now)
        activity.set_record(record)
        activity.save()
        values = {"next_follow_up_at": next_follow_up_at, "last_activity_at": now}
        done_by_activity = [spec.kind for spec in task_kinds().values() if spec.done_by_activity]
        if done_by_activity:
            Task.objects.for_record(record).filter(kind__in=done_by_activity, status=TaskStatus.OPEN).update(
                status=TaskStatus.DONE, closed_at=now)
        if spec.on_activity is not None:
            values |= spec.on_activity(record, activity)
        audited_update(instance=record, data=values, actor=actor, channel=channel, action="activity.log",
                       always=True, note=f"{activity.get_kind_display()}: {content[:200]}")
    return activity


# ---------------------------------------------------------------------------------------------------
# Tasks


def task_open(*, record, owner: User, kind: str, due_at, title: str = "", take_over: bool = True) -> Task:
    """Open a task of `kind` on the record for `owner`. With `take_over`, an open task of that kind passes
    to the new owner with the new due time instead of a second one opening (a lead assigned again)."""
    if kind not in task_kinds():
        raise ValueError(f"unknown task kind {kind!r}")
    task = None
    if take_over:
        task = Task.objects.for_record(record).filter(kind=kind, status=TaskStatus.OPEN).first()
    if task is None:
        task = Task(owner=owner, kind=kind, due_at=due_at, title=title)
        task.set_record(record)
        fastsql.insert(task)
    else:
        task.owner, task.due_at = owner, due_at
        task.save(update_fields=["owner", "due_at"])
    return task


def tasks_open_bulk(*, records, kind: str, due_at, now=None) -> None:
    """`task_open` for many new records at once (an import chunk): one INSERT, each for its record's owner.
    `now`: the chunk's moment, their creation time (else the time of this call)."""
    if not records:
        return
    record_type_id = ContentType.objects.get_for_model(records[0]).pk
    # One executemany: `bulk_create` cost ~5x the insert itself for an import chunk's tasks. The tasks differ
    # only in record and owner: one model's values, copied per record.
    template = Task(record_type_id=record_type_id, kind=kind, due_at=due_at, created_at=now or timezone.now()).__dict__
    executemany_insert(Task, [{**template, "record_id": record.pk, "owner_id": record.owner_id} for record in records],
                       with_pk=False)


def tasks_cancel(*, record, now=None) -> int:
    """Cancel the record's open tasks (it returned to the pool: nobody owes it anything now)."""
    now = now or timezone.now()
    return Task.objects.for_record(record).filter(status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED, closed_at=now)


# ---------------------------------------------------------------------------------------------------
# Participants


def participant_ensure(*, record, user: User, role: str = ParticipantRole.OTHER) -> Participant:
    """Make `user` a participant (keeping the role they have); for services that audit the change themselves."""
    participant = Participant(user=user, role=role)
    participant.set_record(record)
    existing = Participant.objects.for_record(record).filter(user=user).first()
    if existing is not None:
        return existing
    participant.save()
    return participant


def participant_discard(*, record, user: User) -> bool:
    """Take `user` off the record's participants (they became its owner); for services that audit it themselves."""
    deleted, _rows = Participant.objects.for_record(record).filter(user=user).delete()
    return bool(deleted)


def participant_add(*, record, user: User, role: str, actor: User, note: str = "",
                    channel: str = Channel.WEB) -> Participant:
    """Add a colleague to a record with a role (or change their role); they see the record from now on."""
    require(actor, record, Act.MANAGE)
    if role not in ParticipantRole.values:
        raise invalid("role", _("Choose a role."))
    if not user.is_active:
        raise invalid("user", _("%(user)s is not an active user.") % {"user": user})
    if user.pk == record.owner_id:
        raise invalid("user", _("%(user)s already owns this record.") % {"user": user})
    note = (note or "").strip()
    check_text_limits(Participant, {"note": note})  # refused with its limit, never cut short unseen
    with transaction.atomic():
        participant = Participant.objects.for_record(record).select_for_update().filter(user=user).first()
        created = participant is None
        if created:
            participant = Participant(user=user, role=role, note=note)
            participant.set_record(record)
            participant.save()
        elif participant.role != role:
            participant.role = role
            participant.save(update_fields=["role"])
        audit_record(actor=actor, channel=channel, action="participant.add", target=record,
                     changes={"collaborators": [None, f"{user} ({participant.get_role_display()})"]})
        if created:
            notify(recipient=user, kind="participant.added",
                   message=_("%(actor)s added you to %(record)s") % {"actor": actor, "record": record},
                   url=record.get_absolute_url())
    return participant


def participant_remove(*, record, user: User, actor: User, channel: str = Channel.WEB) -> None:
    """Take a colleague off a record; a participant may also leave it themselves."""
    if user.pk != getattr(actor, "pk", None):
        require(actor, record, Act.MANAGE)
    with transaction.atomic(), departures(record):
        if participant_discard(record=record, user=user):
            audit_record(actor=actor, channel=channel, action="participant.remove", target=record,
                         changes={"collaborators": [str(user), None]})


# ---------------------------------------------------------------------------------------------------
# Hand-offs


def handoff_request(*, record, assignee: User, title: str, due_at, actor: User, details: str = "",
                    role: str = ParticipantRole.PRESALES, channel: str = Channel.WEB) -> Handoff:
    """Hand a task to someone (a technical assessment); it stays pending until they confirm it."""
    require(actor, record, Act.MANAGE)
    errors = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = [_("Say what you need, for example “Technical assessment”.")]
    details = (details or "").strip()
    errors.update(text_limit_errors(Handoff, {"title": title, "details": details}))
    try:
        due = datetime_input(due_at, "due_at")
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        due = None
    if due is None and "due_at" not in errors:
        errors["due_at"] = [_("Give a due date.")]
    if role not in ParticipantRole.values:
        errors["role"] = [_("Choose a role.")]
    if not assignee.is_active:
        errors["assignee"] = [_("%(user)s is not an active user.") % {"user": assignee}]
    if assignee.pk == actor.pk:
        errors["assignee"] = [_("Hand the task to someone else.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        handoff = Handoff(title=title, details=details, role=role, requested_by=actor,
                          assignee=assignee, due_at=due)
        handoff.set_record(record)
        handoff.save()
        audit_record(actor=actor, channel=channel, action="handoff.request", target=record,
                     changes={"handoff": [None, f"{title} → {assignee}"]}, note=details)
        notify(recipient=assignee, kind="handoff.request",
               message=_("%(actor)s asks you: %(title)s (%(deal)s). Please accept or decline.")
               % {"actor": actor, "title": title, "deal": record},
               url=record.get_absolute_url())
    return handoff


def _locked_handoff(handoff: Handoff) -> Handoff:
    return Handoff.objects.select_for_update(of=("self",)).prefetch_related("record").get(pk=handoff.pk)


def handoff_respond(*, handoff: Handoff, actor: User, accept: bool, note: str = "",
                    channel: str = Channel.WEB) -> Handoff:
    """The receiver confirms (责任人确认) or declines a hand-off; accepting makes them a participant."""
    check_text_limits(Handoff, {"response_note": note.strip()})
    with transaction.atomic():
        handoff = _locked_handoff(handoff)
        if handoff.assignee_id != actor.pk:
            raise Forbidden(_("Only %(user)s can answer this hand-off.") % {"user": handoff.assignee})
        if handoff.status != HandoffStatus.PENDING:
            raise Conflict(_("This hand-off was already answered: %(status)s.") % {"status": handoff.get_status_display()})
        if not accept and not note.strip():
            raise invalid("note", _("Say why you decline, so the requester can find someone else."))
        handoff.status = HandoffStatus.ACCEPTED if accept else HandoffStatus.DECLINED
        handoff.response_note = note.strip()
        handoff.responded_at = timezone.now()
        record = handoff.record
        with departures(record):  # a declined hand-off no longer shows the record to its assignee
            handoff.save(update_fields=["status", "response_note", "responded_at"])
            if accept:
                participant_ensure(record=record, user=actor, role=handoff.role)
        audit_record(actor=actor, channel=channel, action=f"handoff.{handoff.status}", target=record,
                     changes={"handoff": [str(HandoffStatus.PENDING.label), str(handoff.get_status_display())]},
                     note=f"{handoff.title}: {handoff.response_note}".strip(": "))
        # The requester may have asked for the same help on many records: the message names this one, and why not.
        message = _("%(user)s %(status)s: %(title)s (%(record)s)") % {
            "user": actor, "status": handoff.get_status_display().lower(), "title": handoff.title, "record": record}
        if handoff.response_note:
            message = _("%(message)s: “%(note)s”") % {"message": message, "note": handoff.response_note}
        notify(recipient=handoff.requested_by, kind=f"handoff.{handoff.status}", message=message,
               url=record.get_absolute_url())
    return handoff


def handoff_complete(*, handoff: Handoff, actor: User, note: str = "", channel: str = Channel.WEB) -> Handoff:
    check_text_limits(Handoff, {"response_note": note.strip()})
    with transaction.atomic():
        handoff = _locked_handoff(handoff)
        if handoff.assignee_id != actor.pk:
            raise Forbidden(_("Only %(user)s can complete this hand-off.") % {"user": handoff.assignee})
        if handoff.status != HandoffStatus.ACCEPTED:
            raise Conflict(_("Accept the hand-off before marking it done."))
        handoff.status = HandoffStatus.DONE
        handoff.response_note = note.strip() or handoff.response_note
        handoff.save(update_fields=["status", "response_note"])
        record = handoff.record
        audit_record(actor=actor, channel=channel, action="handoff.done", target=record,
                     changes={"handoff": [str(HandoffStatus.ACCEPTED.label), str(HandoffStatus.DONE.label)]},
                     note=handoff.title)
        notify(recipient=handoff.requested_by, kind="handoff.done",
               message=_("%(user)s finished: %(title)s (%(record)s)") % {
                   "user": actor, "title": handoff.title, "record": record},
               url=record.get_absolute_url())
    return handoff


# ---------------------------------------------------------------------------------------------------
# Comments


MENTION = re.compile(r"@([\w.+-]+)")


def comment_add(*, record, actor: User, body: str, channel: str = Channel.WEB) -> tuple[Comment, list]:
    """Comment on a record; every @username who can see it is notified. Returns who could not be told."""
    require(actor, record, Act.FOLLOW_UP)
    body = (body or "").strip()
    if not body:
        raise invalid("body", _("Write a comment."))
    check_text_limits(Comment, {"body": body})
    names = set(MENTION.findall(body))
    with transaction.atomic():
        comment = Comment(author=actor, body=body)
        comment.set_record(record)
        comment.save()
        audit_record(actor=actor, channel=channel, action="comment.add", target=record, note=body[:500])
        unreachable = []
        visible = type(record).objects.filter(pk=record.pk)
        for user in User.objects.filter(username__in=names, is_active=True).exclude(pk=actor.pk):
            if visible.visible_to(user).exists():
                notify(recipient=user, kind="comment.mention",
                       message=_("%(actor)s mentioned you on %(deal)s: %(text)s")
                       % {"actor": actor, "deal": record, "text": body[:200]},
                       url=record.get_absolute_url() + f"#comment-{comment.pk}")
            else:
                unreachable.append(user)
    return comment, unreachable


# ---------------------------------------------------------------------------------------------------
# Merging records


def rows_move(*, model, from_ids: list[int], to, owner_id: int | None) -> dict[str, int]:
    """Point the follow-up rows of records merged away (`from_ids`) at the record they merged into.

    Activities, tasks, hand-offs, comments and participants move (a person already taking part in `to`, or
    owning it after the merge, `owner_id`, keeps their one place); the reminder ledger stays, as the record of
    what was sent about each.
    Returns {label: count} for the merge's note.
    """
    merged = Participant.objects.for_records(model, from_ids)
    merged.filter(user__in=Participant.objects.for_record(to).values("user")).delete()
    if owner_id is not None:
        merged.filter(user_id=owner_id).delete()
    # Two merged-away records may share a collaborator: one row each would break `participant_once` on `to`.
    # Keep one per person, a sales row first (it carries the right to edit), else the earliest.
    keep: dict[int, tuple[bool, int]] = {}
    for pk, user_id, role in merged.order_by("pk").values_list("pk", "user_id", "role"):
        rank = (role != ParticipantRole.SALES, pk)
        if user_id not in keep or rank < keep[user_id]:
            keep[user_id] = rank
    merged.exclude(pk__in=[pk for _sales, pk in keep.values()]).delete()
    # Tags: the survivor keeps its own and gains the merged ones', each tag once.
    links = TagLink.objects.for_records(model, from_ids)
    links.filter(tag__in=TagLink.objects.for_record(to).values("tag")).delete()
    seen, repeated = set(), []
    for pk, tag_id in links.order_by("pk").values_list("pk", "tag_id"):
        if tag_id in seen:
            repeated.append(pk)
        seen.add(tag_id)
    links.filter(pk__in=repeated).delete()
    links.update(record_id=to.pk)
    moved = {}
    for row_model in (Activity, Task, Handoff, Comment, Participant):
        count = row_model.objects.for_records(model, from_ids).update(record_id=to.pk)
        moved[str(row_model._meta.verbose_name_plural)] = count
    return moved
