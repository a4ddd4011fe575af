from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "closeloop.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import name_search, tasks

        tasks.register()
        # Django rebuilds SQLite tables on some schema changes, dropping the name index's triggers.
        post_migrate.connect(name_search.on_post_migrate, sender=self)
