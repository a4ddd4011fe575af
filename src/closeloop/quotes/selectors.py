"""Quote reads. Every one starts from `Quote.objects.visible_to(user)`; a quote outside it is a 404."""

from dataclasses import dataclass
from decimal import Decimal
from statistics import median

from django.db.models import Q
from django.http import Http404

from closeloop.core.customfields import indexes
from closeloop.core.customfields import search as custom_search
from closeloop.core.inputs import day_start
from closeloop.core.money import quantize
from closeloop.core.visibility import owners_named
from closeloop.deals.models import Opportunity

from .models import ApprovalRequest, ApprovalStatus, Product, Quote, QuoteLine, QuoteStatus, QuoteVersion

# How many quoted prices to other customers the price history summarises.
HISTORY_OTHERS = 20
HISTORY_OWN = 10


@dataclass
class QuoteFilters:
    q: str = ""
    status: str = ""
    deal: str = ""
    # The review's drill-downs (insights): the deal's owner ("me", "team" or an id), pipeline and lead source, and
    # what happened on these days: sent, approved, accepted.
    owner: str = ""
    pipeline: str = ""
    source: str = ""
    event: str = ""
    start: str = ""
    end: str = ""
    # Filters on the deal's custom fields (`deal.cf.<key>`, core.customfields.indexes): quote to cash through the deal.
    deal_custom: tuple = ()


# What a quote did on a day, for the drill-downs: the column that says when.
EVENTS = {"sent": "sent_at", "accepted": "decided_at"}


def quote_list(*, user, filters: QuoteFilters):
    quotes = Quote.objects.visible_to(user)
    if filters.q:
        text = filters.q.strip()
        quotes = quotes.filter(custom_search.also(Q(number__icontains=text) | Q(title__icontains=text)
                                                  | Q(opportunity__customer__name__icontains=text),
                                                  Quote._meta.label, text, user))
    if filters.status in QuoteStatus.values:
        quotes = quotes.filter(status=filters.status)
    if filters.deal.isdigit():
        quotes = quotes.filter(opportunity_id=int(filters.deal))
    return (_review_filters(quotes, user, filters).select_related("opportunity", "opportunity__customer", "opportunity__owner", "current_version")
            .order_by("-created_at", "-id"))


def _review_filters(quotes, user, filters: QuoteFilters):
    if (owners := owners_named(user, filters.owner)) is not None:
        quotes = quotes.filter(opportunity__owner__in=owners)
    if filters.pipeline.isdigit():
        quotes = quotes.filter(opportunity__pipeline_id=int(filters.pipeline))
    if filters.source.isdigit():
        quotes = quotes.filter(opportunity__lead__source_id=int(filters.source))
    quotes = indexes.through(quotes, "opportunity", Opportunity, filters.deal_custom)
    start, end = day_start(filters.start), day_start(filters.end, days_after=1)
    if filters.event == "approved":
        decided = ApprovalRequest.objects.filter(kind="quote", status=ApprovalStatus.APPROVED)
        if start:
            decided = decided.filter(decided_at__gte=start)
        if end:
            decided = decided.filter(decided_at__lt=end)
        quotes = quotes.filter(pk__in=decided.values("target_id"))
    elif column := EVENTS.get(filters.event):
        if filters.event == "accepted":
            quotes = quotes.filter(status=QuoteStatus.ACCEPTED)
        if start:
            quotes = quotes.filter(**{f"{column}__gte": start})
        if end:
            quotes = quotes.filter(**{f"{column}__lt": end})
    return quotes


def get_quote_for_user(user, pk) -> Quote:
    quote = (Quote.objects.visible_to(user)
             .select_related("opportunity", "opportunity__customer", "opportunity__owner", "opportunity__stage",
                             "current_version", "created_by")
             .filter(pk=pk).first())
    if quote is None:
        raise Http404
    return quote


def get_version(quote: Quote, number: int | None = None) -> QuoteVersion:
    if number is None or (quote.current_version and number == quote.current_version.number):
        version = quote.current_version
    else:
        version = quote.versions.filter(number=number).first()
    if version is None:
        raise Http404
    version.quote = quote
    return version


def version_lines(version: QuoteVersion):
    return version.lines.select_related("product").order_by("position", "id")


def get_line_for_user(user, quote_pk, line_pk) -> QuoteLine:
    quote = get_quote_for_user(user, quote_pk)
    line = QuoteLine.objects.filter(pk=line_pk, version__quote=quote).select_related("version").first()
    if line is None:
        raise Http404
    line.version.quote = quote
    return line


def product_search(*, q: str = "", include_inactive: bool = False):
    products = Product.objects.all() if include_inactive else Product.objects.filter(active=True)
    if q:
        text = q.strip()
        products = products.filter(Q(code__icontains=text) | Q(name__icontains=text) | Q(category__icontains=text))
    return products.order_by("category", "code", "id")


@dataclass
class PricePoint:
    quote_id: int
    number: str
    version: int
    sent_at: object
    status: str
    quantity: Decimal
    unit_price: Decimal  # net of discount, in the basis asked for
    discount_pct: Decimal
    visible: bool


@dataclass
class PriceHistory:
    own: list[PricePoint]  # what this customer was quoted for the product, newest first
    others_count: int
    others_min: Decimal | None
    others_median: Decimal | None
    others_last: Decimal | None
    prices_include_tax: bool


def _unit_price(line: QuoteLine, incl: bool) -> Decimal:
    """A sent line's net unit price in the basis asked for, from its frozen amounts (bases may differ)."""
    amount = line.amount_incl_tax if incl else line.amount_excl_tax
    return quantize(amount / line.quantity)


def price_history(*, user, product: Product, customer_id: int, prices_include_tax: bool) -> PriceHistory:
    """The prices this customer was quoted for `product` before, and the last prices other customers got
    (min / median / last of the latest HISTORY_OTHERS sent lines), so a rep sees a price out of line at once.
    Other customers stay anonymous; this customer's quotes are linked only where `user` may open them."""
    sent = (QuoteLine.objects.filter(product=product, version__sent_at__isnull=False)
            .select_related("version", "version__quote").order_by("-version__sent_at", "-id"))
    own_lines = list(sent.filter(version__quote__opportunity__customer_id=customer_id)[:HISTORY_OWN])
    visible = set(Quote.objects.visible_to(user).filter(pk__in={line.version.quote_id for line in own_lines})
                  .values_list("pk", flat=True))
    own = [PricePoint(quote_id=line.version.quote_id, number=line.version.quote.number, version=line.version.number,
                      sent_at=line.version.sent_at, status=line.version.quote.status, quantity=line.quantity,
                      unit_price=_unit_price(line, prices_include_tax), discount_pct=line.discount_pct,
                      visible=line.version.quote_id in visible)
           for line in own_lines]
    amounts = (sent.exclude(version__quote__opportunity__customer_id=customer_id)
               .values_list("quantity", "amount_incl_tax" if prices_include_tax else "amount_excl_tax"))
    others = [quantize(amount / quantity) for quantity, amount in amounts[:HISTORY_OTHERS]]
    return PriceHistory(
        own=own, others_count=len(others), others_min=min(others) if others else None,
        others_median=quantize(median(others)) if others else None, others_last=others[0] if others else None,
        prices_include_tax=prices_include_tax,
    )
