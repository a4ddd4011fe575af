from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import LoopApp, NavEntry, NotificationKind, Sweep, SyncedKind, TaskKind

from .audit import FollowupAction


class FollowupConfig(LoopApp):
    name = "closeloop.followup"
    label = "followup"
    verbose_name = _("Follow-up")
    audit_actions = FollowupAction
    audit_extra_labels = {"collaborators": _("collaborators"), "handoff": _("hand-off"), "tags": _("tags")}

    def notification_kinds(self):
        return [
            NotificationKind("reminder.follow_up", _("A follow-up is due")),
            NotificationKind("reminder.escalation", _("An overdue item of my team is escalated to me"), email=True),
            NotificationKind("participant.added", _("I am added to a record as collaborator")),
            NotificationKind("handoff.request", _("Someone hands work over to me to accept"), email=True),
            NotificationKind("handoff.accepted", _("My hand-off was accepted")),
            NotificationKind("handoff.declined", _("My hand-off was declined"), email=True),
            NotificationKind("handoff.done", _("My hand-off was completed"), summary=True),
            NotificationKind("comment.mention", _("Someone mentions me in a comment"), email=True),
        ]

    def sweeps(self):
        from .tasks import reminder_sweep

        # Every five minutes; the sweep is idempotent, so a late or doubled run sends nothing twice.
        return [Sweep("followup.reminders", reminder_sweep.enqueue, every_seconds=300)]

    def task_kinds(self):
        return [TaskKind("follow_up", _("Follow-up"), reminder=_("Follow-up due: %(record)s."),
                         done_by_activity=True)]

    def today_sources(self):
        from .today import SOURCES

        return SOURCES

    def nav_entries(self):
        return [NavEntry("home", _("Today"), "followup:today", order=10),
                NavEntry("settings", _("Tags"), "followup:tag_list", order=40, visible=lambda user: user.is_admin),
                NavEntry("settings", _("Follow-up templates"), "followup:activity_templates", order=41,
                         visible=lambda user: user.is_admin)]

    def demo(self, ctx):
        from .demo import load_demo

        # After every app's records: the demo's history was logged before anyone asked for these fields.
        ctx.finish.append(lambda: load_demo(ctx))

    def radar_breaks(self):
        from .radar import radar_breaks

        return radar_breaks()

    def urls(self):
        return [path("follow-up/", include("closeloop.followup.urls"))]

    def synced_kinds(self):
        # Their deletions are reported to the API's sync (GET /api/deleted/{kind}).
        return [SyncedKind("activities", "followup.Activity", follows=_activity_record)]


def _activity_record(activity):
    """A follow-up is seen by who sees its record (followup.models.RecordQuerySet.visible_to)."""
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_id(activity.record_type_id).model_class(), activity.record_id
