import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


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
def run_worker(transactional_db):
    """Run every queued job that is due, the way `closeloop worker` does, then return.

    The worker commits and recycles connections like in production, so tests using it run with
    real transactions rather than inside one rolled-back test transaction.
    """
    from django.core.management import call_command

    def run():
        call_command("db_worker", batch=True, queue_name="*", startup_delay=False, interval=0, reload=False,
                     verbosity=0)

    return run
