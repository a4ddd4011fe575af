from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "closeloop.deals"
    label = "deals"
    verbose_name = _("Deals")

    def ready(self):
        from closeloop.core.schedule import register_sweep

        from .tasks import reminder_sweep

        # Every five minutes; the sweep is idempotent, so a late or doubled run sends nothing twice.
        register_sweep("deals.reminders", 300, reminder_sweep.enqueue)
