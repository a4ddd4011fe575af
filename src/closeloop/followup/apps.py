from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import LoopApp, NotificationKind, Sweep, TaskKind

from .audit import FollowupAction


class FollowupConfig(LoopApp):
    name = "closeloop.followup"
    label = "followup"
    verbose_name = _("Follow-up")
    audit_actions = FollowupAction

    def notification_kinds(self):
        return [
            NotificationKind("reminder.follow_up", _("A follow-up is due")),
            NotificationKind("reminder.escalation", _("An overdue item of my team is escalated to me"), email=True),
        ]

    def sweeps(self):
        from .tasks import reminder_sweep

        # Every five minutes; the sweep is idempotent, so a late or doubled run sends nothing twice.
        return [Sweep("followup.reminders", reminder_sweep.enqueue, every_seconds=300)]

    def task_kinds(self):
        return [TaskKind("follow_up", _("Follow-up"), reminder=_("Follow-up due: %(record)s."),
                         done_by_activity=True)]
