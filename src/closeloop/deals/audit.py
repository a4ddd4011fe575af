"""The deals app's audit actions: the codes its services write to the trail, with their timeline labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DealAction(models.TextChoices):
    # Conversion is the deals app's: it turns a lead into a customer and a deal.
    LEAD_CONVERT = "lead.convert", _("Converted to a deal")
    CUSTOMER_CREATE = "customer.create", _("Customer created")
    CUSTOMER_UPDATE = "customer.update", _("Customer edited")
    CUSTOMER_CLAIM = "customer.claim", _("Claimed from the public pool")
    CUSTOMER_RELEASE = "customer.release", _("Released to the public pool")
    CUSTOMER_RETURN_TO_POOL = "customer.return_to_pool", _("Returned to the public pool")
    CUSTOMER_TRANSFER = "customer.transfer", _("Customer transferred")
    CONTACT_CREATE = "contact.create", _("Contact added")
    CONTACT_UPDATE = "contact.update", _("Contact edited")
    CONTACT_DELETE = "contact.delete", _("Contact deleted")
    OPPORTUNITY_CREATE = "opportunity.create", _("Deal created")
    OPPORTUNITY_UPDATE = "opportunity.update", _("Deal edited")
    OPPORTUNITY_STAGE = "opportunity.stage", _("Stage changed")
    OPPORTUNITY_TRANSFER = "opportunity.transfer", _("Deal transferred")
    PIPELINE_CREATE = "pipeline.create", _("Pipeline created")
    PIPELINE_UPDATE = "pipeline.update", _("Pipeline edited")
    STAGE_CREATE = "stage.create", _("Stage created")
    STAGE_UPDATE = "stage.update", _("Stage edited")
    STAGE_DELETE = "stage.delete", _("Stage deleted")
    LOST_REASON_CREATE = "lost_reason.create", _("Lost reason created")
    LOST_REASON_UPDATE = "lost_reason.update", _("Lost reason edited")
    WIN_REASON_CREATE = "win_reason.create", _("Win reason created")
    WIN_REASON_UPDATE = "win_reason.update", _("Win reason edited")
