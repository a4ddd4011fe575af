"""SIGKILL the server in the middle of a load: every lead it answered 2xx for is still there after restart."""

import http.client
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import lead_payload, request

pytestmark = pytest.mark.server


def test_every_acknowledged_lead_survives_a_kill(app_server, app_db):
    server = app_server
    marker = uuid.uuid4().hex[:8]
    auth = {"Authorization": f"Bearer {app_db.admin_token}"}
    acknowledged: dict[int, str] = {}
    answered = threading.Event()
    lock = threading.Lock()

    def send(n):
        body = lead_payload(n, marker)
        try:
            status, text = request(server.port, "POST", "/api/leads/", body, {**auth, "Idempotency-Key": f"{marker}-{n}"})
        except (OSError, http.client.HTTPException):
            # The kill cut this request off, before or in the middle of its answer: no promise made.
            return "cut"
        if 200 <= status < 300:
            with lock:
                acknowledged[json.loads(text)["lead"]["id"]] = body["company_name"]
                if len(acknowledged) >= 20:
                    answered.set()
        return status

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(send, n) for n in range(2000)]
        answered.wait(timeout=60)
        server.kill()
        outcomes = [f.result(timeout=90) for f in futures]
    assert len(acknowledged) >= 20
    assert "cut" in outcomes, "the kill came after the load had finished"
    assert not [o for o in outcomes if isinstance(o, int) and o >= 500]

    # The same process group is started again on the same database, as after a crash.
    server.start()
    stored = dict(app_db.query("SELECT id, company_name FROM leads_lead WHERE company_name LIKE %s",
                               [f"{marker}%"]))
    assert {i: stored.get(i) for i in acknowledged} == acknowledged
    status, _ = request(server.port, "POST", "/api/leads/", lead_payload(9999, marker), auth)
    assert status == 201
