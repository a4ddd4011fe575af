"""The quotes and approvals API: the whole life of a quote over JSON, as owner, manager, outsider and finance."""

import json

import pytest

from closeloop.quotes.models import ApprovalRequest, Quote, QuoteStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(client, api_auth):
    def request(user, method, path, body=None):
        kwargs = api_auth(user)
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method.lower())(f"/api{path}", **kwargs)

    return request


def test_a_quote_from_start_to_acceptance(call, org, deal, make_product, discount_rule):
    discount_rule("15")
    product = make_product(list_price="10000")
    response = call(org.owner, "POST", "/quotes/", {"opportunity_id": deal.pk})
    assert response.status_code == 201, response.content
    quote = response.json()
    assert quote["status"] == "draft" and quote["current_version"]["number"] == 1 and quote["public_url"] is None
    qid = quote["id"]
    response = call(org.owner, "POST", f"/quotes/{qid}/lines", {"product_id": product.pk, "quantity": "2",
                                                                "discount_pct": "20"})
    assert response.status_code == 201, response.content
    line = response.json()
    assert line["amount_incl_tax"] == "16000.00" and line["name"] == product.name
    response = call(org.owner, "POST", f"/quotes/{qid}/send")
    assert response.status_code == 409 and response.json()["code"] == "approval_required"
    response = call(org.owner, "POST", f"/quotes/{qid}/submit", {"note": "老客户，长期合作"})
    assert response.json()["status"] == "pending_approval"

    inbox = call(org.manager, "GET", "/approvals/").json()
    assert [item["title"].split(" ")[0] for item in inbox] == [quote["number"]]
    approval = inbox[0]
    assert "Discount off list price 20.00% above 15.00%" in approval["reasons"]
    assert call(org.owner, "POST", f"/approvals/{approval['id']}/decide", {"decision": "approve"}).status_code == 403
    assert call(org.outsider, "GET", f"/approvals/{approval['id']}").status_code == 404
    response = call(org.manager, "POST", f"/approvals/{approval['id']}/decide", {"decision": "approve", "comment": "同意"})
    assert response.status_code == 200 and response.json()["status"] == "approved"
    response = call(org.manager, "POST", f"/approvals/{approval['id']}/decide", {"decision": "approve"})
    assert response.status_code == 409

    response = call(org.owner, "POST", f"/quotes/{qid}/send")
    assert response.json()["status"] == "sent" and response.json()["public_url"].endswith("/")
    response = call(org.owner, "PATCH", f"/quotes/{qid}/lines/{line['id']}", {"quantity": "3"})
    assert response.status_code == 409 and response.json()["code"] == "quote_frozen"
    response = call(org.owner, "GET", f"/quotes/{qid}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    response = call(org.owner, "POST", f"/quotes/{qid}/decision", {"accept": True, "name": "周敏"})
    assert response.json()["status"] == "accepted"
    assert Quote.objects.get(pk=qid).status == QuoteStatus.ACCEPTED


def test_versions_stay_readable(call, org, make_quote):
    quote = make_quote()
    call(org.owner, "POST", f"/quotes/{quote.pk}/send")
    response = call(org.owner, "POST", f"/quotes/{quote.pk}/revise")
    assert response.json()["versions"] == [1, 2] and response.json()["status"] == "draft"
    line_id = response.json()["current_version"]["lines"][0]["id"]
    call(org.owner, "PATCH", f"/quotes/{quote.pk}/lines/{line_id}", {"quantity": "5"})
    first = call(org.owner, "GET", f"/quotes/{quote.pk}/versions/1").json()
    second = call(org.owner, "GET", f"/quotes/{quote.pk}/versions/2").json()
    assert (first["total_incl_tax"], second["total_incl_tax"]) == ("10000.00", "50000.00")
    assert call(org.owner, "GET", f"/quotes/{quote.pk}/versions/9").status_code == 404
    assert call(org.owner, "DELETE", f"/quotes/{quote.pk}/lines/{line_id}").status_code == 204


def test_who_gets_what(call, org, make_quote, finance):
    quote = make_quote()
    for user, status in [(org.owner, 200), (org.manager, 200), (finance, 200), (org.teammate, 404), (org.outsider, 404)]:
        assert call(user, "GET", f"/quotes/{quote.pk}").status_code == status, user
    assert call(finance, "PATCH", f"/quotes/{quote.pk}", {"notes": "x"}).status_code == 403
    assert call(org.outsider, "PATCH", f"/quotes/{quote.pk}", {"notes": "x"}).status_code == 404
    assert [q["id"] for q in call(org.teammate, "GET", "/quotes/").json()["items"]] == []
    assert [q["id"] for q in call(org.manager, "GET", "/quotes/").json()["items"]] == [quote.pk]


def test_the_catalog_over_the_api(call, org, presales):
    body = {"code": "CRM-STD", "name": "CRM标准版", "list_price": "12800.00", "cost": "3000", "tax_rate": "13"}
    assert call(org.owner, "POST", "/quotes/products", body).status_code == 403
    response = call(presales, "POST", "/quotes/products", body)
    assert response.status_code == 201 and response.json()["list_price"] == "12800.00"
    product_id = response.json()["id"]
    assert call(presales, "POST", "/quotes/products", body).status_code == 422  # the code is taken
    response = call(presales, "PATCH", f"/quotes/products/{product_id}", {"tax_rate": "17"})
    assert response.status_code == 422 and "tax_rate" in response.json()["fields"]
    response = call(presales, "PATCH", f"/quotes/products/{product_id}", {"list_price": "11800", "cost": None})
    assert response.json()["list_price"] == "11800.00" and response.json()["cost"] is None
    assert [p["code"] for p in call(org.owner, "GET", "/quotes/products?q=CRM").json()["items"]] == ["CRM-STD"]


def test_price_history_over_the_api(call, org, deal, make_product):
    product = make_product()
    quote = call(org.owner, "POST", "/quotes/", {"opportunity_id": deal.pk}).json()
    call(org.owner, "POST", f"/quotes/{quote['id']}/lines", {"product_id": product.pk, "unit_price": "9000"})
    call(org.owner, "POST", f"/quotes/{quote['id']}/send")
    response = call(org.owner, "GET", f"/quotes/{quote['id']}/price-history?product_id={product.pk}")
    assert response.status_code == 200
    assert [point["unit_price"] for point in response.json()["own"]] == ["9000.00"]


def test_the_document_declares_what_the_routes_answer(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/quotes/{quote_id}/send"]["post"]["responses"]) >= {"200", "401", "403", "404", "409", "422"}
    assert "application/pdf" in paths["/api/quotes/{quote_id}/pdf"]["get"]["responses"]["200"]["content"]
    assert ApprovalRequest.objects.count() == 0
