"""The audit actions of the service app: stored codes, labels for the timelines.

A milestone's and an acceptance's entries are recorded on their delivery, so the delivery's trail is complete and
the contract's and customer's timelines show it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceAction(models.TextChoices):
    DELIVERY_CREATE = "delivery.create", _("Delivery started")
    DELIVERY_UPDATE = "delivery.update", _("Delivery edited")
    DELIVERY_ACCEPT = "delivery.accept", _("Delivery accepted")
    MILESTONE_ADD = "milestone.add", _("Milestone added")
    MILESTONE_UPDATE = "milestone.update", _("Milestone changed")
    TICKET_CREATE = "ticket.create", _("Ticket raised")
    TICKET_UPDATE = "ticket.update", _("Ticket edited")
    TICKET_ASSIGN = "ticket.assign", _("Ticket assigned")
    TICKET_STATUS = "ticket.status", _("Ticket status changed")
    TICKET_REOPEN = "ticket.reopen", _("Ticket reopened")
    TICKET_ATTACH = "ticket.attach", _("Files attached to the ticket")
    TICKET_FORM_SHARE = "ticket_form.share", _("Public ticket form shared")
    SURVEY_SEND = "survey.send", _("Satisfaction survey sent")
    SURVEY_RESEND = "survey.resend", _("Satisfaction survey sent again")
    SURVEY_ANSWER = "survey.answer", _("Satisfaction survey answered")
    RENEWAL_OPEN = "renewal.open", _("Renewal deal opened")
    RENEWAL_QUOTE = "renewal.quote", _("Renewal quote drafted from the contract's lines")
    SETTINGS_UPDATE = "service_settings.update", _("Service settings edited")
    TIER_SET = "service_tier.set", _("Service tier set")
