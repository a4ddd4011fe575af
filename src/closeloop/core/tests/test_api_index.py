"""Where an integrator starts: `GET /api/` names the reference and the OpenAPI document without a token, and the
reference page (`/api/docs`) reads on a phone and loads only the site's own files."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_api_root_points_to_its_docs_and_document_without_a_token(client):
    response = client.get("/api/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    index = response.json()
    assert index["docs"] == "http://testserver/api/docs"
    assert index["openapi"] == "http://testserver/api/openapi.json"
    assert "Bearer" in index["authentication"] and index["version"] == "1"
    assert response["Link"] == ('<http://testserver/api/docs>; rel="service-doc", '
                                '<http://testserver/api/openapi.json>; rel="service-desc"')
    assert client.get(index["docs"]).status_code == 200
    assert client.get(index["openapi"]).json()["info"]["title"] == index["name"]
    # The root is no operation of the document, and it names no record (nothing there needs a token).
    assert "/api/" not in client.get(index["openapi"]).json()["paths"]
    assert client.post("/api/", {}).status_code == 405


def test_the_docs_page_has_a_phone_viewport_and_only_local_assets(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<meta charset="utf-8">' in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(url.startswith("/static/") for url in assets), assets
    # Scripts are files; the one inline block is data (the Swagger settings), which a script policy does not run.
    assert re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html) == [' type="application/json" id="swagger-settings"']
    assert "script-src 'self'" in response["Content-Security-Policy"]
