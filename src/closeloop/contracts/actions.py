"""The audit actions of the contracts app: stored codes, labels for the timelines.

Everything that happens to a contract, its plan, payments and invoices is recorded on the contract itself,
so the contract's trail is complete and the deal's and customer's timelines show it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContractAction(models.TextChoices):
    CONTRACT_CREATE = "contract.create", _("Contract created")
    CONTRACT_UPDATE = "contract.update", _("Contract edited")
    CONTRACT_SUBMIT = "contract.submit", _("Contract submitted for approval")
    CONTRACT_APPROVED = "contract.approved", _("Contract approved")
    CONTRACT_REJECTED = "contract.rejected", _("Contract rejected in approval")
    CONTRACT_WITHDRAW = "contract.withdraw", _("Contract approval withdrawn")
    CONTRACT_REOPEN = "contract.reopen", _("Contract returned to draft")
    CONTRACT_SIGN = "contract.sign", _("Contract signed")
    CONTRACT_START = "contract.start", _("Contract in performance")
    CONTRACT_DELIVERED = "contract.delivered", _("Delivery accepted")
    CONTRACT_COMPLETE = "contract.complete", _("Contract completed")
    CONTRACT_TERMINATE = "contract.terminate", _("Contract terminated")
    DOCUMENT_UPLOAD = "contract.upload", _("Document uploaded")
    ESIGN_EVENT = "contract.esign", _("E-signature event")
    # Recorded on the contract; their changes are an instalment's, a payment's or an invoice request's fields.
    PLAN_UPDATE = "instalment.plan", _("Payment plan changed")
    PAYMENT_RECORD = "payment.record", _("Payment recorded")
    PAYMENT_VOID = "payment.void", _("Payment voided")
    INVOICE_REQUEST = "invoice.request", _("Invoice requested")
    INVOICE_ISSUE = "invoice.issue", _("Invoice issued")
    INVOICE_REJECT = "invoice.reject", _("Invoice request rejected")
    INVOICE_CANCEL = "invoice.cancel", _("Invoice request withdrawn")
    SETTINGS_UPDATE = "contract_settings.update", _("Contract settings edited")
