"""The audit actions of the quotes app (and of the approval engine it holds): stored codes, labels for timelines."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class QuoteAction(models.TextChoices):
    """The audit actions of this app: stored codes, labels for the timelines."""

    PRODUCT_CREATE = "product.create", _("Product created")
    PRODUCT_UPDATE = "product.update", _("Product edited")
    PRODUCT_IMPORT = "product.import", _("Product imported")
    TAX_RATE_CREATE = "tax_rate.create", _("Tax rate created")
    TAX_RATE_UPDATE = "tax_rate.update", _("Tax rate edited")
    QUOTE_SETTINGS_UPDATE = "quote_settings.update", _("Quote settings edited")
    TEMPLATE_CREATE = "quote_template.create", _("Quote template created")
    TEMPLATE_UPDATE = "quote_template.update", _("Quote template edited")
    QUOTE_CREATE = "quote.create", _("Quote created")
    # Recorded on the quote, where people look for them; their changes are a version's or a line's fields.
    QUOTE_UPDATE = "quote_version.update", _("Quote edited")
    LINE_ADD = "quote_line.add", _("Quote line added")
    LINE_UPDATE = "quote_line.update", _("Quote line edited")
    LINE_REMOVE = "quote_line.remove", _("Quote line removed")
    QUOTE_SUBMIT = "quote.submit", _("Quote submitted for approval")
    QUOTE_APPROVED = "quote.approved", _("Quote approved")
    QUOTE_REJECTED = "quote.rejected", _("Quote rejected in approval")
    QUOTE_WITHDRAW = "quote.withdraw", _("Quote approval withdrawn")
    QUOTE_SEND = "quote.send", _("Quote sent")
    QUOTE_REVISE = "quote.revise", _("New quote version")
    QUOTE_ACCEPT = "quote.accept", _("Quote accepted")
    QUOTE_DECLINE = "quote.decline", _("Quote declined")
    APPROVAL_RULE_CREATE = "approval_rule.create", _("Approval rule created")
    APPROVAL_RULE_UPDATE = "approval_rule.update", _("Approval rule edited")
    APPROVAL_SUBMIT = "approval.submit", _("Approval requested")
    APPROVAL_APPROVE = "approval.approve", _("Approved")
    APPROVAL_REJECT = "approval.reject", _("Rejected")
    APPROVAL_CANCEL = "approval.cancel", _("Approval cancelled")
