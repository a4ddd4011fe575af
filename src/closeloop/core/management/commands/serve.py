"""Start the web server (granian, WSGI) and the job worker together; Ctrl-C stops both."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app with granian and run the job worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--no-worker", action="store_true", help="Do not start the job worker.")

    def handle(self, *args, host, port, workers, no_worker, **options):
        granian = [
            sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host, "--port", str(port),
            "--workers", str(workers), "--blocking-threads", "2", "--no-ws", "--log-level", "warning",
            "closeloop.wsgi:application",
        ]
        processes = [subprocess.Popen(granian)]
        worker_log = None if no_worker else Path(settings.LOG_DIR) / "worker.log"
        if worker_log:
            processes.append(subprocess.Popen([sys.executable, "-m", "closeloop.cli", "worker",
                                               "--log-file", str(worker_log)]))

        _wait_for_port(host, port, processes[0])
        if worker_log:
            # The banner comes last: after the worker has started and said so in its log, not between its lines.
            _wait_for_log_line(worker_log, processes[-1])
        shown_host = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host
        self.stdout.write(self.style.SUCCESS(f"Closeloop is running at http://{shown_host}:{port}/"))
        for line in banner_lines(worker_log):
            self.stdout.write(line)

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                if any(p.poll() is not None for p in processes):
                    self.stderr.write("A child process exited; stopping.")
                    break
                time.sleep(0.5)
        finally:
            for p in processes:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for p in processes:
                try:
                    p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()


def banner_lines(worker_log: Path | None) -> list[str]:
    """What the start banner says after the address: how to log in, where mail and logs go, how to stop."""
    lines = []
    if getattr(settings, "DEV", False):
        lines.append("Demo login: admin / closeloop (also manager1, rep1 ... with the same password)")
    if getattr(settings, "DEV_MAIL_DIR", None):
        lines.append(f"E-mails are written to files in {settings.DEV_MAIL_DIR}/ instead of being sent.")
    if worker_log:
        lines.append(f"Background jobs log to {worker_log} (warnings and errors also show here).")
        lines.append("Press Ctrl-C to stop the web server and the job worker.")
    else:
        lines.append("Press Ctrl-C to stop the web server.")
    return lines


def _wait_for_log_line(path: Path, process: subprocess.Popen, timeout: float = 30) -> None:
    start_size = path.stat().st_size if path.exists() else 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.stat().st_size > start_size:
            return
        time.sleep(0.2)


def _wait_for_port(host: str, port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    """Print the URL only once it answers, so a newcomer's first click never meets a refused connection."""
    import socket

    probe_host = "127.0.0.1" if host in {"0.0.0.0", ""} else host
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection((probe_host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
