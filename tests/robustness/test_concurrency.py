"""200 concurrent intake requests against the running server: nothing lost, nothing doubled, no 5xx."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import lead_payload, request

pytestmark = pytest.mark.server


def test_it_answers_200_concurrent_submissions_each_exactly_once(app_server, app_db):
    marker = uuid.uuid4().hex[:8]
    auth = {"Authorization": f"Bearer {app_db.admin_token}"}
    # 150 distinct submissions, then 50 retries of earlier ones with the same Idempotency-Key,
    # interleaved so a retry often races its original.
    originals = [(f"{marker}-{n}", lead_payload(n, marker)) for n in range(150)]
    retries = [originals[n * 3] for n in range(50)]
    calls = [call for pair in zip(originals, retries + [None] * 100, strict=True) for call in pair if call]
    assert len(calls) == 200

    def send(call):
        key, body = call
        status, text = request(app_server.port, "POST", "/api/leads/", body, {**auth, "Idempotency-Key": key})
        return key, status, text

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(send, calls))

    assert not [a for a in answers if "database is locked" in a[2]]
    assert not [(s, t[:300]) for _, s, t in answers if s >= 500]
    unclear = [(s, t[:300]) for _, s, t in answers if 400 <= s < 500 and "code" not in json.loads(t)]
    assert not unclear
    lead_ids_by_key: dict[str, set[int]] = {}
    for key, status, text in answers:
        if 200 <= status < 300:
            lead_ids_by_key.setdefault(key, set()).add(json.loads(text)["lead"]["id"])
    assert all(len(ids) == 1 for ids in lead_ids_by_key.values()), "a retry answered with a different lead"
    assert len(lead_ids_by_key) == 150

    rows = app_db.query("SELECT id FROM leads_lead WHERE company_name LIKE %s", [f"{marker}%"])
    stored = sorted(row[0] for row in rows)
    assert stored == sorted(next(iter(ids)) for ids in lead_ids_by_key.values())


def test_a_reused_key_with_another_body_is_a_clear_conflict(app_server, app_db):
    marker = uuid.uuid4().hex[:8]
    auth = {"Authorization": f"Bearer {app_db.admin_token}", "Idempotency-Key": f"{marker}-same"}
    first = request(app_server.port, "POST", "/api/leads/", lead_payload(1, marker), auth)
    second = request(app_server.port, "POST", "/api/leads/", lead_payload(2, marker), auth)

    assert first[0] == 201
    assert second[0] == 409
    assert json.loads(second[1])["code"] == "idempotency_key_reused"
    assert app_db.query("SELECT count(*) FROM leads_lead WHERE company_name LIKE %s", [f"{marker}%"]) == [(1,)]
