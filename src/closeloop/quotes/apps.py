from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.core.hooks import (
    LoopApp,
    NavEntry,
    NotificationKind,
    RecordPanel,
    ReminderSource,
    SyncedKind,
    TimelineSource,
    TodaySource,
    WebhookEvent,
)

from .actions import QuoteAction


def _can_manage_catalog(user) -> bool:
    return user.is_authenticated and (user.is_admin or user.role == "presales")


class QuotesConfig(LoopApp):
    name = "closeloop.quotes"
    label = "quotes"
    verbose_name = _("Quotes")
    audit_actions = QuoteAction
    audit_action_models = {"quote_line": "quotes.QuoteLine", "quote_version": "quotes.QuoteVersion"}
    audit_extra_labels = {
        "approvers": _("approvers"),
        "quotes.quote.title": pgettext_lazy("quote", "title"),
        "quotes.quoteversion.title": pgettext_lazy("quote", "title"),
        "quotes.quote.total_incl_tax": _("total incl. tax"),
        "quotes.quote.version": _("version"),
        "quotes.quotetemplate.lines": _("products"),
    }

    def gen_data_arguments(self, parser):
        parser.add_argument("--quotes", type=int, default=0, help="Quotes on deals (one version each).")

    def gen_data(self, ctx):
        from .gendata import generate

        generate(ctx)

    def notification_kinds(self):
        return [
            # Approvals hold up a deal: approvers and submitters hear of them by email too.
            NotificationKind("approval.requested", _("Someone asks me to approve something"), email=True),
            NotificationKind("approval.decided", _("My request was approved or rejected"), email=True),
            NotificationKind("quote.decided", _("A customer accepted or declined my quote"), email=True),
            NotificationKind("reminder.approval", _("An approval has waited too long for my decision"), email=True),
        ]

    def record_panels(self):
        # The deal page lists its quotes and starts a new one.
        return [RecordPanel("deals.Opportunity", "details", "quotes/_deal_panel.html", order=50)]

    def timeline_sources(self):
        from . import timeline

        # Approvals are audited on the quote; the deal's and the customer's timelines show them with the rest.
        return [TimelineSource("deals.Opportunity", timeline.deal_quotes),
                TimelineSource("deals.Customer", timeline.customer_quotes)]

    def today_sources(self):
        from .approvals import approvals_today

        # Before the follow-ups: a deal waits on the approver, not on the customer.
        return [TodaySource("approvals", _("Approvals"), approvals_today, "quotes/today/_approval.html", order=15)]

    def reminder_sources(self):
        from .approvals import APPROVAL_REMINDER, approvals_due

        return [ReminderSource(APPROVAL_REMINDER, _("Approval waiting"), approvals_due)]

    def nav_entries(self):
        return [
            NavEntry("quotes", _("Quotes"), "quotes:list", order=10),
            NavEntry("quotes", _("Approvals"), "quotes:approvals", order=20),
            NavEntry("quotes", _("Products"), "quotes:product_list", order=30),
            NavEntry("quotes", _("Quote templates"), "quotes:template_list", order=40, visible=_can_manage_catalog),
            NavEntry("settings", _("Quotes and approvals"), "quotes:settings", order=60,
                     visible=lambda user: user.is_authenticated and user.is_admin),
        ]

    def import_kinds(self):
        from .imports import product_import_kind

        return [product_import_kind()]

    def demo(self, ctx):
        from .demo import load_demo_quotes

        ctx.summary.append(load_demo_quotes(ctx))

    def custom_field_targets(self):
        from closeloop.core.hooks import CustomFieldTarget

        return [CustomFieldTarget("quotes.Quote", _("Quotes"), order=50)]

    def webhook_events(self):
        from closeloop.core.webhooks.events import api_serializer

        quote = api_serializer("closeloop.quotes.api.QuoteOut")
        return [
            WebhookEvent("quote.sent", _("Quote sent to the customer"), "quotes.Quote", ("quote.send",), quote),
            WebhookEvent("quote.accepted", _("Quote accepted"), "quotes.Quote", ("quote.accept",), quote),
            WebhookEvent("quote.declined", _("Quote declined"), "quotes.Quote", ("quote.decline",), quote),
        ]

    def radar_breaks(self):
        from .radar import radar_breaks

        return radar_breaks()

    def urls(self):
        from . import views_public

        return [
            path("quotes/", include("closeloop.quotes.urls")),
            # The customer's quote link, short and saying nothing about the app, like the web form's /f/.
            path("q/<str:key>/", views_public.public_quote_view, name="quote_public"),
            path("q/<str:key>/pdf/", views_public.public_quote_pdf_view, name="quote_public_pdf"),
        ]

    def api_routers(self):
        from .api import approvals_router, router

        return [("/quotes", router), ("/approvals", approvals_router)]

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import current_total, deal_owner
        from .approvals import register_kind
        from .services import quote_approval_kind

        register_kind(quote_approval_kind())
        # Django rebuilds SQLite tables on some schema changes, dropping the triggers that keep each quote's total
        # and its deal's owner.
        post_migrate.connect(current_total.on_post_migrate, sender=self, dispatch_uid="closeloop.quotes.current_total")
        post_migrate.connect(deal_owner.on_post_migrate, sender=self, dispatch_uid="closeloop.quotes.deal_owner")

    def synced_kinds(self):
        # Their deletions are reported to the API's sync (GET /api/deleted/{kind}).
        return [SyncedKind("quotes", "quotes.Quote"), SyncedKind("products", "quotes.Product")]
