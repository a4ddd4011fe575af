"""Follow-up writes for any record: logging activities, opening and closing tasks, moving a merged record's rows.

Every function runs in the caller's transaction or its own, writes its audit entry in it, and notifies
after commit (`notify` defers to on_commit).
"""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record, diff, snapshot
from closeloop.core.errors import ValidationFailed
from closeloop.core.models import Channel, User

from .models import FOLLOW_UP_KINDS, Activity, Task, TaskStatus
from .registry import record_type, task_kinds


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("Please correct the marked fields."), field_errors={field: [message]})


def aware_datetime(value, field: str):
    """A date and time as typed ("2026-12-01 10:00") or given, made timezone-aware; None when empty."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            raise _invalid(field, _("Enter a date and time, for example 2026-12-01 10:00."))
        value = parsed
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


# ---------------------------------------------------------------------------------------------------
# Activities


def activity_log(*, actor: User, record, data: dict, channel: str = Channel.WEB) -> Activity:
    """Log a follow-up on a record; it sets the record's next follow-up and last activity, closes the tasks
    a follow-up completes (a lead's first contact), and lets the record's app add its own change."""
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
    try:
        next_follow_up_at = aware_datetime(data.get("next_follow_up_at"), "next_follow_up_at")
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
        before = snapshot(record)
        activity = Activity(kind=kind, content=content, feedback=feedback, next_plan=next_plan,
                            next_follow_up_at=next_follow_up_at, actor=actor, channel=channel, created_at=now)
        activity.set_record(record)
        activity.save()
        record.next_follow_up_at = next_follow_up_at
        record.last_activity_at = now
        fields = ["next_follow_up_at", "last_activity_at"]
        done_by_activity = [spec.kind for spec in task_kinds().values() if spec.done_by_activity]
        if done_by_activity:
            Task.objects.for_record(record).filter(kind__in=done_by_activity, status=TaskStatus.OPEN).update(
                status=TaskStatus.DONE, closed_at=now)
        if spec.on_activity is not None:
            fields += spec.on_activity(record, activity)
        record.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
        audit_record(actor=actor, channel=channel, action="activity.log", target=record,
                     changes=diff(before, snapshot(record, fields)),
                     note=f"{activity.get_kind_display()}: {content[:200]}")
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
        task.save()
    else:
        task.owner, task.due_at = owner, due_at
        task.save(update_fields=["owner", "due_at"])
    return task


def tasks_open_bulk(*, records, kind: str, due_at) -> None:
    """`task_open` for many new records at once (an import chunk): one INSERT, each for its record's owner."""
    if not records:
        return
    record_type_id = ContentType.objects.get_for_model(records[0]).pk
    Task.objects.bulk_create([Task(record_type_id=record_type_id, record_id=record.pk, owner_id=record.owner_id,
                                   kind=kind, due_at=due_at) for record in records])


def tasks_cancel(*, record, now=None) -> int:
    """Cancel the record's open tasks (it returned to the pool: nobody owes it anything now)."""
    now = now or timezone.now()
    return Task.objects.for_record(record).filter(status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED, closed_at=now)


# ---------------------------------------------------------------------------------------------------
# Merging records


def rows_move(*, model, from_ids: list[int], to) -> dict[str, int]:
    """Point the follow-up rows of records merged away (`from_ids`) at the record they merged into.

    Activities and tasks move; the reminder ledger stays, as the record of what was sent about each one.
    Returns {label: count} for the merge's note.
    """
    moved = {}
    for row_model in (Activity, Task):
        count = row_model.objects.for_records(model, from_ids).update(record_id=to.pk)
        moved[str(row_model._meta.verbose_name_plural)] = count
    return moved
