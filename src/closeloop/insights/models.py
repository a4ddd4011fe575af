"""The insights app's settings (how long each kind of break may wait before the breakpoint radar counts it) and
the radar's counts per owner, kept by the worker."""

from django.conf import settings
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


class RadarCount(models.Model):
    """How many records of one kind of break one owner had at the last recount (`insights.radar.recount`, a sweep
    of the worker), by the owner path and the second one of kinds that have it (a contract's deal's owner). The
    radar page sums the rows of the owners a viewer sees and adds what they see beyond them, counted live:
    counting every broken record through the visibility subqueries on each page view took seconds."""

    kind = models.CharField(max_length=60)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    also_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("breakpoint radar count")
        verbose_name_plural = _("breakpoint radar counts")

    def __str__(self):
        return f"{self.kind} · {self.owner_id} · {self.count}"


class RadarRecount(models.Model):
    """One row (pk 1): when the counts in `RadarCount` were taken, and how long it took. The recount locks it, so
    two workers recounting at once take turns instead of both writing their rows."""

    counted_at = models.DateTimeField()
    seconds = models.FloatField(default=0)

    class Meta:
        verbose_name = _("breakpoint radar recount")
        verbose_name_plural = _("breakpoint radar recounts")

    def __str__(self):
        return f"{self.counted_at:%Y-%m-%d %H:%M}"
