"""`closeloop backup` while the server takes writes, then `closeloop restore` into an empty database:
every lead acknowledged before the backup started is back, each with its audit entry, and so are the
uploaded files. On SQLite and on PostgreSQL (DATABASE_URL), whichever the suite runs on."""

import http.client
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import LiveDatabase, ServerProcess, lead_payload, request

pytestmark = pytest.mark.server


def test_a_backup_under_write_load_restores_every_acknowledged_lead(tmp_path):
    source = LiveDatabase(tmp_path / "source")
    uploaded = source.data_dir / "media" / "imports" / "客户名单.csv"
    uploaded.parent.mkdir(parents=True)
    uploaded.write_bytes("公司名称,手机\n杭州测试有限公司,13900000000\n".encode())
    server = ServerProcess(source).start()
    target = None
    try:
        marker = uuid.uuid4().hex[:8]
        auth = {"Authorization": f"Bearer {source.admin_token}"}
        acknowledged: dict[int, float] = {}
        lock = threading.Lock()
        stop = threading.Event()

        def writer(worker: int):
            n = 0
            while not stop.is_set() and n < 2000:
                n += 1
                try:
                    status, text = request(server.port, "POST", "/api/leads/",
                                           lead_payload(worker * 10_000 + n, marker), auth)
                except (OSError, http.client.HTTPException):
                    continue
                if status == 201:
                    with lock:
                        acknowledged[json.loads(text)["lead"]["id"]] = time.monotonic()

        with ThreadPoolExecutor(max_workers=4) as pool:
            writers = [pool.submit(writer, worker) for worker in range(4)]
            deadline = time.monotonic() + 60
            while len(acknowledged) < 30 and time.monotonic() < deadline:
                time.sleep(0.05)
            started = time.monotonic()
            done = source.closeloop("backup", "--output", str(tmp_path / "backups"))
            finished = time.monotonic()
            # The load goes on after the copy: those leads are in the source only.
            time.sleep(0.5)
            stop.set()
            for future in writers:
                future.result(timeout=120)
        assert done.returncode == 0, done.stderr
        before = {lead for lead, at in acknowledged.items() if at < started}
        during = {lead for lead, at in acknowledged.items() if started <= at <= finished}
        assert len(before) >= 30 and during, "the backup ran while nothing was written"
    finally:
        server.stop()

    archive = done.stdout.split(" (")[0].strip()
    assert archive.endswith(".tar.gz")
    target = LiveDatabase(tmp_path / "target", prepare=False)
    try:
        restored = target.closeloop("restore", archive)
        assert restored.returncode == 0, restored.stderr
        leads = {row[0] for row in target.query("SELECT id FROM leads_lead WHERE company_name LIKE %s", [f"{marker}%"])}
        assert before - leads == set(), "leads acknowledged before the backup are missing"
        # A consistent copy: every lead in it has its creation entry in the trail (same transaction).
        audited = {int(row[0]) for row in target.query(
            "SELECT target_id FROM core_auditentry WHERE action = 'lead.create'")}
        assert leads - audited == set()
        assert (target.data_dir / "media" / "imports" / "客户名单.csv").read_bytes() == uploaded.read_bytes()
        # A second restore over data is refused unless told to replace it.
        again = target.closeloop("restore", archive)
        assert again.returncode != 0 and "--replace" in again.stderr
        replaced = target.closeloop("restore", "--replace", archive)
        assert replaced.returncode == 0, replaced.stderr
        assert {row[0] for row in target.query("SELECT id FROM leads_lead WHERE company_name LIKE %s",
                                               [f"{marker}%"])} == leads
    finally:
        target.drop()
        source.drop()
