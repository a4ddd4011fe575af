"""The contracts' breaks in the loop, for the breakpoint radar (see core.hooks.RadarBreak): an accepted quote
with no contract, a contract without a payment plan, an overdue instalment, and a contract ending with no renewal
deal."""

from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import DateField, Exists, F, Func, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import RadarBreak
from closeloop.deals.models import Opportunity, OpportunityStatus
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


# A contract whose end date passed this long ago (still signed or in performance: nobody completed it) stays on the
# radar; older ones are the contract list's business.
ENDED_RECENTLY = timedelta(days=30)


class DaysBefore(Func):
    """`date - days` (a whole number of days), as a date, on SQLite and PostgreSQL."""

    output_field = DateField()

    def __init__(self, expression, days: int):
        super().__init__(expression)
        self.days = int(days)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, '-{self.days} days')", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} - {self.days})", params


def contract_ending_without_renewal(scope, now, threshold):
    """Signed or running contracts whose end date comes within `threshold` (whole days; 60 by default) or passed
    in the last `ENDED_RECENTLY`, with no open deal for the same customer made after the signature: broken since
    the day the end date came within the threshold. Read through the contracts' partial end-date index; the deals
    are looked up per contract on the customer's deal index (few contracts end at once)."""
    days = threshold // timedelta(days=1)
    today = timezone.localdate(now)
    renewal = Opportunity.objects.filter(customer=OuterRef("customer"), status=OpportunityStatus.OPEN,
                                         created_at__gt=OuterRef("signed_at"))
    # A date broken since: from the start of the day after it (`insights.radar`), so the day before the window.
    return (scope(Contract.objects).filter(status__in=[ContractStatus.SIGNED, ContractStatus.ACTIVE],
                                           end_date__lte=today + timedelta(days=days),
                                           end_date__gte=today - ENDED_RECENTLY)
            .filter(~Exists(renewal))
            .annotate(broken_since=DaysBefore(F("end_date"), days + 1)))


def _renewal_deal(contract) -> str:
    name = gettext("Renewal: %(contract)s") % {"contract": contract.title}
    return reverse("deals:create", args=[contract.customer_id]) + "?" + urlencode({"name": name[:200]})


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
        RadarBreak("contracts.ending_without_renewal", _("Contract ending without a renewal opportunity"),
                   contract_ending_without_renewal, _("Create the renewal deal"), _renewal_deal,
                   default_threshold=timedelta(days=60), also_owner="opportunity__owner", order=140,
                   help=_("A signed or running contract whose end date is within the threshold (60 days unless set) "
                          "or passed in the last 30 days, with no open deal for its customer created after it was "
                          "signed. It counts for the contract's owner (and the line of its deal's owner).")),
    ]
