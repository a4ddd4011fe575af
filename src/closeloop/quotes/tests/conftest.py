"""Quote factories on top of the standing people (root conftest) and the deal factories."""

from decimal import Decimal

import pytest

from closeloop.core.models import Role, User
from closeloop.deals.tests.conftest import api_auth  # noqa: F401 (a fixture)
from closeloop.quotes import catalog, services
from closeloop.quotes.models import ApprovalChain, ApprovalOperator


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Sent versions' PDFs are kept in the media folder: a test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def finance(org):
    return User.objects.create_user("finance", "finance@example.com", "pw", role=Role.FINANCE, display_name="finance")


@pytest.fixture
def presales(org):
    return User.objects.create_user("presales", "presales@example.com", "pw", role=Role.PRESALES,
                                    display_name="presales")


@pytest.fixture
def director(org):
    """The sales director: the manager's manager (one step up the reporting line)."""
    director = User.objects.create_user("director", "director@example.com", "pw", role=Role.SALES_MANAGER,
                                        department=org.team_a.parent, display_name="director")
    User.objects.filter(pk__in=[org.manager.pk, org.other_manager.pk]).update(manager=director)
    org.manager.refresh_from_db()
    return director


@pytest.fixture
def make_product(org):
    counter = iter(range(10_000))

    def make(**data):
        n = next(counter)
        values = {"code": f"P{n:03d}", "name": f"产品{n}", "unit": "套", "list_price": "10000", "cost": "4000",
                  "tax_rate": "13", "price_includes_tax": True, **data}
        return catalog.product_save(actor=org.admin, data=values)

    return make


@pytest.fixture
def deal(make_deal):
    return make_deal(amount="200000")


@pytest.fixture
def make_quote(org, deal, make_product):
    def make(*, lines=(("10000", "0"),), actor=None, opportunity=None, **kwargs):
        """A quote with one line per (unit price, discount %) of a fresh product listed at 10,000 incl. tax."""
        actor = actor or org.owner
        quote = services.quote_create(opportunity=opportunity or deal, actor=actor, **kwargs)
        for price, discount in lines:
            services.quote_line_add(quote=quote, actor=actor, data={
                "product": make_product().pk, "unit_price": price, "discount_pct": discount, "quantity": "1"})
        quote.refresh_from_db()
        return quote

    return make


@pytest.fixture
def discount_rule(org):
    """Discounts off list above 15% need the owner's manager; above 30% the director too."""
    def make(threshold="15", levels=1, chain=ApprovalChain.MANAGERS, approvers=(), metric="discount_pct",
             operator=ApprovalOperator.ABOVE):
        return catalog.approval_rule_save(actor=org.admin, approvers=list(approvers), data={
            "kind": "quote", "name": f"{metric} {operator} {threshold}", "metric": metric, "operator": operator,
            "threshold": threshold, "chain": chain, "levels": levels})

    return make


@pytest.fixture
def excl_tax(org):
    """Prices typed excluding tax (不含税) in new quotes."""
    catalog.quote_settings_save(actor=org.admin, data={"prices_include_tax": False})


def money(value) -> Decimal:
    return Decimal(value)
