from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "closeloop.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from django.db.models import fields

        # Django 6.1's "nothing chosen" label is not in its zh-hans catalogue yet. Django reads it at
        # render time and lets ready() replace it; as our own string it is translated with the rest.
        fields.BLANK_CHOICE_LABEL = _("- Select an option -")

        from .schedule import register_sweep
        from .tasks import recover_notification_deliveries

        register_sweep("core.recover_notification_deliveries", 300, recover_notification_deliveries.enqueue)
