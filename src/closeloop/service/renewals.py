"""Renewals (二次销售): a signed contract that ends within the configured days (ServiceSettings.renewal_days, 60 by
default, or the window of its products' category, RenewalWindow) gets a renewal deal in the default pipeline for the account owner, opened through the deals' own
`opportunity_create` (its first stage, its audit entry), linked to the contract by a `Renewal` row, audited on the
contract, and announced to the owner and their manager. A customer whose latest NPS is a detractor's is flagged on
the renewal. The sweep is idempotent: the contract's row is locked and its one Renewal is a unique key. "Renew" makes
the renewal deal's quote draft from the old contract's lines."""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from closeloop.contracts.models import RECEIVABLE_STATUSES, Contract, ContractLine
from closeloop.core.audit import audit_record
from closeloop.core.errors import DomainError
from closeloop.core.models import Channel
from closeloop.core.money import format_yuan
from closeloop.core.notify import notify
from closeloop.deals.models import Pipeline
from closeloop.deals.services.opportunities import opportunity_create
from closeloop.deals.services.ownership import SELLING_ROLES
from closeloop.quotes.pricing import convert_price
from closeloop.quotes.services import quote_create, quote_line_add

from .actions import ServiceAction
from .models import LOW_NPS, Renewal, RenewalWindow, Survey
from .sla import service_settings

BATCH = 200


def renewal_windows() -> tuple[int, dict[str, int]]:
    """The global window (days before a contract ends) and the windows by product category."""
    return service_settings().renewal_days, dict(RenewalWindow.objects.values_list("category", "days"))


def renewal_due(now=None, windows: tuple[int, dict[str, int]] | None = None):
    """Signed or running contracts that end within the widest renewal window and have no renewal yet (the sweep's
    candidates; `window_days` tells each contract's own window). `windows`: renewal_windows(), read when not given."""
    today = timezone.localdate(now)
    default, by_category = windows or renewal_windows()
    horizon = today + timedelta(days=max([default, *by_category.values()]))
    return (Contract.objects.filter(status__in=RECEIVABLE_STATUSES, end_date__gte=today, end_date__lte=horizon,
                                    renewal__isnull=True).order_by("end_date", "id"))


def window_days(categories, default: int, by_category: dict[str, int]) -> int:
    """A contract's window: the longest of its lines' categories' windows (the global one for a line whose category
    has none, or a contract without lines), so the earliest renewal any of its products asks for."""
    return max([by_category.get(category or "", default) for category in categories] or [default])


def renewal_sweep(now=None) -> int:
    """Open the renewal deals that are due; returns how many it opened. A contract whose renewal cannot open (no
    active pipeline, a first stage's gate, nobody who may own it) is left for the next run."""
    opened, after = 0, 0
    today = timezone.localdate(now)
    default, by_category = windows = renewal_windows()
    while rows := list(renewal_due(now, windows).filter(pk__gt=after).order_by("pk").values_list("pk", "end_date")[:BATCH]):
        categories = defaultdict(list)
        for contract_id, category in (ContractLine.objects.filter(contract_id__in=[pk for pk, _end in rows])
                                      .values_list("contract_id", "product__category")):
            categories[contract_id].append(category)
        # Batches go on past the contracts left behind, so those never hold the others back.
        for contract_id, end_date in rows:
            if end_date > today + timedelta(days=window_days(categories[contract_id], default, by_category)):
                continue
            try:
                if renewal_open(contract_id=contract_id) is not None:
                    opened += 1
            except DomainError:
                continue
        after = rows[-1][0]
    return opened


def _account_owner(contract):
    for user in (contract.customer.owner, contract.owner):
        if user is not None and user.is_active and user.role in SELLING_ROLES:
            return user
    return None


def renewal_open(*, contract_id: int) -> Renewal | None:
    with transaction.atomic():
        contract = (Contract.objects.select_for_update(of=("self",)).select_related("customer__owner", "owner")
                    .filter(pk=contract_id).first())
        if contract is None or Renewal.objects.filter(contract=contract).exists():
            return None
        owner = _account_owner(contract)
        pipeline = Pipeline.default()
        if owner is None or pipeline is None:
            return None
        nps = (Survey.objects.filter(customer_id=contract.customer_id, answered_at__isnull=False)
               .order_by("-answered_at", "-id").values_list("nps", flat=True).first())
        low_nps = nps is not None and nps <= LOW_NPS
        # The deal's texts are the company's, in the site's language, whoever's worker runs the sweep.
        with translation.override(settings.LANGUAGE_CODE):
            name = _("Renewal: %(title)s") % {"title": contract.title}
            need = _("Renewal of contract %(number)s (%(amount)s), ending %(date)s.") % {
                "number": contract.number, "amount": format_yuan(contract.amount), "date": contract.end_date}
            if low_nps:
                need += " " + _("The customer's latest NPS was %(nps)d: call them before you offer the renewal.") % {
                    "nps": nps}
            next_step = _("Call the customer about the renewal")
        opportunity = opportunity_create(
            customer=contract.customer, actor=None, owner=owner, pipeline=pipeline, channel=Channel.SYSTEM,
            data={"name": name[:200], "amount": contract.amount, "expected_close_date": contract.end_date,
                  "need": need, "next_step": next_step})
        renewal = Renewal.objects.create(contract=contract, opportunity=opportunity, low_nps=low_nps)
        audit_record(actor=None, channel=Channel.SYSTEM, action=ServiceAction.RENEWAL_OPEN, target=contract,
                     changes={"renewal": [None, str(opportunity)]}, note=_("low NPS") if low_nps else "")
        with translation.override(settings.LANGUAGE_CODE):
            message = _("%(contract)s of %(customer)s ends on %(date)s: the renewal deal is open.") % {
                "contract": contract.number, "customer": contract.customer.name, "date": contract.end_date}
            if low_nps:
                message += " " + _("Its latest NPS is low (%(nps)d).") % {"nps": nps}
        for user in {owner, owner.manager} - {None}:
            if user.is_active:
                notify(recipient=user, kind="renewal.opened", url=opportunity.get_absolute_url(), message=message,
                       key=f"renewal:{contract.pk}")
    return renewal


def renewal_quote_draft(*, renewal: Renewal, actor, channel: str = Channel.WEB):
    """"Renew": a quote draft on the renewal deal with the old contract's lines (products still sold keep their
    product; prices as the customer paid them, in the new quote's tax basis), through the quotes' own services (who
    may quote the deal, the lines' checks, each audited), and the renewal remembers it. Once: a second call gives
    the same quote."""
    with transaction.atomic():
        renewal = (Renewal.objects.select_for_update(of=("self",))
                   .select_related("contract__quote_version", "opportunity", "quote").get(pk=renewal.pk))
        if renewal.quote is not None:
            return renewal.quote
        contract = renewal.contract
        with translation.override(settings.LANGUAGE_CODE):
            title = _("Renewal of %(number)s") % {"number": contract.number}
        quote = quote_create(opportunity=renewal.opportunity, actor=actor, channel=channel, title=title[:200])
        include_tax = quote.current_version.prices_include_tax
        # The lines were copied from the accepted quote version, so their prices are in that version's basis.
        version = contract.quote_version
        included_tax = version.prices_include_tax if version is not None else include_tax
        for line in contract.lines.select_related("product").order_by("position", "id"):
            data = {"name": line.name, "description": line.description, "unit": line.unit, "quantity": line.quantity,
                    "discount_pct": line.discount_pct, "tax_rate": line.tax_rate,
                    "unit_price": convert_price(line.unit_price, tax_rate=line.tax_rate,
                                                from_incl=included_tax, to_incl=include_tax)}
            if line.product is not None and line.product.active:
                data["product"] = line.product
            quote_line_add(quote=quote, data=data, actor=actor, channel=channel)
        renewal.quote = quote
        renewal.save(update_fields=["quote"])
        audit_record(actor=actor, channel=channel, action=ServiceAction.RENEWAL_QUOTE, target=contract,
                     changes={"renewal_quote": [None, quote.number]})
    return quote
