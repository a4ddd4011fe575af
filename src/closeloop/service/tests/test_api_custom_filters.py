"""The API's quote, contract, delivery and ticket lists take their own `cf.<key>` filters as the web lists do (#13):
“has any of the chosen options” through each viewer's visibility, and a parameter the list cannot use refused
with 422 naming it (the lead, customer and deal lists: deals/tests/test_api_custom_filters.py)."""

import pytest

from closeloop.core.customfields.services import custom_field_create, custom_field_index
from closeloop.core.services import api_token_create

TARGETS = ["quotes.Quote", "contracts.Contract", "service.Delivery", "service.Ticket"]
VALUES = [["直销"], ["代理", "电商"], [], ["电商"]]
URLS = {"quotes": "/api/quotes/", "contracts": "/api/contracts/", "deliveries": "/api/deliveries/",
        "tickets": "/api/tickets/"}


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.CLOSELOOP_API_SYNC_SETTLE_SECONDS = 0


@pytest.fixture
def fields(org):
    made = {}
    for n, target in enumerate(TARGETS):
        field = custom_field_create(target=target, key="routes", field_type="multi_choice", actor=org.admin, data={
            "label_zh": "渠道", "label_en": "Routes", "options": "直销\n代理\n电商"})
        if n % 2:  # half of them through the index (PostgreSQL's GIN, SQLite's side table), half through the JSON
            custom_field_index(field=field, indexed=True, actor=org.admin)
        made[target] = field
    return made


def holding(model, user, chosen):
    return {row.pk for row in model.objects.visible_to(user) if set((row.custom or {}).get("routes") or []) & set(chosen)}


def test_each_list_filters_on_any_option_given_for_each_viewer(client, org, fields, make_deal, make_quote,
                                                               make_contract, make_delivery, make_ticket, service_team):
    deals = [make_deal(owner=owner) for owner in (org.owner, org.owner, org.teammate, org.outsider)]
    records = {"quotes": [make_quote(opportunity=deal, actor=deal.owner) for deal in deals], "contracts": [make_contract(), make_contract()],
               "deliveries": [make_delivery(), make_delivery()], "tickets": [make_ticket(), make_ticket()]}
    for rows in records.values():
        for row, values in zip(rows, VALUES, strict=False):
            type(row).objects.filter(pk=row.pk).update(custom={"routes": values} if values else None)
    people = [getattr(org, name) for name in ("owner", "teammate", "manager", "other_manager", "admin")]
    for user in [*people, service_team.first]:
        auth = {"HTTP_AUTHORIZATION": "Bearer " + api_token_create(user=user, name="t", actor=None)[0]}
        for name, url in URLS.items():
            model = type(records[name][0])
            for chosen in (["代理"], ["直销", "电商"]):
                repeated = "&".join(f"cf.routes={option}" for option in chosen)
                for query in (repeated, "cf.routes=" + ",".join(chosen)):
                    answer = client.get(f"{url}?{query}&page_size=100", **auth)
                    assert answer.status_code == 200, (name, user.username, answer.content)
                    assert {item["id"] for item in answer.json()["items"]} == holding(model, user, chosen), (
                        name, user.username, chosen)
            answer = client.get(f"{url}?cf.routes=直播", **auth)
            assert answer.status_code == 422 and list(answer.json()["fields"]) == ["cf.routes"], (name, answer.content)
            answer = client.get(f"{url}?cf.route=直销", **auth)
            assert answer.status_code == 422 and list(answer.json()["fields"]) == ["cf.route"]
    # A synced list with a filter: the admin's quotes holding 电商, from the beginning, one a page.
    auth = {"HTTP_AUTHORIZATION": "Bearer " + api_token_create(user=org.admin, name="s", actor=None)[0]}
    seen, cursor = [], None
    while True:
        query = f"cursor={cursor}" if cursor else "updated_since=2000-01-01T00:00:00Z"
        body = client.get(f"/api/quotes/?cf.routes=电商&page_size=1&{query}", **auth).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not body["has_next"]:
            break
    assert sorted(seen) == sorted(holding(type(records["quotes"][0]), org.admin, ["电商"])) and len(seen) == 2


def test_the_document_lists_each_lists_filters(client, org, fields):
    document = client.get("/api/openapi.json").json()
    for url in URLS.values():
        operation = document["paths"][url]["get"]
        routes = [parameter for parameter in operation["parameters"] if parameter["name"] == "cf.routes"]
        assert routes and routes[0]["schema"]["items"]["enum"] == ["直销", "代理", "电商"], url
        assert "x-custom-filters" not in operation
