import json
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection


class Receiver:
    """A real HTTP server on loopback that records every request and answers from a script."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict]] = []
        self.default = (200, {"errcode": 0, "errmsg": "ok"})
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = urlsplit(self.path)
                receiver.requests.append({
                    "path": parts.path, "query": parse_qs(parts.query), "raw_query": parts.query,
                    "headers": dict(self.headers), "raw": raw, "json": json.loads(raw.decode("utf-8")),
                })
                status, answer = receiver.script.pop(0) if receiver.script else receiver.default
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def run_worker(db):
    """Run every queued job that is due, then return.

    Jobs are picked, claimed and run by django-tasks-db's own Worker, the one `closeloop worker`
    starts; only its polling loop is left out, because that recycles database connections, which
    would end the test's transaction (a transactional test instead would flush the data that
    migrations load, such as the default pipeline, under the tests that run after it).
    """
    from django.db import transaction
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-worker", excluded_queue_names=[])

    def run():
        while True:
            with transaction.atomic():
                job = DBTaskResult.objects.ready().filter(backend_name="default").get_locked()
                if job is None:
                    return
                job.claim(worker.worker_id)
            worker.run_task(job)

    return run


def at_once(work, workers: int = 2) -> list:
    """Run `work()` in `workers` threads released together, as that many workers would at the same moment (each
    on its own database connection); their results, or the first error any of them met."""
    start = threading.Barrier(workers)
    results, errors = [], []

    def worker():
        try:
            start.wait()
            results.append(work())
        except Exception as exc:  # raised below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def mail_dir(settings, tmp_path):
    """The development mailer: each mail a file, as `make run` writes them."""
    folder = tmp_path / "mail"
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                                    "OPTIONS": {"file_path": str(folder)}}}
    return folder


def written_mails(folder) -> list:
    """Every mail the development mailer wrote, parsed. A file holds the mails of one connection, each followed by a
    line of dashes, and two connections in the same second may share a file, so a file is not a mail."""
    found = []
    for path in sorted(folder.iterdir()):
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                found.append(message_from_bytes(raw, policy=policy.default))
    return found
