from django.utils.translation import gettext_lazy as _

from .hooks import LoopApp, NavEntry, NotificationKind, Sweep, SyncedKind, collect


def _admin(user) -> bool:
    return user.is_admin


class CoreConfig(LoopApp):
    name = "closeloop.core"
    label = "core"
    verbose_name = _("Core")

    @property
    def audit_actions(self):
        from .audit import CoreAction

        return CoreAction

    def notification_kinds(self):
        return [NotificationKind("webhook.paused", _("A webhook subscription was paused after repeated failures"),
                                 email=True),
                NotificationKind("export.ready", _("A large export I asked for is ready"))]

    def sweeps(self):
        from .tasks import (
            prune_exports,
            prune_sync_deletions,
            recover_exports,
            recover_notification_deliveries,
            refresh_statistics,
            send_daily_summaries,
            sync_custom_search,
        )
        from .webhooks.tasks import prune_webhook_deliveries, recover_webhook_deliveries

        return [
            # Webhook deliveries whose job was lost (a crash right after the commit) or whose worker died mid-send.
            Sweep("core.recover_webhook_deliveries", recover_webhook_deliveries.enqueue, every_seconds=300),
            # The webhook delivery log's finished rows past CLOSELOOP_WEBHOOK_LOG_DAYS, at night.
            Sweep("core.prune_webhook_deliveries", prune_webhook_deliveries.enqueue, cron="20 4 * * *"),
            # The API's deletions past CLOSELOOP_API_DELETIONS_DAYS, at night (core/sync.py).
            Sweep("core.prune_sync_deletions", prune_sync_deletions.enqueue, cron="30 4 * * *"),
            # Deliveries whose job was lost or that wait for a retry.
            Sweep("core.recover_notification_deliveries", recover_notification_deliveries.enqueue, every_seconds=300),
            # The morning summary, before the working day starts (site time zone).
            Sweep("core.daily_summaries", send_daily_summaries.enqueue, cron="30 8 * * *"),
            # The query planner's statistics, at night (see statistics.py).
            Sweep("core.refresh_statistics", refresh_statistics.enqueue, cron="40 3 * * *"),
            # The lists' search in custom values stays exact without it (new and changed records are candidates);
            # it fills a new index and keeps it fast (customfields/search.py).
            Sweep("core.sync_custom_search", sync_custom_search.enqueue, every_seconds=60),
            # Background exports past CLOSELOOP_EXPORT_KEEP_DAYS, with their files, at night (exports.py).
            Sweep("core.prune_exports", prune_exports.enqueue, cron="50 4 * * *"),
            # Background exports whose worker stopped while writing them: run again once, then failed (exports.py).
            Sweep("core.recover_exports", recover_exports.enqueue, every_seconds=300),
        ]

    def nav_entries(self):
        return [
            NavEntry("settings", _("Team"), "user_list", order=10, visible=_admin),
            NavEntry("settings", _("Departments"), "department_list", order=11, visible=_admin),
            NavEntry("settings", _("Custom fields"), "custom_field_list", order=70, visible=_admin),
            NavEntry("settings", _("Group robots"), "robot_list", order=80, visible=_admin),
            NavEntry("settings", _("Delivery log"), "delivery_list", order=81, visible=_admin),
            NavEntry("settings", _("Webhooks"), "webhook_list", order=85, visible=_admin),
        ]

    def demo(self, ctx):
        from .demo import load_demo_org

        load_demo_org(ctx)

    def gen_data(self, ctx):
        from .demo import gen_data_org

        gen_data_org(ctx)

    def api_routers(self):
        from .api import departments_router, users_router
        from .customfields.api import router
        from .savedviews.api import router as saved_views_router
        from .sync import router as deleted_router
        from .webhooks.api import router as webhooks_router

        return [("/custom-fields", router), ("/users", users_router), ("/departments", departments_router),
                ("/saved-views", saved_views_router), ("/webhooks", webhooks_router), ("/deleted", deleted_router)]

    def urls(self):
        from django.urls import include, path

        return [path("", include("closeloop.core.urls"))]

    def ready(self):
        from django.db.models import fields
        from django.db.models.signals import post_migrate

        from .customfields.search import on_post_migrate

        # Django rebuilds SQLite tables on some schema changes, dropping the custom search index's triggers (the
        # signal comes after every app's migrations, so every record type's table is in its final form).
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="closeloop.core.custom_search")

        # Django 6.1's "nothing chosen" label is not in its zh-hans catalogue yet. Django reads it at
        # render time and lets ready() replace it; as our own string it is translated with the rest.
        fields.BLANK_CHOICE_LABEL = _("- Select an option -")

        from .notify import register_kinds
        from .schedule import register_sweeps

        # Every app's configuration exists before any ready() runs, so core can walk them all here.
        from .webhooks.events import register as register_webhook_events

        register_kinds(collect("notification_kinds"))
        register_webhook_events()
        register_sweeps(collect("sweeps"))

        from .sync import connect as connect_deletions

        connect_deletions()

        from axes.signals import user_locked_out

        from .throttle import record_login_lockout

        def locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
            record_login_lockout(username=username, ip_address=ip_address or "")

        user_locked_out.connect(locked_out, dispatch_uid="closeloop.core.login_lockout", weak=False)

    def synced_kinds(self):
        # Their deletions are reported to the API's sync (GET /api/deleted/{kind}).
        return [SyncedKind("users", "core.User"), SyncedKind("saved_views", "core.SavedView")]
