from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import (
    LoopApp,
    NavEntry,
    NotificationKind,
    RecordPanel,
    RecordType,
    Sweep,
    SyncedKind,
    TaskKind,
    TimelineSource,
    TodaySource,
    WebhookEvent,
)

from .actions import ServiceAction


def _admin(user) -> bool:
    return user.is_authenticated and user.is_admin


def _manages_sla(user) -> bool:
    # Every page draws the navigation: the service manager is read from the cached settings row (no query per page).
    from .access import can_manage_sla

    return user.is_authenticated and can_manage_sla(user)


class ServiceConfig(LoopApp):
    name = "closeloop.service"
    label = "service"
    verbose_name = _("Deliver and serve")
    audit_actions = ServiceAction
    # Milestones are recorded on their delivery; their changes are a milestone's fields.
    audit_action_models = {"milestone": "service.Milestone"}
    # A contract's instalments due "on acceptance" are released by its delivery's acceptance alone.
    records_delivery_acceptance = True
    audit_extra_labels = {"service.milestone.name": _("milestone"), "ticket_form": _("public ticket form"),
                          "survey": _("satisfaction survey"), "attachments": _("attachments"),
                          "renewal": _("renewal deal"), "csat": _("satisfaction (CSAT 1–5)"),
                          "nps": _("likely to recommend (NPS 0–10)"), "service_tier": _("service tier"),
                          "renewal_quote": _("renewal quote"), "renewal_windows": _("renewal days by product category"),
                          "policies": _("SLA policies")}

    def notification_kinds(self):
        return [
            NotificationKind("delivery.assigned", _("I am made the owner of a delivery"), email=True),
            NotificationKind("ticket.assigned", _("A ticket is assigned to me"), email=True),
            NotificationKind("ticket.sla_breached", _("A ticket breaches its SLA (service manager and assignee)"),
                             email=True),
            NotificationKind("delivery.accepted", _("A delivery I run or sold is accepted (finance: an instalment falls due)"),
                             email=True),
            NotificationKind("survey.low_score", _("A customer gives a low satisfaction score (account owner and "
                                                   "service manager)"), email=True),
            NotificationKind("renewal.opened", _("A renewal deal opens before a contract ends (owner and manager)"),
                             email=True),
        ]

    def task_kinds(self):
        from .surveys import LOW_SCORE_TASK

        # Closed by the follow-up that calls the customer back (a call, a visit ... logged on the ticket or delivery).
        return [TaskKind(LOW_SCORE_TASK, _("Call back an unhappy customer"),
                         reminder=_("Call back the unhappy customer of %(record)s"), done_by_activity=True)]

    def sweeps(self):
        from .tasks import contract_renewal_sweep, sync_ticket_search, ticket_sla_sweep

        # Every five minutes: a first response may be due within the hour; the sweep escalates each clock once.
        # Renewals every six hours (one indexed read when nothing is due); an interval sweep also runs when a worker
        # first starts, so a new installation (the demo's contract in performance) has its renewal deals at once.
        return [Sweep("service.sla", ticket_sla_sweep.enqueue, every_seconds=300),
                Sweep("service.renewals", contract_renewal_sweep.enqueue, every_seconds=6 * 3600),
                # Searches stay exact without it (new and changed tickets are candidates); it keeps them fast.
                Sweep("service.sync_ticket_search", sync_ticket_search.enqueue, every_seconds=60)]

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import customer_owner, ticket_search

        # Django rebuilds SQLite tables on some schema changes, dropping the search index's triggers (and those
        # keeping each ticket's account owner).
        post_migrate.connect(ticket_search.on_post_migrate, sender=self)
        post_migrate.connect(customer_owner.on_post_migrate, sender=self,
                             dispatch_uid="closeloop.service.customer_owner")

    def today_sources(self):
        from closeloop.followup.today import ITEM_TEMPLATE

        from .today import awaiting_delivery, milestones_overdue

        return [
            TodaySource("milestones", _("Overdue milestones"), milestones_overdue, ITEM_TEMPLATE, order=27),
            TodaySource("deliveries", _("Waiting for a delivery"), awaiting_delivery, ITEM_TEMPLATE, order=28),
        ]

    def record_types(self):
        from .tickets import on_activity
        from .timeline import ticket_attachment_entries

        return [RecordType("service.Delivery"),
                RecordType("service.Ticket", on_activity=on_activity, timeline_entries=ticket_attachment_entries)]

    def record_panels(self):
        return [
            RecordPanel("contracts.Contract", "details", "service/_contract_panel.html"),
            RecordPanel("deals.Customer", "details", "service/_customer_panel.html"),
            RecordPanel("deals.Customer", "details", "service/_customer_tickets.html", order=110),
            RecordPanel("deals.Customer", "details", "service/_customer_satisfaction.html", order=105),
            RecordPanel("deals.Customer", "details", "service/_customer_tier.html", order=108),
            RecordPanel("deals.Opportunity", "details", "service/_opportunity_renewal.html"),
        ]

    def custom_field_targets(self):
        from closeloop.core.hooks import CustomFieldTarget

        return [CustomFieldTarget("service.Delivery", _("Deliveries"), order=70),
                CustomFieldTarget("service.Ticket", _("Tickets"), channels=("web", "form", "api"),
                                  public_form=True, order=80)]

    def webhook_events(self):
        from closeloop.core.webhooks.events import api_serializer

        ticket = api_serializer("closeloop.service.api.TicketOut")
        return [
            WebhookEvent("ticket.created", _("Ticket raised"), "service.Ticket", ("ticket.create",), ticket),
            WebhookEvent("ticket.resolved", _("Ticket resolved"), "service.Ticket", ("ticket.status",), ticket,
                         when=lambda ticket, changes: (changes.get("status") or [None, None])[1] == "resolved"),
            # The answer is written on the ticket's or the delivery's trail; the event is the survey's.
            WebhookEvent("survey.answered", _("Satisfaction survey answered"), "service.Survey", ("survey.answer",),
                         api_serializer("closeloop.service.api_surveys.SurveyOut"),
                         record=lambda subject: getattr(subject, "survey", None)),
        ]

    def radar_breaks(self):
        from .radar import radar_breaks

        return radar_breaks()

    def timeline_sources(self):
        from . import timeline

        return [TimelineSource("contracts.Contract", timeline.contract_deliveries),
                TimelineSource("deals.Customer", timeline.customer_deliveries),
                TimelineSource("deals.Customer", timeline.customer_tickets)]

    def nav_entries(self):
        return [NavEntry("service", _("Tickets"), "service:tickets", order=5),
                NavEntry("service", _("Deliveries"), "service:deliveries", order=10),
                NavEntry("settings", _("Service and SLA"), "service:settings", order=80, visible=_admin),
                NavEntry("settings", _("SLA targets and tiers"), "service:sla", order=81, visible=_manages_sla)]

    def urls(self):
        from . import views_public

        return [
            path("service/", include("closeloop.service.urls")),
            path("d/<str:key>/", views_public.public_acceptance_view, name="delivery_public"),
            path("s/<str:key>/", views_public.public_survey_view, name="survey_public"),
            path("t/<str:key>/", views_public.public_ticket_form_view, name="ticket_form_public"),
            path("t/<str:key>/thanks/<str:number>/", views_public.public_ticket_thanks_view, name="ticket_form_thanks"),
        ]

    def api_routers(self):
        from . import api, api_deliveries, api_surveys

        return [("/tickets", api.router), ("/deliveries", api_deliveries.router), ("/surveys", api_surveys.router)]

    def gen_data_arguments(self, parser):
        parser.add_argument("--deliveries", type=int, default=0,
                            help="Deliveries with milestones (and surveys once accepted), on signed contracts.")
        parser.add_argument("--tickets", type=int, default=0,
                            help="Tickets over the customers, about a fifth open, with SLA clocks, replies and surveys.")
        parser.add_argument("--service-staff", type=int, default=8, help="The after-sales team (created if missing).")

    def gen_data(self, ctx):
        from .gendata import generate

        generate(ctx)

    def demo(self, ctx):
        from .demo import load_demo_deliveries, load_demo_surveys, load_demo_ticket_form, load_demo_tickets

        ctx.summary.append(load_demo_deliveries(ctx))
        ctx.summary.append(load_demo_tickets(ctx))
        ctx.summary.append(load_demo_surveys(ctx))
        ctx.summary.append(load_demo_ticket_form(ctx))

    def synced_kinds(self):
        # Their deletions are reported to the API's sync (GET /api/deleted/{kind}).
        return [SyncedKind("tickets", "service.Ticket"), SyncedKind("surveys", "service.Survey")]
