from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import LoopApp, NavEntry, Sweep

from .actions import InsightsAction


def _admin(user) -> bool:
    return user.is_authenticated and user.is_admin


def _sets_targets(user) -> bool:
    from .targets import sets_targets

    return user.is_authenticated and sets_targets(user)


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
                NavEntry("settings", _("Breakpoint radar"), "insights:radar_settings", order=90, visible=_admin)]

    def sweeps(self):
        from .radar import RECOUNT_SECONDS
        from .tasks import radar_recount

        # The radar's counts per owner; idempotent (each run replaces the last), so a late or doubled run is harmless.
        return [Sweep("insights.radar_recount", radar_recount.enqueue, every_seconds=RECOUNT_SECONDS)]

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
