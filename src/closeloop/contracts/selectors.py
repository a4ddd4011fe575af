"""Contract reads. Every one starts from `Contract.objects.visible_to(user)`; a contract outside it is a 404."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, Sum
from django.http import Http404
from django.utils import timezone

from closeloop.core.customfields import indexes
from closeloop.core.customfields import search as custom_search
from closeloop.core.inputs import day_start
from closeloop.core.money import quantize
from closeloop.core.visibility import owners_named
from closeloop.deals.models import Opportunity

from .models import Contract, ContractStatus, InvoiceRequest, InvoiceStatus, Payment


@dataclass
class ContractFilters:
    q: str = ""
    status: str = ""
    deal: str = ""
    customer: str = ""
    # The review's drill-downs (insights): the owner ("me", "team" or an id), the deal's pipeline and lead source,
    # signed on these days.
    owner: str = ""
    pipeline: str = ""
    source: str = ""
    signed_from: str = ""
    signed_to: str = ""
    # Filters on the deal's custom fields (`deal.cf.<key>`, core.customfields.indexes): quote to cash through the deal.
    deal_custom: tuple = ()


def awaiting_contract(quotes):
    """Of these quotes, the accepted ones without a live (not terminated) contract: what a contract is made from."""
    from closeloop.quotes.models import QuoteStatus

    live = Contract.objects.filter(quote=OuterRef("pk")).exclude(status=ContractStatus.TERMINATED)
    return quotes.filter(status=QuoteStatus.ACCEPTED).filter(~Exists(live))


def _id(text: str) -> int | None:
    """A record id from a filter; None for anything the database could not hold (a 64-bit key)."""
    return int(text) if text.isdigit() and int(text) < 2**63 else None


def contract_list(*, user, filters: ContractFilters):
    contracts = Contract.objects.visible_to(user)
    if filters.q:
        text = filters.q.strip()
        contracts = contracts.filter(custom_search.also(Q(number__icontains=text) | Q(title__icontains=text)
                                                        | Q(customer__name__icontains=text),
                                                        Contract._meta.label, text, user))
    if filters.status in ContractStatus.values:
        contracts = contracts.filter(status=filters.status)
    if (deal := _id(filters.deal)) is not None:
        contracts = contracts.filter(opportunity_id=deal)
    if (customer := _id(filters.customer)) is not None:
        contracts = contracts.filter(customer_id=customer)
    if (owners := owners_named(user, filters.owner)) is not None:
        contracts = contracts.filter(owner__in=owners)
    if (pipeline := _id(filters.pipeline)) is not None:
        contracts = contracts.filter(opportunity__pipeline_id=pipeline)
    if (source := _id(filters.source)) is not None:
        contracts = contracts.filter(opportunity__lead__source_id=source)
    contracts = indexes.through(contracts, "opportunity", Opportunity, filters.deal_custom)
    if start := day_start(filters.signed_from):
        contracts = contracts.filter(signed_at__gte=start)
    if end := day_start(filters.signed_to, days_after=1):
        contracts = contracts.filter(signed_at__lt=end)
    return contracts.select_related("customer", "owner").order_by("-created_at", "-id")


def get_contract_for_user(user, pk) -> Contract:
    contract = (Contract.objects.visible_to(user)
                .select_related("customer", "owner", "opportunity", "opportunity__stage", "quote", "quote_version",
                                "created_by")
                .filter(pk=pk).first())
    if contract is None:
        raise Http404
    return contract


def get_payment_for_user(user, contract_pk, pk) -> Payment:
    contract = get_contract_for_user(user, contract_pk)
    payment = contract.payments.filter(pk=pk).first()
    if payment is None:
        raise Http404
    payment.contract = contract
    return payment


def get_invoice_request_for_user(user, contract_pk, pk) -> InvoiceRequest:
    contract = get_contract_for_user(user, contract_pk)
    request = contract.invoice_requests.select_related("requested_by").filter(pk=pk).first()
    if request is None:
        raise Http404
    request.contract = contract
    return request


@dataclass
class Money:
    """What sales and finance read alike on a contract: invoiced vs paid vs due."""

    amount: object
    paid: object
    invoiced: object
    invoice_waiting: object
    outstanding: object
    overdue: object  # outstanding on instalments past their due date
    planned: object  # what the plan adds up to


def contract_money(contract: Contract) -> Money:
    today = timezone.localdate()
    instalments = contract.instalments.all()
    overdue = instalments.filter(receivable=True, due_date__lt=today).aggregate(total=Sum("outstanding"))["total"] or 0
    planned = instalments.aggregate(total=Sum("amount"))["total"] or 0
    waiting = (contract.invoice_requests.filter(status=InvoiceStatus.REQUESTED).aggregate(total=Sum("amount"))["total"]
               or 0)
    return Money(amount=contract.amount, paid=contract.paid_amount, invoiced=contract.invoiced_amount,
                 invoice_waiting=quantize(waiting), outstanding=contract.outstanding, overdue=quantize(overdue),
                 planned=quantize(planned))
