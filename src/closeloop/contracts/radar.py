"""The contracts' breaks in the loop, for the breakpoint radar (see core.hooks.RadarBreak): an accepted quote
with no contract, a contract without a payment plan, and an overdue instalment."""

from datetime import timedelta

from django.db.models import Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import RadarBreak
from closeloop.quotes.models import Quote, QuoteStatus

from .models import Contract, ContractStatus, Instalment

# A contract that no longer needs a plan or a payment.
CLOSED = [ContractStatus.COMPLETED, ContractStatus.TERMINATED]


def quote_without_contract(scope, now, threshold):
    """`selectors.awaiting_contract` over many quotes: the quotes that have a live contract read once (NOT IN), not
    looked up per quote. Where contracts were made without quotes, SQLite's statistics say the contracts' quote index
    matches every row (all NULL) and it scanned every contract for each accepted quote: the recount over 51k accepted
    quotes and 50k contracts ran for minutes."""
    live = (Contract.objects.filter(quote__isnull=False).exclude(status=ContractStatus.TERMINATED)
            .values("quote_id"))
    return (scope(Quote.objects).filter(status=QuoteStatus.ACCEPTED).exclude(pk__in=live)
            .annotate(broken_since=F("decided_at")).filter(broken_since__lte=now - threshold))


def contract_without_plan(scope, now, threshold):
    return (scope(Contract.objects).exclude(status__in=CLOSED)
            .filter(~Exists(Instalment.objects.filter(contract=OuterRef("pk"))))
            .annotate(broken_since=F("created_at")).filter(broken_since__lte=now - threshold))


def instalment_overdue(scope, now, threshold):
    """Receivable instalments past their due date (through the radar's partial due-date index), on contracts the
    scope lets through."""
    contracts = scope(Contract.objects)
    day = timezone.localdate(now - threshold)
    found = Instalment.objects.filter(receivable=True, due_date__lt=day)
    if contracts.query.has_filters():  # every contract (finance, administrators, the recount): no subquery
        found = found.filter(contract__in=contracts.values("pk"))
    return found.select_related("contract").annotate(broken_since=F("due_date"))


def radar_breaks() -> list[RadarBreak]:
    return [
        RadarBreak("contracts.quote_without_contract", _("Accepted quote with no contract"), quote_without_contract,
                   _("Make the contract"), lambda quote: reverse("contracts:create") + f"?quote={quote.pk}",
                   default_threshold=timedelta(days=3), owner="opportunity__owner", order=90),
        RadarBreak("contracts.no_plan", _("Contract without a payment plan"), contract_without_plan,
                   _("Set the payment plan"), lambda contract: reverse("contracts:plan", args=[contract.pk]),
                   default_threshold=timedelta(days=1), also_owner="opportunity__owner", order=100),
        RadarBreak("contracts.instalment_overdue", _("Overdue instalment"), instalment_overdue,
                   _("Record the payment or chase it"), lambda instalment: instalment.get_absolute_url(),
                   owner="contract__owner", also_owner="contract__opportunity__owner", order=110),
    ]
