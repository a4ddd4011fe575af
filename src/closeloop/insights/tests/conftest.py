"""The contracts' and quotes' factories (an accepted quote, a contract with or without a plan, a signed one) and the
service ones (after-sales staff, tickets)."""

from closeloop.contracts.tests.conftest import (  # noqa: F401 (fixtures)
    accepted_quote,
    api_auth,
    deal,
    director,
    discount_rule,
    finance,
    make_contract,
    make_product,
    make_quote,
    presales,
    signed_contract,
)
from closeloop.core.tests.conftest import mail_dir, receiver, run_worker  # noqa: F401 (fixtures)
from closeloop.service.tests.conftest import make_ticket, service_staff, service_team  # noqa: F401 (fixtures)
