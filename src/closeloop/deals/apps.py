from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "closeloop.deals"
    label = "deals"
    verbose_name = _("Deals")

    def ready(self):
        from closeloop.core.notify import register_kind
        from closeloop.core.schedule import register_sweep

        from .tasks import customer_pool_sweep, reminder_sweep

        # Every five minutes; the sweep is idempotent, so a late or doubled run sends nothing twice.
        register_sweep("deals.reminders", 300, reminder_sweep.enqueue)
        # Like the leads' pool sweep: warnings go out about a day ahead, returns land close to their deadline.
        register_sweep("deals.customer_pool_sweep", 15 * 60, customer_pool_sweep.enqueue)
        register_kind("customer.pool_warning", _("My customers are about to return to the public pool"), email=True)
        register_kind("customer.pool_returned", _("My customers returned to the public pool"))
