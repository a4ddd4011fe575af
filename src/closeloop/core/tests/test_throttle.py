"""Guessing brakes: failed logins lock the account and the address (django-axes), unknown API tokens are
throttled per address and per account; each says why, and lockouts of an account are audited."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.urls import reverse

from closeloop.core.models import AuditEntry
from closeloop.core.services import api_token_create
from closeloop.core.throttle import parse_rate


@pytest.fixture(autouse=True)
def _no_earlier_counts(db):
    # The token counters live in the shared cache; each test starts with none.
    cache.clear()


def _login(client, username, password, address="198.51.100.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_it_locks_an_account_at_its_tenth_failure_even_for_the_right_password(client, org):
    for _ in range(9):
        assert _login(client, "owner", "wrong").status_code == 200
    assert _login(client, "owner", "wrong").status_code == 429
    response = _login(client, "owner", "pw")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # From another address too: the account itself is locked.
    assert _login(client, "owner", "pw", address="203.0.113.9").status_code == 429
    # Other accounts from the first address still log in.
    assert _login(client, "teammate", "pw").status_code == 302


def test_a_lockout_is_audited_once_on_the_account(client, org):
    for _ in range(14):
        _login(client, "owner", "wrong")
    entries = AuditEntry.objects.for_object(org.owner).filter(action="user.locked_out")
    assert entries.count() == 1
    assert "198.51.100.7" in entries.get().note


def test_an_address_is_locked_after_fifty_failures_over_any_names(client, org, settings):
    for n in range(50):
        _login(client, f"nobody{n}", "wrong")
    assert _login(client, "owner", "pw").status_code == 429
    # One failure per name stays far below an account's limit: another address logs in.
    assert _login(client, "owner", "pw", address="203.0.113.9").status_code == 302


def test_an_office_behind_one_address_survives_a_few_typos(client, org):
    for name in ("owner", "teammate", "manager"):
        for _ in range(3):
            _login(client, name, "wrong")
    assert _login(client, "outsider", "pw").status_code == 302


def test_the_lock_ends_after_the_lockout_period(client, org, settings):
    for _ in range(10):
        _login(client, "owner", "wrong")
    assert _login(client, "owner", "pw").status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.first().attempt_time - timedelta(minutes=16))
    assert _login(client, "owner", "pw").status_code == 302


def _api(client, token, address="198.51.100.7"):
    return client.get("/api/leads/", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR=address)


def test_unknown_tokens_are_throttled_per_address_and_the_right_one_waits_too(client, org):
    raw, _token = api_token_create(user=org.owner, name="t", actor=org.owner)
    for n in range(20):
        assert _api(client, f"cl_guess{n}").status_code == 401
    refused = _api(client, "cl_guess-more")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled" and "Too many requests" in refused.json()["message"]
    assert 0 < int(refused["Retry-After"]) <= 600
    # A right guess from the blocked address gets the same answer as a wrong one.
    assert _api(client, raw).status_code == 429
    # Elsewhere the token works.
    assert _api(client, raw, address="203.0.113.9").status_code == 200


def test_guesses_at_one_account_s_token_are_counted_on_the_account_and_audited(client, org):
    raw, _token = api_token_create(user=org.owner, name="t", actor=org.owner)
    guess = raw[:10] + "x" * 20
    for n in range(20):
        # Each guess from its own address: only the account's count can stop them.
        assert _api(client, guess, address=f"203.0.113.{n}").status_code == 401
    assert _api(client, guess, address="203.0.113.99").status_code == 429
    entries = AuditEntry.objects.for_object(org.owner).filter(action="user.api_token_throttled")
    assert entries.count() == 1
    # The owner's real token still works: only unknown tokens are refused for the account.
    assert _api(client, raw, address="192.0.2.1").status_code == 200


def test_valid_tokens_are_not_counted(client, org):
    raw, _token = api_token_create(user=org.owner, name="t", actor=org.owner)
    for _ in range(25):
        assert _api(client, raw).status_code == 200


@pytest.mark.parametrize(("rate", "expected"), [("20/h", (20, 3600)), ("20/10m", (20, 600)), ("5/s", (5, 1)),
                                                ("1/2d", (1, 172800))])
def test_rates_read_as_count_per_period(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["lots", "20", "20/x", "/h"])
def test_a_malformed_rate_names_its_setting(rate):
    with pytest.raises(ValueError, match="CLOSELOOP_X"):
        parse_rate(rate, "CLOSELOOP_X")


def test_a_call_with_a_valid_token_only_reads_the_throttle(client, org):
    """The address check ran django-ratelimit's counter, whose `cache.add` is a database write on every
    authenticated call (on SQLite, the one writer's lock on the intake path). Now it reads one key."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    raw, _token = api_token_create(user=org.owner, name="t", actor=org.owner)
    assert _api(client, raw).status_code == 200  # the first call touches last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert _api(client, raw).status_code == 200
    cache_queries = [q["sql"] for q in queries.captured_queries if "closeloop_cache" in q["sql"]]
    assert len(cache_queries) == 1 and cache_queries[0].lstrip().upper().startswith("SELECT")
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


def test_a_block_written_by_another_process_refuses_the_next_call_at_once(client, org):
    """The address check reads the cache's table (one prepared statement) and only decodes a row it finds:
    a block set elsewhere, even a moment ago, refuses the very next call; a lapsed one lets it through."""
    import time

    from closeloop.core.throttle import _blocked_key

    raw, _token = api_token_create(user=org.owner, name="t", actor=org.owner)
    assert _api(client, raw).status_code == 200
    cache.set(_blocked_key("198.51.100.7"), time.time() + 300, timeout=300)
    refused = _api(client, raw)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 300
    assert _api(client, raw, address="203.0.113.9").status_code == 200
    cache.set(_blocked_key("198.51.100.7"), time.time() - 1, timeout=300)  # the row is there, its time is up
    assert _api(client, raw).status_code == 200
    cache.delete(_blocked_key("198.51.100.7"))
    assert _api(client, raw).status_code == 200


def test_a_revoked_token_fails_on_its_next_call(client, org):
    from closeloop.core.services import api_token_revoke

    raw, token = api_token_create(user=org.owner, name="t", actor=org.owner)
    assert _api(client, raw).status_code == 200
    api_token_revoke(token=token, actor=org.owner)
    response = _api(client, raw)
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
