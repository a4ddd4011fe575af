"""The API's lead, customer and deal lists take the web lists' `cf.<key>` filters (#13), read by the same parser
(`indexes.filters_from_query`) with the same semantics (a multiple-choice field: any of the options given), but a
parameter the list cannot use is refused with 422 naming it instead of passed by; the filters combine with syncing
and are listed in the OpenAPI document."""

import pytest

from closeloop.core.customfields.services import custom_field_create, custom_field_index
from closeloop.core.models import Channel
from closeloop.core.services import api_token_create
from closeloop.deals.models import Customer, Opportunity
from closeloop.leads.models import Lead
from closeloop.leads.services.editing import lead_update

OPTIONS = ["展会", "官网", "转介绍", "电销"]
VIEWERS = ("owner", "teammate", "manager", "other_manager", "outsider", "admin")
EPOCH = "2000-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def no_settle(settings):
    settings.CLOSELOOP_API_SYNC_SETTLE_SECONDS = 0


@pytest.fixture
def auth(org):
    tokens = {}

    def header(user):
        if user.pk not in tokens:
            tokens[user.pk] = {"HTTP_AUTHORIZATION": "Bearer " + api_token_create(user=user, name="sync",
                                                                                   actor=None)[0]}
        return tokens[user.pk]

    return header


def _fields(org, target):
    interests = custom_field_create(target=target, key="interests", field_type="multi_choice", actor=org.admin,
                                    data={"label_zh": "意向渠道", "label_en": "Interests", "options": "\n".join(OPTIONS)})
    custom_field_create(target=target, key="secret_tags", field_type="multi_choice", actor=org.admin,
                        data={"label_zh": "内部标签", "label_en": "Internal tags", "options": "甲\n乙",
                              "view_roles": ["sales_manager"]})
    custom_field_create(target=target, key="visit_day", field_type="date", actor=org.admin,
                        data={"label_zh": "拜访日", "label_en": "Visit day"})
    custom_field_create(target=target, key="tier", field_type="choice", actor=org.admin,
                        data={"label_zh": "等级", "label_en": "Tier", "options": "A\nB"})
    return interests


VALUES = ([], ["展会"], ["官网"], ["展会", "官网"], ["转介绍", "电销"], ["电销"])


def _custom(values, n, *, secret=True):
    # A rep may not set the field only managers see: the customers and deals their owners make go without it.
    return {"interests": values, "visit_day": f"2026-11-{n + 1:02d}", "tier": "AB"[n % 2],
            **({"secret_tags": ["甲"]} if secret else {})} if values else {}


@pytest.fixture
def leads(org, make_lead):
    interests = _fields(org, "leads.Lead")
    made = [make_lead(owner=owner, custom=_custom(values, n)) for owner in (org.owner, org.teammate, org.outsider)
            for n, values in enumerate(VALUES)]
    return interests, made


def holding(model, user, chosen, key="interests", also=lambda record: True) -> set[int]:
    """What the filter must list: the records `user` may see whose value holds one of `chosen`, read in Python."""
    return {record.pk for record in model.objects.visible_to(user)
            if set((record.custom or {}).get(key) or []) & set(chosen) and also(record)}


def listed(client, header, url, query) -> set[int]:
    answer = client.get(f"{url}?{query}&page_size=200", **header)
    assert answer.status_code == 200, answer.content
    return {item["id"] for item in answer.json()["items"]}


@pytest.mark.parametrize("indexed", [False, True], ids=["no-index", "indexed"])
def test_each_role_lists_the_leads_it_may_see_holding_any_option_given(client, org, auth, leads, indexed):
    interests, _made = leads
    if indexed:
        custom_field_index(field=interests, indexed=True, actor=org.admin)
    for name in VIEWERS:
        user = getattr(org, name)
        for chosen in (["展会"], ["展会", "电销"], ["转介绍"]):
            expected = holding(Lead, user, chosen)
            repeated = "&".join(f"cf.interests={option}" for option in chosen)
            assert listed(client, auth(user), "/api/leads/", repeated) == expected, (name, chosen)
            assert listed(client, auth(user), "/api/leads/", "cf.interests=" + ",".join(chosen)) == expected
        assert holding(Lead, user, ["展会", "电销"]) or name == "other_manager"
    # With another filter of the list and a date range on another field.
    expected = holding(Lead, org.admin, ["展会", "官网"],
                       also=lambda lead: "2026-11-03" <= lead.custom["visit_day"] and lead.owner_id == org.owner.pk)
    assert listed(client, auth(org.admin), "/api/leads/",
                  f"cf.interests=展会,官网&cf.visit_day.gte=2026-11-03&owner={org.owner.pk}") == expected
    assert len(expected) == 2


def test_a_parameter_the_list_cannot_use_is_refused_naming_it(client, org, auth, leads):
    cases = {
        "cf.nope=1": "cf.nope",                      # no such field
        "cf.secret_tags=甲": "cf.secret_tags",       # a field the rep may not see: the same answer
        "cf.interests=展会,直播": "cf.interests",     # an option the field does not have
        "cf.visit_day.gte=明天": "cf.visit_day.gte",  # not a date
        "cf.tier=C": "cf.tier",                      # not one of the choices
        "cf.tier.gte=A": "cf.tier.gte",              # a range on a choice
        "cf.visit_day.like=2026": "cf.visit_day.like",
    }
    for query, name in cases.items():
        answer = client.get(f"/api/leads/?{query}", **auth(org.owner))
        assert answer.status_code == 422, (query, answer.content)
        body = answer.json()
        assert body["code"] == "validation_failed" and list(body["fields"]) == [name], (query, body)
    unseen = client.get("/api/leads/?cf.secret_tags=甲", **auth(org.owner)).json()["fields"]["cf.secret_tags"][0]
    assert unseen == client.get("/api/leads/?cf.nothing=甲", **auth(org.owner)).json()["fields"]["cf.nothing"][0] \
        .replace("nothing", "secret_tags")
    # The hint names the call that lists the fields as it must be typed (the list refuses one without its target).
    hint = client.get("/api/leads/?cf.nope=1", **auth(org.owner)).json()["fields"]["cf.nope"][0]
    assert "GET /api/custom-fields/?target=leads.Lead" in hint, hint
    assert client.get("/api/custom-fields/?target=leads.Lead", **auth(org.owner)).status_code == 200
    assert "直播" in client.get("/api/leads/?cf.interests=直播", **auth(org.owner)).json()["fields"]["cf.interests"][0]
    # Two at once are both named; the manager may filter on the field the rep may not see.
    answer = client.get("/api/leads/?cf.nope=1&cf.tier=C", **auth(org.owner))
    assert set(answer.json()["fields"]) == {"cf.nope", "cf.tier"}
    assert listed(client, auth(org.manager), "/api/leads/", "cf.secret_tags=甲") == holding(
        Lead, org.manager, ["甲"], key="secret_tags")


def test_a_sync_with_a_filter_goes_on_from_its_cursor_with_the_records_that_match(client, org, auth, leads):
    _interests, made = leads
    header = auth(org.owner)

    def follow(query, cursor=None):
        items = []
        while True:
            page = client.get(f"/api/leads/?{query}&page_size=1&" + (f"cursor={cursor}" if cursor else
                                                                    f"updated_since={EPOCH}"), **header).json()
            items += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not page["has_next"]:
                return items, cursor

    first, cursor = follow("cf.interests=展会")
    assert sorted(first) == sorted(holding(Lead, org.owner, ["展会"])) and len(first) == len(set(first)) == 2
    plain, other = [lead for lead in made if lead.owner_id == org.owner.pk and not lead.custom], \
        [lead for lead in made if lead.owner_id == org.owner.pk and (lead.custom or {}).get("interests") == ["电销"]][0]
    lead_update(lead=plain[0], data={"custom": {"interests": ["官网", "展会"]}}, actor=org.owner, channel=Channel.WEB)
    lead_update(lead=other, data={"city": "苏州"}, actor=org.owner, channel=Channel.WEB)  # changed, not matching
    again, cursor = follow("cf.interests=展会", cursor)
    assert again == [plain[0].pk]
    assert follow("cf.interests=展会", cursor)[0] == []
    # A cursor is the list's, whatever the filter: the same one goes on in the unfiltered list too.
    assert client.get(f"/api/leads/?cursor={cursor}", **header).status_code == 200


def test_customers_and_deals_filter_on_their_own_fields(client, org, auth, make_customer, make_deal):
    _fields(org, "deals.Customer")
    _fields(org, "deals.Opportunity")
    for owner in (org.owner, org.outsider):
        for n, values in enumerate(VALUES):
            customer = make_customer(owner=owner, custom=_custom(values, n, secret=False))
            make_deal(owner=owner, customer=customer, custom=_custom(list(reversed(values)), n, secret=False))
    for model, url in ((Customer, "/api/deals/customers"), (Opportunity, "/api/deals/")):
        for name in ("owner", "manager", "outsider", "admin"):
            user = getattr(org, name)
            for chosen in (["官网"], ["官网", "转介绍"]):
                expected = holding(model, user, chosen)
                assert expected
                assert listed(client, auth(user), url, "&".join(f"cf.interests={o}" for o in chosen)) == expected
        answer = client.get(f"{url}?cf.interests=直播", **auth(org.owner))
        assert answer.status_code == 422 and list(answer.json()["fields"]) == ["cf.interests"]
        answer = client.get(f"{url}?cf.secret_tags=甲", **auth(org.owner))
        assert answer.status_code == 422 and list(answer.json()["fields"]) == ["cf.secret_tags"]
        assert listed(client, auth(org.admin), url, "cf.tier=B&cf.visit_day.lte=2026-11-04") == {
            record.pk for record in model.objects.all()
            if (record.custom or {}).get("tier") == "B" and record.custom["visit_day"] <= "2026-11-04"}


def test_the_document_lists_each_filter_with_its_type(client, org, auth, leads):
    document = client.get("/api/openapi.json").json()
    for path in ("/api/leads/", "/api/deals/customers", "/api/deals/"):
        operation = document["paths"][path]["get"]
        assert "x-custom-filters" not in operation
        assert "cf.<key>" in operation["description"]
    parameters = {parameter["name"]: parameter for parameter in document["paths"]["/api/leads/"]["get"]["parameters"]}
    assert parameters["cf.interests"]["schema"]["items"]["enum"] == OPTIONS
    assert parameters["cf.interests"]["explode"] is True and parameters["cf.interests"]["in"] == "query"
    assert parameters["cf.visit_day.gte"]["schema"] == {"type": "string", "format": "date"}
    assert parameters["cf.tier"]["schema"]["enum"] == ["A", "B"] and "cf.tier.gte" not in parameters
    # Another record type's fields are not the leads' filters.
    customers = document["paths"]["/api/deals/customers"]["get"]["parameters"]
    assert not any(parameter["name"].startswith("cf.") for parameter in customers)
