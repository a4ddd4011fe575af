"""The audit actions of the insights app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class InsightsAction(models.TextChoices):
    RADAR_SETTINGS = "radar.settings", _("Breakpoint radar thresholds changed")
    TARGET_SET = "target.set", _("Sales targets set")
    DIGEST_SETTINGS = "digest.settings", _("Weekly digest time changed")
