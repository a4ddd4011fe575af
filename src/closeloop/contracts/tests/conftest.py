"""Contract factories on top of the standing people (root conftest) and the quote factories: an accepted quote,
a contract from it, a payment plan, and a signed contract ready for payments."""

import pytest

from closeloop.contracts import plans, services
from closeloop.contracts.models import SignedVia
from closeloop.quotes import services as quote_services
from closeloop.quotes.tests.conftest import (  # noqa: F401 (fixtures)
    api_auth,
    deal,
    director,
    discount_rule,
    finance,
    make_product,
    make_quote,
    presales,
)


@pytest.fixture
def accepted_quote(org, make_quote):  # noqa: F811 (the fixture imported above)
    """A quote of two lines (10,000 and 20,000 incl. tax) the customer accepted: ¥30,000.00."""
    def make(**kwargs):
        quote = make_quote(lines=[("10000", "0"), ("20000", "0")], **kwargs)
        quote_services.quote_send(quote=quote, actor=quote.opportunity.owner)
        quote_services.quote_decide(quote=quote, accept=True, actor=None, name="周敏", phone="13912345678")
        quote.refresh_from_db()
        return quote

    return make


@pytest.fixture
def make_contract(org, accepted_quote):
    """A draft contract from an accepted ¥30,000 quote, with a plan of 30% on signing and 70% on a date."""
    def make(*, plan=True, quote=None, actor=None):
        quote = quote or accepted_quote()
        contract = services.contract_create_from_quote(quote=quote, actor=actor or org.owner)
        if plan:
            plans.payment_plan_save(contract=contract, actor=actor or org.owner, instalments=[
                {"title": "首付款", "condition": "on_signing", "days_after": "7", "percentage": "30"},
                {"title": "尾款", "condition": "on_date", "due_date": "2027-06-30", "percentage": "70"},
            ])
        contract.refresh_from_db()
        return contract

    return make


@pytest.fixture
def signed_contract(org, make_contract):
    """An approved (no rule applies) and signed contract: ¥9,000 due 7 days after today, ¥21,000 on 2027-06-30."""
    def make(**kwargs):
        contract = make_contract(**kwargs)
        services.contract_submit(contract=contract, actor=org.owner)
        services.contract_sign(contract=contract, actor=org.owner, sign_date=None, via=SignedVia.SCAN)
        contract.refresh_from_db()
        return contract

    return make
