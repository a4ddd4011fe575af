"""The insights app's settings: how long each kind of break may wait before the breakpoint radar counts it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RadarSettings(models.Model):
    """One row (pk 1): the thresholds an administrator changed, in hours by kind of break ({"leads.no_owner": 4});
    a kind not in it keeps the default its app declares."""

    thresholds = models.JSONField(_("thresholds (hours)"), default=dict, blank=True)

    class Meta:
        verbose_name = _("breakpoint radar settings")
        verbose_name_plural = _("breakpoint radar settings")

    def __str__(self):
        return str(_("Breakpoint radar settings"))
