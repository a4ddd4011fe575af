"""A real server process on its own database, for the robustness checks.

pytest-django's test database lives inside the test process (in memory on SQLite, or behind a
transaction), where a server subprocess cannot see it. So these fixtures make a separate
database — a temporary SQLite file, or a fresh PostgreSQL database on the server DATABASE_URL
names — migrate it in a subprocess, and start `closeloop serve --no-worker` against it. The test
reads results back with plain DB-API connections, never through the ORM's test database.
"""

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "robust-pw-1"
IMPORT_MAX_ROWS = 1000

SETUP = """
from closeloop.core.models import Role, User
from closeloop.core.services import api_token_create
from closeloop.leads.models import LeadSource
admin = User.objects.create_user("admin", "admin@example.com", "%s", role=Role.ADMIN, is_superuser=True,
                                 is_staff=True)
rep = User.objects.create_user("rep", "rep@example.com", None, role=Role.SALES_REP)
for i, name in enumerate(["官网", "展会", "广告"]):
    LeadSource.objects.create(name=name, position=i)
print(api_token_create(user=admin, name="robustness", actor=None)[0])
print(api_token_create(user=rep, name="robustness", actor=None)[0])
""".replace("%s", ADMIN_PASSWORD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveDatabase:
    """`prepare=False` leaves the database empty (no tables), as a restore target."""

    def __init__(self, tmp_path: Path, prepare: bool = True):
        self.data_dir = tmp_path
        self.env = {**os.environ, "CLOSELOOP_DEV": "1", "CLOSELOOP_DATA_DIR": str(tmp_path),
                    "PYTHONPATH": str(ROOT / "src"), "LOG_LEVEL": "ERROR",
                    # A low row limit, so "more rows than allowed" is a small file to make.
                    "CLOSELOOP_IMPORT_MAX_ROWS": str(IMPORT_MAX_ROWS),
                    # The fuzzer sends unknown tokens on purpose (auth checks); the brake has its own tests.
                    "CLOSELOOP_API_TOKEN_FAILURE_RATE": "100000/m"}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.pg_name = None
        base = os.environ.get("DATABASE_URL", "")
        if base.startswith("postgres"):
            self.pg_base = base
            self.pg_name = f"closeloop_robust_{uuid.uuid4().hex[:10]}"
            with self._pg_admin() as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
            head, _, tail = base.partition("?")
            self.env["DATABASE_URL"] = head.rsplit("/", 1)[0] + f"/{self.pg_name}" + (f"?{tail}" if tail else "")
        else:
            self.env.pop("DATABASE_URL", None)
            self.sqlite_path = tmp_path / "closeloop.sqlite3"
        if not prepare:
            return
        # One interpreter for migrate, the cache table and the users: each start costs seconds here.
        prepare = ("import django; django.setup()\nfrom django.core.management import call_command\n"
                   "call_command('migrate', interactive=False, verbosity=0)\ncall_command('createcachetable')\n")
        out = subprocess.run([sys.executable, "-c", prepare + SETUP], env={
            **self.env, "DJANGO_SETTINGS_MODULE": "closeloop.settings"}, cwd=ROOT, check=True, capture_output=True,
            text=True).stdout.split()
        self.admin_token, self.rep_token = out[-2], out[-1]

    def _pg_admin(self):
        import psycopg

        return psycopg.connect(self.pg_base, autocommit=True)

    def closeloop(self, *args: str) -> subprocess.CompletedProcess:
        """Run a `closeloop` command against this database; its output as text."""
        return subprocess.run([sys.executable, "-m", "closeloop.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600)

    def query(self, sql: str, params=()) -> list[tuple]:
        """Read what the server wrote, with a plain connection (placeholders written as %s)."""
        if self.pg_name:
            import psycopg

            with psycopg.connect(self.env["DATABASE_URL"]) as conn:
                return conn.execute(sql, params).fetchall()
        with sqlite3.connect(self.sqlite_path, timeout=30) as conn:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()

    def drop(self):
        if self.pg_name:
            with self._pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


class ServerProcess:
    """`closeloop serve --no-worker` in its own process group, so one signal reaches it and its workers."""

    def __init__(self, database: LiveDatabase, workers: int = 2):
        self.database = database
        self.workers = workers
        self.port = free_port()
        self.process = None

    @property
    def log(self) -> Path:
        return self.database.data_dir / "server.log"

    def log_tail(self, size: int = 4000) -> str:
        """The end of what the server wrote to stderr (its errors and Django's request log)."""
        return self.log.read_bytes()[-size:].decode("utf-8", "replace") if self.log.exists() else ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        # A fresh port each start: a restarted server must not depend on the old socket being released.
        self.port = free_port()
        # A file, not a pipe: nobody reads a pipe while a test runs, and once Django's request log (every 4xx is a
        # warning) filled its 64 KiB the server stopped in the middle of a request.
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "closeloop.cli", "serve", "--no-worker", "--port", str(self.port),
                 "--workers", str(self.workers)],
                env=self.database.env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
            )
        deadline = time.monotonic() + 180  # a loaded shared CI machine starts granian slowly
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            try:
                status, _ = request(self.port, "GET", "/login/")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not answer within 180 s")

    def rss_bytes(self) -> int:
        """Resident memory of the server and all its workers (its process group), from /proc."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:
                    total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, IndexError, ValueError):
                continue
        return total

    def kill(self):
        """SIGKILL: no shutdown handler runs, as when the machine loses the process."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def request(port: int, method: str, path: str, body=None, headers=None, conn=None):
    """One HTTP request; returns (status, body text)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        if own:
            conn.close()


def lead_payload(n: int, marker: str) -> dict:
    return {"company_name": f"{marker}压力测试{n}科技有限公司", "contact_name": f"联系人{n}",
            "mobile": f"139{n % 100_000_000:08d}", "source": "官网", "need": "并发测试"}


@pytest.fixture(scope="session")
def app_db(tmp_path_factory):
    database = LiveDatabase(tmp_path_factory.mktemp("live"))
    yield database
    database.drop()


@pytest.fixture(scope="session")
def app_server(app_db):
    server = ServerProcess(app_db).start()
    yield server
    server.stop()
