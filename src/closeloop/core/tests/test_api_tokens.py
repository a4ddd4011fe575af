"""API tokens: read-only or read-write, expiring, and their last use noted (when, from where) without a write per
request; the profile page creates them so and shows it."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closeloop.core.models import ApiToken, AuditEntry, TokenAccess
from closeloop.core.services import api_token_create


def bearer(raw: str, address: str = "203.0.113.7") -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "REMOTE_ADDR": address}


def test_a_read_only_token_reads_and_is_refused_every_write(client, org, make_lead):
    lead = make_lead()
    raw, _token = api_token_create(user=org.owner, name="bi", actor=None, access=TokenAccess.READ)
    assert client.get(f"/api/leads/{lead.pk}", **bearer(raw)).status_code == 200
    patched = client.patch(f"/api/leads/{lead.pk}", {"city": "苏州"}, content_type="application/json", **bearer(raw))
    assert patched.status_code == 403 and patched.json()["code"] == "read_only_token"
    created = client.post("/api/leads/", {"company_name": "只读科技有限公司", "source": "官网"},
                          content_type="application/json", **bearer(raw))
    assert created.status_code == 403
    lead.refresh_from_db()
    assert lead.city == ""


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider", "admin"])
def test_a_read_write_token_writes_as_its_user_may(client, org, make_lead, who):
    lead = make_lead()
    raw, _token = api_token_create(user=getattr(org, who), name="crm", actor=None)
    response = client.patch(f"/api/leads/{lead.pk}", {"city": "苏州"}, content_type="application/json", **bearer(raw))
    # The token's right to write is the user's own: visibility still decides.
    assert response.status_code == (200 if who in ("owner", "manager", "admin") else 404)


def test_an_expired_token_stops_working(client, org):
    raw, token = api_token_create(user=org.owner, name="t", actor=None, expires_in_days=30)
    assert client.get("/api/users/me", **bearer(raw)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/users/me", **bearer(raw))
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_use_is_noted_with_the_address_at_most_once_a_minute(client, org):
    raw, token = api_token_create(user=org.owner, name="t", actor=None)
    client.get("/api/users/me", **bearer(raw, "203.0.113.7"))
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and token.last_used_from == "203.0.113.7"

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get("/api/users/me", **bearer(raw, "198.51.100.9")).status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "apitoken" in q["sql"]]
    token.refresh_from_db()
    assert token.last_used_at == first and token.last_used_from == "203.0.113.7"

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/users/me", **bearer(raw, "198.51.100.9"))
    token.refresh_from_db()
    assert token.last_used_at > first and token.last_used_from == "198.51.100.9"


def test_bad_lifetimes_and_access_are_refused():
    from closeloop.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        api_token_create(user=None, name="t", actor=None, access="admin")
    with pytest.raises(ValidationFailed):
        api_token_create(user=None, name="t", actor=None, expires_in_days=0)


def test_the_profile_page_creates_a_read_only_expiring_token_and_shows_its_use(client, org):
    client.force_login(org.owner)
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    page = client.post("/profile/", {"name": "报表", "access": "read", "expires_in_days": "30"}, **chinese)
    token = ApiToken.objects.get(user=org.owner)
    assert token.access == TokenAccess.READ
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    raw = page.context["new_token"]
    client.get("/api/users/me", **bearer(raw, "203.0.113.7"))
    html = client.get("/profile/", **chinese).content.decode()
    assert "只读" in html and "来自 203.0.113.7" in html and token.expires_at.strftime("%Y-") in html
    # Whoever makes a token finds what it can do: the page links the API reference.
    assert '<a href="/api/docs">API 文档</a>' in html
    entry = AuditEntry.objects.filter(action="api_token.create").get()
    assert entry.changes["api_token_access"] == [None, "只读"] and "api_token_expires_at" in entry.changes

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert "已过期" in client.get("/profile/", **chinese).content.decode()


def test_the_profile_page_makes_read_write_tokens_that_never_expire_by_default(client, org):
    client.force_login(org.owner)
    client.post("/profile/", {"name": "同步"})
    token = ApiToken.objects.get(user=org.owner)
    assert token.access == TokenAccess.READ_WRITE and token.expires_at is None


def test_the_token_command_makes_read_only_expiring_tokens(org, capsys):
    call_command("token", "owner", "--read-only", "--expires-days", "7")
    token = ApiToken.objects.get(user=org.owner)
    assert capsys.readouterr().out.strip().startswith(token.prefix)
    assert token.access == TokenAccess.READ and token.expires_at is not None


def test_every_write_declares_the_read_only_refusal(client, db):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            if operation.get("security") and method in ("post", "patch", "put", "delete"):
                assert "403" in operation["responses"], (method, path)
