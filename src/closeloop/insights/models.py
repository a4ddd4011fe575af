"""The insights app's settings (how long each kind of break may wait before the breakpoint radar counts it), the
radar's counts per owner, kept by the worker, the monthly sales targets of reps and teams, and the weekly digest's
time and the digests sent."""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
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


class RadarWeek(models.Model):
    """How many records of one kind of break one owner had in one week (its Monday, local time): the radar's trend.
    The recount writes the current week's rows (replacing that week's earlier ones), so a past week keeps the counts
    of its last recount, as of its Sunday. By owner and second owner path, like `RadarCount`, so a viewer's trend
    sums the rows `RadarCount` would give them (the weekly digest's counts use the first owner only)."""

    week = models.DateField()
    kind = models.CharField(max_length=60)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    also_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(db_default=0)

    class Meta:
        verbose_name = _("breakpoint radar week")
        verbose_name_plural = _("breakpoint radar weeks")
        indexes = [models.Index(fields=["week", "owner"], name="insights_radarweek_week_owner")]

    def __str__(self):
        return f"{self.week} · {self.kind} · {self.owner_id} · {self.count}"


class RadarWeekKept(models.Model):
    """A week (its Monday, local time) in which the worker recounted at least once, so `RadarWeek` holds its counts:
    a week without a row had no recount (the worker was not running, or it is before the history began) and the
    trend shows "no data" for it, not 0. A kind and owner without a `RadarWeek` row in a kept week had nothing broken."""

    week = models.DateField(unique=True)

    class Meta:
        verbose_name = _("breakpoint radar week kept")
        verbose_name_plural = _("breakpoint radar weeks kept")

    def __str__(self):
        return f"{self.week}"


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


class OverdueCount(models.Model):
    """How many open leads (or deals) of one owner, from one source (and in one pipeline, for deals), had their next
    follow-up past due at the last recount: the dashboard's "overdue follow-ups by rep" (`insights.dashboard`),
    kept by the radar's sweep with the same `RadarRecount.counted_at`. Counting every open record of the line on
    each view took half a second at 1M leads; a line's figure is the sum of its owners' rows."""

    LEAD, DEAL = "lead", "deal"

    record = models.CharField(max_length=4)  # LEAD or DEAL
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey("leads.LeadSource", null=True, on_delete=models.CASCADE, related_name="+")
    pipeline = models.ForeignKey("deals.Pipeline", null=True, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("overdue follow-up count")
        verbose_name_plural = _("overdue follow-up counts")

    def __str__(self):
        return f"{self.record} · {self.owner_id} · {self.count}"


class SalesTarget(models.Model):
    """One month's sales targets (业绩目标) for one rep or one team (a department and those under it): new customers,
    the amount of deals won and the amount collected. Entered by a manager for their subtree (or an administrator),
    on the targets page or from an Excel sheet, through `insights.targets.target_save`; an empty value has no target."""

    month = models.DateField(_("month"))  # its first day
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("rep"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey("core.Department", verbose_name=_("team"), null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="+")
    new_customers = models.PositiveIntegerField(_("new customers"), null=True, blank=True)
    won_amount = models.DecimalField(_("won amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    collected_amount = models.DecimalField(_("collected amount"), max_digits=14, decimal_places=2, null=True,
                                           blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["month", "id"]
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        constraints = [
            models.CheckConstraint(condition=Q(user__isnull=False, department__isnull=True)
                                   | Q(user__isnull=True, department__isnull=False), name="salestarget_rep_or_team"),
            # One row per rep and month, one per team and month; they also serve "the targets of these months".
            models.UniqueConstraint(fields=["month", "user"], condition=Q(user__isnull=False),
                                    name="salestarget_rep_month_unique"),
            models.UniqueConstraint(fields=["month", "department"], condition=Q(department__isnull=False),
                                    name="salestarget_team_month_unique"),
            models.CheckConstraint(condition=Q(won_amount__isnull=True) | Q(won_amount__gte=0),
                                   name="salestarget_won_not_negative"),
            models.CheckConstraint(condition=Q(collected_amount__isnull=True) | Q(collected_amount__gte=0),
                                   name="salestarget_collected_not_negative"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} · {self.user or self.department}"


class DigestSettings(models.Model):
    """One row (pk 1): when the weekly digest (每周复盘) goes out, on Mondays, in the site's time zone."""

    send_at = models.TimeField(_("sent on Mondays at"), default=time(8, 0))

    class Meta:
        verbose_name = _("weekly digest settings")
        verbose_name_plural = _("weekly digest settings")

    def __str__(self):
        return str(_("Weekly digest settings"))


class WeeklyDigest(models.Model):
    """One manager's review of one week, claimed by the sweep that sends it: the unique row is what keeps it to one
    digest per manager and week however many workers run the sweep, and however often."""

    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()  # the reviewed week's Monday (site time zone)
    created_at = models.DateTimeField(auto_now_add=True)
    emailed = models.BooleanField(default=False)
    robots = models.PositiveSmallIntegerField(default=0)  # how many team robots were sent the summary

    class Meta:
        ordering = ["-week", "manager_id"]
        verbose_name = _("weekly digest")
        verbose_name_plural = _("weekly digests")
        constraints = [models.UniqueConstraint(fields=["manager", "week"], name="weeklydigest_manager_week_unique")]

    def __str__(self):
        return f"{self.week:%Y-%m-%d} · {self.manager_id}"
