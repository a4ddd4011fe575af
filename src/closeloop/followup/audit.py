"""The follow-up family's audit actions: the codes its services write to the trail, with their timeline labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FollowupAction(models.TextChoices):
    ACTIVITY_LOG = "activity.log", _("Follow-up logged")
