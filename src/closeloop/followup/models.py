"""The follow-up family, for every kind of record: activities, tasks, the reminder ledger, participants,
hand-offs and comments.

A row belongs to its record through a generic relation: the record's content type and integer id,
indexed together. Not a foreign key to a per-record anchor row: intake is the hot path, and an anchor
would cost every new lead one more insert; a new kind of record (a quote, a ticket) needs no migration
here, only a `RecordType` from its app. What a foreign key would give comes from elsewhere: visibility
follows the record (`visible_to` reads the record's own `visible_to`), and deleting a record deletes its
rows through the `GenericRelation`s of `FollowedUp`, which every record model inherits.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.core.models import Channel


class RecordQuerySet(models.QuerySet):
    def of_type(self, model):
        return self.filter(record_type=ContentType.objects.get_for_model(model))

    def for_record(self, record):
        return self.filter(record_type=ContentType.objects.get_for_model(record), record_id=record.pk)

    def for_record_id(self, model, record_id):
        """Rows of one record given by model and id (the id may be an `OuterRef` in a subquery)."""
        return self.filter(record_type=ContentType.objects.get_for_model(model), record_id=record_id)

    def for_records(self, model, ids):
        """Rows of several records of one model (`ids` may be a list or a subquery of ids)."""
        return self.filter(record_type=ContentType.objects.get_for_model(model), record_id__in=ids)

    def visible_to(self, user):
        """Rows whose record the user may see: visibility follows the record."""
        from .registry import record_models

        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_admin:
            return self.all()
        condition = Q(pk__in=[])
        for model in record_models():
            condition |= Q(record_type=ContentType.objects.get_for_model(model),
                           record_id__in=model.objects.visible_to(user).values("pk"))
        return self.filter(condition)

    def visible_row_by_row(self, user):
        """The rows of `visible_to`, each checked against its own record (`EXISTS` on the record's id) instead of
        against the list of every record the user sees: for rows already narrowed by other filters to a few (a
        period's hand-offs of a team), where SQLite would otherwise build that list (a team's leads) on each query."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_admin:
            return self.all()
        return self.filter(self.record_seen(user))

    def record_seen(self, user) -> Q:
        """The condition of `visible_row_by_row` (for a user neither inactive nor an administrator)."""
        from .registry import record_models

        # Only the kinds of record the rows belong to (one small read): building and compiling a visibility
        # subquery per registered kind cost ~17 ms of CPU per query for a director, rows or not.
        kinds = set(self.order_by().values_list("record_type_id", flat=True).distinct())
        condition = Q(pk__in=[])
        for model in record_models():
            record_type = ContentType.objects.get_for_model(model)
            if record_type.pk in kinds:
                # The kind first: SQLite tests the terms in order, and a row of another kind then skips the
                # lookup of its id in this kind's table.
                condition |= Q(record_type=record_type) & Q(
                    Exists(model.objects.visible_to(user).filter(pk=OuterRef("record_id")).values("pk")))
        return condition


class RecordRow(models.Model):
    """Belongs to one record of any registered type (see the module docstring for why generic)."""

    # No separate index on the type: every query filters type and id together (the models' record indexes).
    record_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+", db_index=False)
    record_id = models.BigIntegerField()
    record = GenericForeignKey("record_type", "record_id")

    objects = RecordQuerySet.as_manager()

    class Meta:
        abstract = True

    def set_record(self, record) -> None:
        self.record_type = ContentType.objects.get_for_model(record)
        self.record_id = record.pk
        # Cached, so `.record` on a row just created reads no query.
        self._meta.get_field("record").set_cached_value(self, record)


# ---------------------------------------------------------------------------------------------------
# Activities


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    TOUCH = "touch", _("New touch (duplicate submission)")
    NOTE = "note", _("Note")


# The kinds a person logs by hand (a touch is written by intake).
FOLLOW_UP_KINDS = [ActivityKind.CALL, ActivityKind.VISIT, ActivityKind.WECHAT, ActivityKind.EMAIL, ActivityKind.MEETING,
                   ActivityKind.NOTE]


class Activity(RecordRow):
    """One follow-up on a record: what happened, what the customer said, what comes next."""

    kind = models.CharField(_("type"), max_length=10, choices=ActivityKind.choices)
    content = models.TextField(_("content"), blank=True, max_length=5000)
    feedback = models.TextField(_("customer feedback"), blank=True, max_length=5000)
    next_plan = models.TextField(_("next plan"), blank=True, max_length=1000)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    # A touch keeps what the duplicate submission said, so nothing the customer wrote is lost.
    payload = models.JSONField(_("submitted data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            # Each record's timeline newest first, and the pools' "owner's last follow-up" per record.
            models.Index(fields=["record_type", "record_id", "-created_at"], name="activity_record_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d}"


# ---------------------------------------------------------------------------------------------------
# Tasks


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Task(RecordRow):
    """Something a person must do on a record by a time: the first contact of a lead (its SLA), and what
    later apps add (an approval waiting, an instalment due). Kinds are declared by the apps
    (`LoopApp.task_kinds`), so the column has no fixed choices."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+",
        db_index=False,  # served by task_owner_due_idx
    )
    kind = models.CharField(_("type"), max_length=30)
    title = models.CharField(_("task"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_at = models.DateTimeField(_("due"))
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            # A person's open tasks by due time (the Today page).
            models.Index(fields=["owner", "status", "due_at"], name="task_owner_due_idx"),
            # A record's open tasks (closed by a follow-up, taken over by a new owner, cancelled on return).
            models.Index(fields=["record_type", "record_id", "status"], name="task_record_idx"),
            # The reminder sweep: open tasks past their due time.
            models.Index(fields=["due_at"], name="task_open_due_idx", condition=Q(status="open")),
            # The tasks of a kind each owner held falling due in a period, with what their outcome needs (the
            # review's first-contact SLA by rep): read from the index alone instead of each task's row (the quarter's
            # 67k of 708k at 1M leads), and a line of owners (a manager's team) sought owner by owner.
            models.Index(fields=["kind", "owner", "due_at", "record_type", "record_id", "status", "closed_at"],
                         name="task_kind_owner_due_idx"),
        ]

    def __str__(self):
        return f"{self.kind_label} · {self.record_id}"

    @property
    def kind_label(self) -> str:
        from .registry import task_kind

        spec = task_kind(self.kind)
        return str(spec.label) if spec else self.kind

    @property
    def is_overdue(self) -> bool:
        return self.status == TaskStatus.OPEN and self.due_at < timezone.now()


# ---------------------------------------------------------------------------------------------------
# The reminder and escalation ledger


class Reminder(RecordRow):
    """A reminder that was sent. The unique key makes every sweep idempotent: run twice or late, one notice."""

    kind = models.CharField(_("kind"), max_length=30)
    due_at = models.DateTimeField(_("due"))
    # 0: to the owner; 1: escalated to the owner's manager after the grace period.
    level = models.PositiveSmallIntegerField(default=0)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                  db_index=False)  # served by reminder_recipient_idx
    message = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["record_type", "record_id", "kind", "due_at", "level"],
                                    name="reminder_sent_once"),
        ]
        indexes = [
            # Escalations on a manager's Today page.
            models.Index(fields=["recipient", "level", "-sent_at"], name="reminder_inbox_idx"),
        ]

    def __str__(self):
        return self.message


# ---------------------------------------------------------------------------------------------------
# Participants, hand-offs, comments


class ParticipantRole(models.TextChoices):
    SALES = "sales", _("Sales")
    PRESALES = "presales", _("Pre-sales")
    PRODUCT = "product", _("Product")
    FINANCE = "finance", _("Finance")
    SERVICE = "service", _("After-sales service")
    OTHER = "other", _("Other")


class Participant(RecordRow):
    """Someone besides the owner who works on a record (协作人): they see it, and their role says why."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE,
                             related_name="+", db_index=False)  # served by participant_user_idx
    role = models.CharField(_("role"), max_length=20, choices=ParticipantRole.choices, default=ParticipantRole.OTHER)
    # What they do here, in their own words, when the role alone does not say it.
    note = models.CharField(_("note"), max_length=100, blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["record_type", "record_id", "user"], name="participant_once"),
        ]
        indexes = [
            # Visibility: the records of one type a person takes part in (`record_id` read from the index).
            models.Index(fields=["user", "record_type", "record_id"], name="participant_user_idx"),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


class HandoffStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for confirmation")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    DONE = "done", _("Done")


class HandoffQuerySet(RecordQuerySet):
    """Hand-offs as their people see them, for the breakpoint radar's "hand-off not accepted in time"
    (`Handoff.seen`): the requester, the assignee's line (the assignee, a manager's team) and whoever sees the
    record. The radar counts a hand-off under its assignee (`owner_field`), so a manager's count of their team's
    hand-offs matches the rows the list shows them. `objects.visible_to` stays the record's visibility (the
    dashboard's hand-off figures)."""

    owner_field = "assignee"

    def _people(self, user) -> Q:
        from closeloop.core.visibility import owners_seen

        return Q(requested_by=user) | Q(assignee__in=owners_seen(user))

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_admin:
            return self.all()
        # Each row checked against its own record (few pending hand-offs), not against every record seen.
        return self.filter(self._people(user) | self.record_seen(user))

    def sees_all(self, user) -> bool:
        return user.is_admin

    def shared_with(self, user):
        """What `user` sees beyond their line's assignees: hand-offs they asked for, or on records they see."""
        from closeloop.core.visibility import owners_seen

        if user is None or not user.is_authenticated or not user.is_active or self.sees_all(user):
            return self.none()
        return (self.filter(Q(requested_by=user) | self.record_seen(user))
                .exclude(assignee__in=owners_seen(user)))


class Handoff(RecordRow):
    """A task handed to someone in another department (a technical assessment) that they must confirm."""

    title = models.CharField(_("task"), max_length=200)
    details = models.TextField(_("details"), blank=True, max_length=5000)
    role = models.CharField(_("role"), max_length=20, choices=ParticipantRole.choices, default=ParticipantRole.PRESALES)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.PROTECT, related_name="+",
        db_index=False,  # served by handoff_to_idx
    )
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=HandoffStatus.choices, default=HandoffStatus.PENDING)
    response_note = models.CharField(_("response"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)

    objects = RecordQuerySet.as_manager()  # declared again so it stays the default manager, before `seen`
    seen = HandoffQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("hand-off")
        verbose_name_plural = _("hand-offs")
        indexes = [
            # The breakpoint radar's hand-offs not accepted in time: only the pending ones, by due time.
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="handoff_pending_idx"),
            # A receiver's hand-offs to answer (Today) and the records they may see while one is open.
            models.Index(fields=["assignee", "status", "due_at"], name="handoff_to_idx"),
            models.Index(fields=["record_type", "record_id", "-created_at"], name="handoff_record_idx"),
            # "A record with a hand-off pending to the viewer" (every visibility check): covered, and with three
            # equal columns the plan SQLite picks by its averages even when one person receives every hand-off
            # (a company's one pre-sales engineer), where it read every hand-off of the record kind instead.
            models.Index(fields=["assignee", "status", "record_type", "record_id"], name="handoff_to_record_idx"),
            # The dashboard's hand-offs of a period (insights.dashboard.handoff_times), grouped by the asking
            # person's department: SQLite walks the people and seeks each one's period here, reading every column
            # the counts, the durations and the visibility check need from the index, no hand-off row.
            models.Index(fields=["requested_by", "created_at", "assignee", "status", "responded_at", "record_type",
                                 "record_id"], name="handoff_from_idx"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self) -> str:
        """The hand-off on its record's page, where the assignee accepts or declines it."""
        record = self.record
        return (record.get_absolute_url() if record is not None else "") + f"#handoff-{self.pk}"


class Comment(RecordRow):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("comment"), max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [models.Index(fields=["record_type", "record_id", "created_at"], name="comment_record_idx")]

    def __str__(self):
        return self.body[:50]


# The kinds an administrator may give a template (followup/activity_templates.py): what people log by hand after
# talking to a customer. Not email (a ticket's reply is logged as one) nor a note (free by nature).
TEMPLATE_KINDS = [ActivityKind.CALL, ActivityKind.VISIT, ActivityKind.MEETING, ActivityKind.WECHAT]


class ActivityTemplate(models.Model):
    """What a follow-up of one kind must record: named fields (通话对象, 客户需求, 下一步 …), each required or
    not, and an optional opening text. The log form inserts them as a skeleton into its content; a log that leaves a
    required field empty is refused (followup/activity_templates.py)."""

    kind = models.CharField(_("type"), max_length=10, choices=[(k.value, k.label) for k in TEMPLATE_KINDS],
                            unique=True)
    # [{"label": "通话对象", "required": true}, ...] in the order the skeleton lists them.
    fields = models.JSONField(_("fields"), default=list, blank=True)
    text = models.TextField(_("opening text"), blank=True, max_length=500)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("follow-up template")
        verbose_name_plural = _("follow-up templates")

    def __str__(self):
        return self.get_kind_display()


# ---------------------------------------------------------------------------------------------------
# Tags


class TagColor(models.TextChoices):
    GREY = "grey", _("Grey")
    RED = "red", _("Red")
    ORANGE = "orange", _("Orange")
    GREEN = "green", _("Green")
    BLUE = "blue", _("Blue")
    PURPLE = "purple", _("Purple")


class Tag(models.Model):
    """A colored label an administrator defines (a closed list, so "VIP" is not also "vip客户"); people put it on
    leads, customers and deals, filter lists by it and set it on many leads at once (followup/tags.py)."""

    name = models.CharField(_("name"), max_length=20, unique=True)
    color = models.CharField(_("color"), max_length=10, choices=TagColor.choices, default=TagColor.GREY)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self):
        return self.name


class TagLink(RecordRow):
    """One tag on one record."""

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="links")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tag__name"]
        constraints = [
            # A record's tags (its page, a list's chips) read through this index too.
            models.UniqueConstraint(fields=["record_type", "record_id", "tag"], name="tag_link_once"),
        ]
        indexes = [
            # A list filtered by a tag: the ids of the records of one type that carry it.
            models.Index(fields=["record_type", "tag", "record_id"], name="tag_link_filter_idx"),
        ]

    def __str__(self):
        return self.tag.name


# ---------------------------------------------------------------------------------------------------
# What a record model inherits


def _rows(model: str, related_query_name: str):
    return GenericRelation(model, content_type_field="record_type", object_id_field="record_id",
                           related_query_name=related_query_name)


class FollowedUp(models.Model):
    """Mixed into every record model: `record.activities`, `.tasks`, `.reminders`, `.participants`, `.handoffs`,
    `.comments`, and deletion of a record deleting its rows (the collector follows these relations; the
    database has no foreign key to do it)."""

    activities = _rows("followup.Activity", "%(class)s")
    tasks = _rows("followup.Task", "%(class)s")
    reminders = _rows("followup.Reminder", "%(class)s")
    participants = _rows("followup.Participant", "%(class)s")
    handoffs = _rows("followup.Handoff", "%(class)s")
    comments = _rows("followup.Comment", "%(class)s")
    tag_links = _rows("followup.TagLink", "%(class)s")

    class Meta:
        abstract = True
