from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.core.hooks import (
    LoopApp,
    NavEntry,
    NotificationKind,
    RecordPanel,
    RecordType,
    ReminderSource,
    Sweep,
    SyncedKind,
    WebhookEvent,
)

from .audit import DealAction


def _admin(user) -> bool:
    return user.is_admin


def _seller(user) -> bool:
    # Who may browse and claim pooled customers (see selectors.customer_pool).
    return user.is_admin or user.role in ("sales_rep", "sales_manager")


def _customers():
    from .models import Customer

    return Customer.objects.all()


def _open_deals():
    from .models import Opportunity, OpportunityStatus

    return Opportunity.objects.filter(status=OpportunityStatus.OPEN).select_related("customer")


def _deal_next_follow_up(deal):
    """An open deal's next follow-up by default: its pipeline's interval."""
    from closeloop.followup.services import follow_up_time

    from .models import OpportunityStatus

    if deal.status != OpportunityStatus.OPEN:
        return None
    # The deal's pages load it with its pipeline (get_opportunity_for_user): no query of its own.
    days = deal.pipeline.follow_up_days or 7
    return follow_up_time(days)


class DealsConfig(LoopApp):
    name = "closeloop.deals"
    label = "deals"
    verbose_name = _("Deals")
    audit_actions = DealAction
    audit_extra_labels = {
        # Own context: the list's “deals” after a count reads 个商机, wrong as a field label.
        "opportunities": pgettext_lazy("timeline field", "deals"),
        # A contact's “name” on the customer's timeline is the person's.
        "deals.contact.name": _("contact"),
    }
    # Contact events are recorded on the customer, where people look for them, but their changes are the
    # contact's fields.
    audit_action_models = {"contact": "deals.Contact"}

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import lead_origin

        # Django rebuilds SQLite tables on some schema changes, dropping the triggers that keep each deal's lead
        # origin (a rebuilt lead or deal table).
        post_migrate.connect(lead_origin.on_post_migrate, sender=self, dispatch_uid="closeloop.deals.lead_origin")

    def notification_kinds(self):
        return [
            NotificationKind("reminder.stale", _("A deal is stale in its stage")),
            NotificationKind("reminder.no_activity", _("A record has had no activity for a while"), summary=True),
            NotificationKind("opportunity.assigned", _("A deal is assigned to me"), email=True),
            NotificationKind("opportunity.stage", _("My deal moved to another stage")),
            NotificationKind("opportunity.transferred", _("A deal is transferred to or from me"), email=True),
            NotificationKind("customer.transferred", _("A customer is transferred to me"), email=True),
            NotificationKind("customer.pool_warning", _("My customers are about to return to the public pool"),
                             email=True),
            NotificationKind("customer.pool_returned", _("My customers returned to the public pool"), summary=True),
        ]

    def record_types(self):
        from . import timeline

        return [
            RecordType("deals.Customer", followed_up=_customers, timeline_related=timeline.customer_related),
            RecordType("deals.Opportunity", followed_up=_open_deals, timeline_related=timeline.deal_related,
                       timeline_entries=timeline.deal_stage_entries, next_follow_up_default=_deal_next_follow_up),
        ]

    def record_panels(self):
        # The lead page's way into the deals: convert a qualified lead, and the deals it became.
        return [
            RecordPanel("leads.Lead", "actions", "deals/_lead_convert.html"),
            RecordPanel("leads.Lead", "details", "deals/_lead_deals.html"),
        ]

    def reminder_sources(self):
        from . import reminders

        return [
            ReminderSource(reminders.STALE, _("Deal stale in stage"), reminders.stale_deals),
            ReminderSource(reminders.NO_ACTIVITY, _("No activity"), reminders.quiet_deals),
        ]

    def sweeps(self):
        from .tasks import customer_pool_sweep

        return [
            # Like the leads' pool sweep: warnings go out about a day ahead, returns land close to their deadline.
            Sweep("deals.customer_pool_sweep", customer_pool_sweep.enqueue, every_seconds=15 * 60),
        ]

    def nav_entries(self):
        return [
            NavEntry("deals", _("Board"), "deals:board", order=10),
            NavEntry("deals", _("Deal list"), "deals:list", order=20),
            NavEntry("deals", _("Customers"), "deals:customer_list", order=30),
            NavEntry("deals", _("Customer pool"), "deals:customer_pool", order=40, visible=_seller),
            NavEntry("settings", _("Pipelines"), "deals:settings", order=30, visible=_admin),
        ]

    def demo(self, ctx):
        from .demo import load_demo_deals, load_demo_views

        deals = load_demo_deals(rng=ctx.rng, reps=ctx.shared["reps"], presales=ctx.users["presales1"], admin=ctx.admin)
        ctx.summary.append(f"{deals} deals")
        load_demo_views(ctx)

    def gen_data_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=0)
        parser.add_argument("--opportunities", type=int, default=0)
        parser.add_argument("--activities", type=int, default=0)
        parser.add_argument("--handoffs", type=int, default=0,
                            help="Hand-offs from reps to pre-sales on deals and leads.")

    def gen_data(self, ctx):
        from .gendata import generate

        generate(ctx)

    def saved_view_lists(self):
        from closeloop.core.hooks import ListColumn, SavedViewList

        from .selectors import CUSTOMER_SORTS, SORTS
        from .views import LIST_PARAMETERS
        from .views_customers import CUSTOMER_LIST_PARAMETERS

        return [SavedViewList(
            "deals", _("Deals"), "deals:list", columns=(
                ListColumn("customer", _("Customer")), ListColumn("stage", _("Stage")),
                ListColumn("amount", _("Amount"), sort="-amount"), ListColumn("probability", _("Probability")),
                ListColumn("expected_close", _("Expected close"), sort="expected_close_date"),
                ListColumn("owner", _("Owner")),
                ListColumn("next_follow_up", _("Next follow-up"), sort="next_follow_up_at"),
                ListColumn("updated", _("Updated"), sort="-updated_at"),
            ),
            default_columns=("customer", "stage", "amount", "probability", "expected_close", "owner",
                             "next_follow_up"),
            parameters=LIST_PARAMETERS, sorts=tuple(SORTS), custom_target="deals.Opportunity", custom_filters=True,
            order=20),
            SavedViewList(
                "customers", _("Customers"), "deals:customer_list", columns=(
                    ListColumn("contact", _("Contact")), ListColumn("industry", _("Industry")),
                    ListColumn("city", _("City")), ListColumn("owner", _("Owner")),
                    ListColumn("next_follow_up", _("Next follow-up"), sort="next_follow_up_at"),
                    ListColumn("created", _("Created"), sort="-created_at"),
                ),
                default_columns=("contact", "industry", "city", "owner", "next_follow_up"),
                parameters=CUSTOMER_LIST_PARAMETERS, sorts=tuple(CUSTOMER_SORTS), title_sort="name",
                custom_target="deals.Customer", custom_filters=True, order=30)]

    def custom_field_targets(self):
        from closeloop.core.hooks import CustomFieldTarget

        return [
            CustomFieldTarget("deals.Customer", _("Customers"), order=20),
            # Contacts are listed on their customer's page, with no search box.
            CustomFieldTarget("deals.Contact", _("Contacts"), order=30, searched=False),
            CustomFieldTarget("deals.Opportunity", _("Deals"), order=40),
        ]

    def webhook_events(self):
        from closeloop.core.webhooks.events import api_serializer

        deal = api_serializer("closeloop.deals.api.OpportunityOut")

        def became(status):
            return lambda deal, changes: (changes.get("status") or [None, None])[1] == status

        return [
            WebhookEvent("deal.stage_changed", _("Deal moved to another stage"), "deals.Opportunity",
                         ("opportunity.stage",), deal),
            WebhookEvent("deal.won", _("Deal won"), "deals.Opportunity", ("opportunity.stage",), deal,
                         when=became("won")),
            WebhookEvent("deal.lost", _("Deal lost"), "deals.Opportunity", ("opportunity.stage",), deal,
                         when=became("lost")),
        ]

    def radar_breaks(self):
        from .radar import radar_breaks

        return radar_breaks()

    def urls(self):
        return [path("deals/", include("closeloop.deals.urls"))]

    def api_routers(self):
        from .api import router

        return [("/deals", router)]

    def synced_kinds(self):
        # Their deletions are reported to the API's sync (GET /api/deleted/{kind}).
        return [SyncedKind("customers", "deals.Customer"), SyncedKind("contacts", "deals.Contact", follows=_contact_customer), SyncedKind("deals", "deals.Opportunity")]


def _contact_customer(contact):
    """A contact is seen by who sees its customer (deals.models.ContactQuerySet.visible_to)."""
    from .models import Customer

    return Customer, contact.customer_id
