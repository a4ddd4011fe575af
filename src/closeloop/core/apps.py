from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "closeloop.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from .schedule import register_sweep
        from .tasks import recover_notification_deliveries

        register_sweep("core.recover_notification_deliveries", 300, recover_notification_deliveries.enqueue)
