"""Every list with a search box and custom fields (customers and their pool, deals, quotes, contracts, deliveries,
tickets) also finds records by a searchable custom value: a substring match over the values the viewer may see,
through visibility, the same before and after the index catches up; the tickets' API too."""

import pytest
from django.db import connection

from closeloop.contracts.selectors import ContractFilters, contract_list
from closeloop.core.customfields import search
from closeloop.core.customfields.services import custom_field_create
from closeloop.deals.models import Customer
from closeloop.deals.selectors import OpportunityFilters, customer_list, customer_pool, opportunity_list
from closeloop.quotes.selectors import QuoteFilters, quote_list
from closeloop.service.selectors import delivery_list, ticket_list

pytestmark = pytest.mark.django_db

LISTS = {
    "deals.Customer": lambda user, q: customer_list(user=user, q=q),
    "deals.Opportunity": lambda user, q: opportunity_list(user=user, filters=OpportunityFilters(q=q)),
    "quotes.Quote": lambda user, q: quote_list(user=user, filters=QuoteFilters(q=q)),
    "contracts.Contract": lambda user, q: contract_list(user=user, filters=ContractFilters(q=q)),
    "service.Delivery": lambda user, q: delivery_list(user=user, q=q),
    "service.Ticket": lambda user, q: ticket_list(user=user, q=q),
}


@pytest.fixture
def records(org, make_customer, make_deal, make_quote, make_contract, make_delivery, make_ticket):
    """Two records of each kind, the rep's: the first with searchable values (one only finance may see)."""
    made = {
        "deals.Customer": [make_customer(), make_customer()],
        "deals.Opportunity": [make_deal(), make_deal()],
        "quotes.Quote": [make_quote(), make_quote()],
        "contracts.Contract": [make_contract(), make_contract()],
        "service.Delivery": [make_delivery(), make_delivery()],
        "service.Ticket": [make_ticket(), make_ticket()],
    }
    for target, (first, second) in made.items():
        custom_field_create(target=target, key="remark", field_type="long_text", actor=org.admin,
                            data={"label_zh": "说明", "searchable": True})
        custom_field_create(target=target, key="site", field_type="url", actor=org.admin,
                            data={"label_zh": "网站", "searchable": True})
        custom_field_create(target=target, key="audit_note", field_type="text", actor=org.admin,
                            data={"label_zh": "财务备注", "searchable": True, "view_roles": ["finance"]})
        type(first).objects.filter(pk=first.pk).update(custom={
            "remark": "第二期 Phase-2 扩容\n含 ERP 接口", "site": "https://zeta-robotics.example.cn/",
            "audit_note": "回款风险高"})
        type(second).objects.filter(pk=second.pk).update(custom={"remark": "普通项目"})
    return made


def _found(target, user, q):
    return set(LISTS[target](user, q).values_list("pk", flat=True))


def _plain_scan(target, user, q):
    """A Python substring scan of the searchable values `user` may see (the records' built-in text is not made to
    hold these words)."""
    fold = str.upper if connection.vendor == "postgresql" else (lambda s: "".join(
        c.upper() if c.isascii() else c for c in s))
    keys = [field.key for field in search.searched_fields(target, user)]
    model = LISTS[target](user, "").model
    return {record.pk for record in model.objects.visible_to(user)
            if any(fold(q) in fold(str((record.custom or {}).get(key) or "")) for key in keys)}


@pytest.mark.parametrize("target", list(LISTS))
@pytest.mark.parametrize("q", ["phase-2", "ERP 接口", "扩容\n含", "zeta-robotics", "普通项目", "回款风险", "Er"])
def test_each_list_finds_exactly_the_searchable_values_the_viewer_sees(org, records, target, q):
    first, second = records[target]
    for user in (org.admin, org.owner):
        found = _found(target, user, q) & {first.pk, second.pk}
        assert found == _plain_scan(target, user, q) & {first.pk, second.pk}, (target, user, q)
    assert _found(target, org.owner, "zeta-ROBOTICS") == {first.pk}
    # Only finance (and administrators) may see the audit note: it makes no match for the rep.
    assert _found(target, org.owner, "回款风险") == set()
    assert _found(target, org.admin, "回款风险") == {first.pk}
    search.sync()
    assert _found(target, org.owner, "ERP 接口") == {first.pk}
    assert _found(target, org.owner, "普通项目") == {second.pk}


def test_the_customer_pool_searches_custom_values(org, records):
    first = records["deals.Customer"][0]
    from django.utils import timezone

    Customer.objects.filter(pk=first.pk).update(owner=None, pooled_at=timezone.now())
    assert set(customer_pool(user=org.outsider, q="ERP 接口").values_list("pk", flat=True)) == {first.pk}
    assert set(customer_pool(user=org.outsider, q="回款风险").values_list("pk", flat=True)) == set()


def test_the_ticket_api_and_page_search_custom_values(client, org, records):
    from closeloop.core.services import api_token_create

    first, _second = records["service.Ticket"]
    raw, _token = api_token_create(user=org.admin, name="t", actor=None)
    answer = client.get("/api/tickets/", {"q": "zeta-robot"}, HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert [item["id"] for item in answer["items"]] == [first.pk]
    client.force_login(org.admin)
    page = client.get("/service/tickets/", {"status": "all", "q": "zeta-robot"}).content.decode()
    assert first.number in page and records["service.Ticket"][1].number not in page
