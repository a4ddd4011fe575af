from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import LoopApp, NavEntry, NotificationKind, Sweep

from .actions import InsightsAction


def _admin(user) -> bool:
    return user.is_authenticated and user.is_admin


def _sets_targets(user) -> bool:
    from .targets import sets_targets

    return user.is_authenticated and sets_targets(user)


def _reviews(user) -> bool:
    from .digest import reviews

    return user.is_authenticated and (user.is_admin or reviews(user))  # an administrator previews anyone's


class InsightsConfig(LoopApp):
    """Review (数据复盘), at the top of the layers: it reads every app and no app imports it."""

    name = "closeloop.insights"
    label = "insights"
    verbose_name = _("Insights")
    audit_actions = InsightsAction

    def nav_entries(self):
        return [NavEntry("insights", _("Dashboard"), "insights:dashboard", order=5),
                NavEntry("insights", _("Breakpoint radar"), "insights:radar", order=10),
                NavEntry("insights", _("Sales targets"), "insights:targets", order=20, visible=_sets_targets),
                NavEntry("insights", _("Weekly digest"), "insights:digest", order=30, visible=_reviews),
                NavEntry("settings", _("Breakpoint radar"), "insights:radar_settings", order=90, visible=_admin),
                NavEntry("settings", _("Weekly digest"), "insights:digest_settings", order=91, visible=_admin)]

    def notification_kinds(self):
        from .digest import DIGEST_KIND

        return [NotificationKind(DIGEST_KIND, _("Weekly review digest (Mondays)"), email=True)]

    def sweeps(self):
        from .digest import DIGEST_SWEEP_SECONDS
        from .radar import RECOUNT_SECONDS
        from .tasks import radar_recount, weekly_digests

        # The radar's counts per owner; idempotent (each run replaces the last), so a late or doubled run is harmless.
        # The weekly digest every few minutes rather than at a cron time: an administrator sets the time on a page,
        # and the sweep sends nothing before it and nothing twice after it (digest.digests_send).
        return [Sweep("insights.radar_recount", radar_recount.enqueue, every_seconds=RECOUNT_SECONDS),
                Sweep("insights.weekly_digests", weekly_digests.enqueue, every_seconds=DIGEST_SWEEP_SECONDS)]

    def demo(self, ctx):
        from .demo import load_demo_targets

        ctx.summary.append(load_demo_targets(ctx))

    def gen_data(self, ctx):
        from .radar import recount

        # After a bulk load, as the worker would after its next run.
        ctx.log(f"insights: {recount():,} breakpoint radar counts")

    def urls(self):
        return [path("insights/", include("closeloop.insights.urls"))]

    def api_routers(self):
        from .api import router

        return [("/insights", router)]
