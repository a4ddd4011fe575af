"""What contracts add to the one timeline: a deal's and a customer's timelines show their contracts' trail
(creation, approval, signature, plan, payments, invoices), each entry marked with its contract."""

from closeloop.followup.timeline import AUDIT

from .models import Contract


def _visible(contracts, viewer):
    if viewer is not None:
        contracts = contracts.visible_to(viewer)
    return list(contracts.only("id", "number", "title"))


def deal_contracts(deal, viewer):
    yield _visible(Contract.objects.filter(opportunity=deal), viewer), {AUDIT}


def customer_contracts(customer, viewer):
    yield _visible(Contract.objects.filter(customer=customer), viewer), {AUDIT}
