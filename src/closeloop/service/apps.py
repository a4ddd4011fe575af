from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import (
    LoopApp,
    NavEntry,
    NotificationKind,
    RecordPanel,
    RecordType,
    TimelineSource,
    TodaySource,
)

from .actions import ServiceAction


class ServiceConfig(LoopApp):
    name = "closeloop.service"
    label = "service"
    verbose_name = _("Deliver and serve")
    audit_actions = ServiceAction
    # Milestones are recorded on their delivery; their changes are a milestone's fields.
    audit_action_models = {"milestone": "service.Milestone"}
    audit_extra_labels = {"service.milestone.name": _("milestone")}

    def notification_kinds(self):
        return [
            NotificationKind("delivery.assigned", _("I am made the owner of a delivery"), email=True),
            NotificationKind("delivery.accepted", _("A delivery I run or sold is accepted (finance: an instalment falls due)"),
                             email=True),
        ]

    def today_sources(self):
        from closeloop.followup.today import ITEM_TEMPLATE

        from .today import awaiting_delivery, milestones_overdue

        return [
            TodaySource("milestones", _("Overdue milestones"), milestones_overdue, ITEM_TEMPLATE, order=27),
            TodaySource("deliveries", _("Waiting for a delivery"), awaiting_delivery, ITEM_TEMPLATE, order=28),
        ]

    def record_types(self):
        return [RecordType("service.Delivery")]

    def record_panels(self):
        return [
            RecordPanel("contracts.Contract", "details", "service/_contract_panel.html"),
            RecordPanel("deals.Customer", "details", "service/_customer_panel.html"),
        ]

    def timeline_sources(self):
        from . import timeline

        return [TimelineSource("contracts.Contract", timeline.contract_deliveries),
                TimelineSource("deals.Customer", timeline.customer_deliveries)]

    def nav_entries(self):
        return [NavEntry("service", _("Deliveries"), "service:deliveries", order=10)]

    def urls(self):
        from . import views_public

        return [
            path("service/", include("closeloop.service.urls")),
            path("d/<str:key>/", views_public.public_acceptance_view, name="delivery_public"),
        ]

    def demo(self, ctx):
        from .demo import load_demo_deliveries

        ctx.summary.append(load_demo_deliveries(ctx))
