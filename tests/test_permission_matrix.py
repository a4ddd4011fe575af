"""Who gets what: every role × the main pages and API endpoints of leads, deals, customers, quotes,
contracts, saved views and webhooks, read as one table. 200/201 = allowed, 403 = may see but not do,
404 = may not even see.

The world: `owner` (a rep in team A under `manager`) owns a lead from the trade-fair channel (展会, which
`marketer` runs), a customer, a deal on it with `presales` as its pre-sales participant, a draft quote and a
draft contract from an accepted quote. `teammate` is another rep of team A, `other_manager` leads team B
(`outsider`'s team); `finance` and `service` are in no sales team; `admin` administers.

A row reads: the request, then the answer for each role in the order of ROLES.
"""

import pytest
from django.db import transaction

from closeloop.contracts import services as contract_services
from closeloop.core.models import Role, User
from closeloop.core.savedviews.services import view_save
from closeloop.core.services import api_token_create
from closeloop.deals.services.customers import contact_create
from closeloop.followup.models import ParticipantRole
from closeloop.followup.services import participant_add
from closeloop.quotes import catalog
from closeloop.quotes import services as quote_services

ROLES = ("owner", "teammate", "manager", "other_manager", "marketer", "presales", "finance", "service", "outsider",
         "admin")

# The last column is why a cell may surprise: every 403/404 a sales team might question is explained there.
MATRIX = [
    #  request                                   own  team  mgr  omgr  mkt  pre  fin  svc  out  adm
    # Leads: the owner's side works them; marketing sees its channels' leads but does not work them.
    ("GET /leads/{lead}/",                       200, 404, 200, 404, 200, 404, 404, 404, 404, 200),
    ("GET /leads/{lead}/edit/",                  200, 404, 200, 404, 403, 404, 404, 404, 404, 200),
    ("GET /api/leads/{lead}",                    200, 404, 200, 404, 200, 404, 404, 404, 404, 200),
    ("PATCH /api/leads/{lead}",                  200, 404, 200, 404, 403, 404, 404, 404, 404, 200),
    ("GET /api/leads/{lead}/activities",         200, 404, 200, 404, 200, 404, 404, 404, 404, 200),
    ("POST /api/leads/{lead}/activities",        201, 404, 201, 404, 403, 404, 404, 404, 404, 201),
    ("POST /api/leads/{lead}/release",           200, 404, 200, 404, 403, 404, 404, 404, 404, 200),
    # Customers: seen by their owner's side and by whoever works on one of their deals.
    ("GET /deals/customers/{customer}/",         200, 404, 200, 404, 404, 200, 404, 404, 404, 200),
    ("GET /deals/customers/{customer}/edit/",    200, 404, 200, 404, 404, 403, 404, 404, 404, 200),
    ("GET /api/deals/customers/{customer}",      200, 404, 200, 404, 404, 200, 404, 404, 404, 200),
    ("PATCH /api/deals/customers/{customer}",    200, 404, 200, 404, 404, 403, 404, 404, 404, 200),
    ("GET /api/deals/customers/{customer}/activities", 200, 404, 200, 404, 404, 200, 404, 404, 404, 200),
    # Pre-sales sees the customer through its deal, but takes part in the deal, not in the customer.
    ("POST /api/deals/customers/{customer}/activities", 201, 404, 201, 404, 404, 403, 404, 404, 404, 201),
    # Contacts follow their customer: who may edit the customer adds and corrects its people.
    ("GET /api/deals/customers/{customer}/contacts", 200, 404, 200, 404, 404, 200, 404, 404, 404, 200),
    ("POST /api/deals/customers/{customer}/contacts", 201, 404, 201, 404, 404, 403, 404, 404, 404, 201),
    ("GET /api/deals/contacts/{contact}",        200, 404, 200, 404, 404, 200, 404, 404, 404, 200),
    ("PATCH /api/deals/contacts/{contact}",      200, 404, 200, 404, 404, 403, 404, 404, 404, 200),
    # Deals: pre-sales takes part (follows up, comments) but does not change the deal.
    ("GET /deals/{deal}/",                       200, 404, 200, 404, 404, 200, 404, 404, 404, 200),
    ("GET /deals/{deal}/edit/",                  200, 404, 200, 404, 404, 403, 404, 404, 404, 200),
    ("GET /api/deals/{deal}",                    200, 404, 200, 404, 404, 200, 404, 404, 404, 200),
    ("PATCH /api/deals/{deal}",                  200, 404, 200, 404, 404, 403, 404, 404, 404, 200),
    ("GET /api/deals/{deal}/activities",         200, 404, 200, 404, 404, 200, 404, 404, 404, 200),
    ("POST /api/deals/{deal}/activities",        201, 404, 201, 404, 404, 201, 404, 404, 404, 201),
    ("POST /api/deals/{deal}/comments",          201, 404, 201, 404, 404, 201, 404, 404, 404, 201),
    # Quotes follow their deal; finance reads every quote; pre-sales writes the technical lines with the owner.
    ("GET /quotes/{quote}/",                     200, 404, 200, 404, 404, 200, 200, 404, 404, 200),
    ("GET /api/quotes/{quote}",                  200, 404, 200, 404, 404, 200, 200, 404, 404, 200),
    ("PATCH /api/quotes/{quote}",                200, 404, 200, 404, 404, 200, 403, 404, 404, 200),
    # Contracts follow their deal; finance reads every contract but a draft's terms are the owner's side's.
    ("GET /contracts/{contract}/",               200, 404, 200, 404, 404, 200, 200, 404, 404, 200),
    ("GET /api/contracts/{contract}",            200, 404, 200, 404, 404, 200, 200, 404, 404, 200),
    ("PATCH /api/contracts/{contract}",          200, 404, 200, 404, 404, 403, 403, 404, 404, 200),
    # Saved views: the owner's view shared with team A reaches the team; only its owner (or an admin) changes it.
    ("GET /api/saved-views/{view}",              200, 200, 200, 404, 404, 404, 404, 404, 404, 200),
    ("PATCH /api/saved-views/{view}",            200, 403, 403, 404, 404, 404, 404, 404, 404, 200),
    # Webhook subscriptions are settings of administrators: 403 for everyone else, before any lookup.
    ("GET /api/webhooks/",                       403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
]

BODIES = {
    "PATCH /api/leads/{lead}": {"city": "苏州"},
    "PATCH /api/deals/{deal}": {"next_step": "约技术交流"},
    "POST /api/deals/{deal}/activities": {"kind": "note", "content": "电话沟通了需求"},
    "POST /api/leads/{lead}/activities": {"kind": "note", "content": "电话沟通了需求"},
    "POST /api/leads/{lead}/release": {"reason": "联系不上"},
    "POST /api/deals/customers/{customer}/activities": {"kind": "note", "content": "拜访了采购部"},
    "PATCH /api/deals/customers/{customer}": {"city": "苏州"},
    # A name only: contacts are duplicates by phone or email, and every role sends the same body.
    "POST /api/deals/customers/{customer}/contacts": {"name": "赵敏", "title": "采购"},
    "PATCH /api/deals/contacts/{contact}": {"title": "采购总监"},
    "POST /api/deals/{deal}/comments": {"body": "方案下周给到"},
    "PATCH /api/quotes/{quote}": {"notes": "含一年维保"},
    "PATCH /api/contracts/{contract}": {"notes": "按合同附件执行"},
    "PATCH /api/saved-views/{view}": {"name": "本周重点"},
}


@pytest.fixture
def world(org, make_lead, make_deal):
    people = {name: getattr(org, name) for name in ("owner", "teammate", "manager", "other_manager", "marketer",
                                                     "outsider", "admin")}
    for name, role in (("presales", Role.PRESALES), ("finance", Role.FINANCE), ("service", Role.SERVICE)):
        people[name] = User.objects.create_user(name, f"{name}@example.com", "pw", role=role, display_name=name)
    lead = make_lead(source="展会")
    deal = make_deal(amount="200000")
    participant_add(record=deal, user=people["presales"], role=ParticipantRole.PRESALES, actor=org.owner)

    product = catalog.product_save(actor=org.admin, data={
        "code": "CRM-STD", "name": "CRM标准版", "unit": "套", "list_price": "10000", "cost": "4000", "tax_rate": "13",
        "price_includes_tax": True})

    def quote_on_deal():
        quote = quote_services.quote_create(opportunity=deal, actor=org.owner)
        quote_services.quote_line_add(quote=quote, actor=org.owner, data={
            "product": product.pk, "unit_price": "10000", "discount_pct": "0", "quantity": "1"})
        return quote

    accepted = quote_on_deal()
    quote_services.quote_send(quote=accepted, actor=org.owner)
    quote_services.quote_decide(quote=accepted, accept=True, actor=None, name="周敏", phone="13912345678")
    contract = contract_services.contract_create_from_quote(quote=accepted, actor=org.owner)
    contact = contact_create(customer=deal.customer, data={"name": "钱伟", "mobile": "13912345670"}, actor=org.owner)
    view = view_save(list_key="leads", name="本周待跟进", shared=True, actor=org.owner, columns=["contact"])
    ids = {"lead": lead.pk, "customer": deal.customer_id, "deal": deal.pk, "quote": quote_on_deal().pk,
           "contract": contract.pk, "contact": contact.pk, "view": view.pk}
    return people, ids


def answer(client, user, request: str, ids: dict) -> int:
    # Each role meets the same world: what one role's request changed (a lead released to the pool) is rolled back.
    with transaction.atomic():
        status = _answer(client, user, request, ids)
        transaction.set_rollback(True)
    return status


def _answer(client, user, request: str, ids: dict) -> int:
    method, path = request.split(" ", 1)
    url = path.format(**ids)
    if url.startswith("/api/"):
        raw, _token = api_token_create(user=user, name="matrix", actor=None)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        body = BODIES.get(request)
        call = getattr(client, method.lower())
        response = call(url, body, content_type="application/json", **headers) if body is not None else call(url, **headers)
    else:
        client.force_login(user)
        response = getattr(client, method.lower())(url)
        client.logout()
    return response.status_code


# The lead list's bulk actions answer every role with the list again and a message; the cell is what became of the
# ticked lead: `ok` (done), `403` (left, the person told they may not) or `404` (left, and they cannot see it).
BULK = [
    #  request, its form, whether it was done                                        own  team mgr  omgr mkt  pre  fin  svc  out  adm
    ("POST /leads/release/", {"return_reason": "联系不上"}, lambda lead: lead.in_pool,
     "ok 404 ok 404 403 404 404 404 404 ok"),
]


@pytest.mark.parametrize("row", BULK, ids=[row[0] for row in BULK])
def test_each_role_meets_the_expected_bulk_answer(client, world, row):
    from closeloop.leads.models import Lead

    people, ids = world
    request, form, done, expected = row
    method, url = request.split(" ", 1)
    actual = {}
    for role in ROLES:
        with transaction.atomic():
            client.force_login(people[role])
            response = getattr(client, method.lower())(url, {"leads": [ids["lead"]], **form})
            client.logout()
            assert response.status_code == 302, role
            if done(Lead.objects.get(pk=ids["lead"])):
                actual[role] = "ok"
            else:
                seen = Lead.objects.visible_to(people[role]).filter(pk=ids["lead"]).exists()
                actual[role] = "403" if seen else "404"
            transaction.set_rollback(True)
    assert actual == dict(zip(ROLES, expected.split(), strict=True))


@pytest.mark.parametrize("row", MATRIX, ids=[row[0] for row in MATRIX])
def test_each_role_gets_the_expected_answer(client, world, row):
    people, ids = world
    request, *expected = row
    actual = {role: answer(client, people[role], request, ids) for role in ROLES}
    assert actual == dict(zip(ROLES, expected, strict=True))
