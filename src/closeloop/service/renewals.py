"""Renewals (二次销售): a signed contract that ends within the configured days (ServiceSettings.renewal_days, 60 by
default) gets a renewal deal in the default pipeline for the account owner, opened through the deals' own
`opportunity_create` (its first stage, its audit entry), linked to the contract by a `Renewal` row, audited on the
contract, and announced to the owner and their manager. A customer whose latest NPS is a detractor's is flagged on
the renewal. The sweep is idempotent: the contract's row is locked and its one Renewal is a unique key."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from closeloop.contracts.models import RECEIVABLE_STATUSES, Contract
from closeloop.core.audit import audit_record
from closeloop.core.errors import DomainError
from closeloop.core.models import Channel
from closeloop.core.money import format_yuan
from closeloop.core.notify import notify
from closeloop.deals.models import Pipeline
from closeloop.deals.services.opportunities import opportunity_create
from closeloop.deals.services.ownership import SELLING_ROLES

from .actions import ServiceAction
from .models import LOW_NPS, Renewal, Survey
from .sla import service_settings

BATCH = 200


def renewal_due(now=None):
    """Signed or running contracts that end within the renewal window and have no renewal yet (the sweep's list)."""
    today = timezone.localdate(now)
    horizon = today + timedelta(days=service_settings().renewal_days)
    return (Contract.objects.filter(status__in=RECEIVABLE_STATUSES, end_date__gte=today, end_date__lte=horizon,
                                    renewal__isnull=True).order_by("end_date", "id"))


def renewal_sweep(now=None) -> int:
    """Open the renewal deals that are due; returns how many it opened. A contract whose renewal cannot open (no
    active pipeline, a first stage's gate, nobody who may own it) is left for the next run."""
    opened, after = 0, 0
    while ids := list(renewal_due(now).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:BATCH]):
        # Batches go on past the contracts left behind, so those never hold the others back.
        for contract_id in ids:
            try:
                if renewal_open(contract_id=contract_id) is not None:
                    opened += 1
            except DomainError:
                continue
        after = ids[-1]
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
