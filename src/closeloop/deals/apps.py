from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.core.hooks import LoopApp, NavEntry, NotificationKind, Sweep

from .audit import DealAction


def _admin(user) -> bool:
    return user.is_admin


def _seller(user) -> bool:
    # Who may browse and claim pooled customers (see selectors.customer_pool).
    return user.is_admin or user.role in ("sales_rep", "sales_manager")


class DealsConfig(LoopApp):
    name = "closeloop.deals"
    label = "deals"
    verbose_name = _("Deals")
    audit_actions = DealAction
    audit_extra_labels = {
        "collaborators": _("collaborators"),
        "handoff": _("hand-off"),
        # Own context: the list's “deals” after a count reads 个商机, wrong as a field label.
        "opportunities": pgettext_lazy("timeline field", "deals"),
        # A contact's “name” on the customer's timeline is the person's.
        "deals.contact.name": _("contact"),
    }
    # Contact events are recorded on the customer, where people look for them, but their changes are the
    # contact's fields.
    audit_action_models = {"contact": "deals.Contact"}

    def notification_kinds(self):
        return [
            NotificationKind("reminder.first_contact", _("First contact is due"), email=True),
            NotificationKind("reminder.follow_up", _("A follow-up is due")),
            NotificationKind("reminder.stale", _("A deal is stale in its stage")),
            NotificationKind("reminder.no_activity", _("A record has had no activity for a while")),
            NotificationKind("reminder.escalation", _("An overdue item of my team is escalated to me"), email=True),
            NotificationKind("opportunity.assigned", _("A deal is assigned to me"), email=True),
            NotificationKind("opportunity.stage", _("My deal moved to another stage")),
            NotificationKind("opportunity.transferred", _("A deal is transferred to or from me"), email=True),
            NotificationKind("opportunity.collaborator", _("I am added to a deal as collaborator")),
            NotificationKind("customer.transferred", _("A customer is transferred to me"), email=True),
            NotificationKind("customer.pool_warning", _("My customers are about to return to the public pool"),
                             email=True),
            NotificationKind("customer.pool_returned", _("My customers returned to the public pool")),
            NotificationKind("handoff.request", _("Someone hands work over to me to accept"), email=True),
            NotificationKind("handoff.accepted", _("My hand-off was accepted")),
            NotificationKind("handoff.declined", _("My hand-off was declined"), email=True),
            NotificationKind("handoff.done", _("My hand-off was completed")),
            NotificationKind("comment.mention", _("Someone mentions me in a comment"), email=True),
        ]

    def sweeps(self):
        from .tasks import customer_pool_sweep, reminder_sweep

        return [
            # Every five minutes; the sweep is idempotent, so a late or doubled run sends nothing twice.
            Sweep("deals.reminders", reminder_sweep.enqueue, every_seconds=300),
            # Like the leads' pool sweep: warnings go out about a day ahead, returns land close to their deadline.
            Sweep("deals.customer_pool_sweep", customer_pool_sweep.enqueue, every_seconds=15 * 60),
        ]

    def nav_entries(self):
        return [
            NavEntry("home", _("Today"), "deals:today", order=10),
            NavEntry("deals", _("Board"), "deals:board", order=10),
            NavEntry("deals", _("Deal list"), "deals:list", order=20),
            NavEntry("deals", _("Customers"), "deals:customer_list", order=30),
            NavEntry("deals", _("Customer pool"), "deals:customer_pool", order=40, visible=_seller),
            NavEntry("settings", _("Pipelines"), "deals:settings", order=30, visible=_admin),
        ]

    def demo(self, ctx):
        from .demo import load_demo_deals

        deals = load_demo_deals(rng=ctx.rng, reps=ctx.shared["reps"], presales=ctx.users["presales1"], admin=ctx.admin)
        ctx.summary.append(f"{deals} deals")

    def gen_data_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=0)
        parser.add_argument("--opportunities", type=int, default=0)
        parser.add_argument("--activities", type=int, default=0)

    def gen_data(self, ctx):
        from .gendata import generate

        generate(ctx)

    def urls(self):
        return [path("deals/", include("closeloop.deals.urls"))]

    def api_routers(self):
        from .api import router

        return [("/deals", router)]
