"""In-process page timing shared by the page benchmarks (`deals_pages`, `receivables`): the database the
environment points at (DATABASE_URL, else a SQLite file under var/bench/), Django set up and migrated, and
each page's p50 / p95 and query count through Django's test client (the server's own time)."""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = f"{'page':45} {'user':14} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}"


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def setup(database_name: str) -> None:
    """Point Django at the benchmark's database (unless DATABASE_URL says otherwise), set it up and migrate."""
    if "DATABASE_URL" not in os.environ:
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / f'{database_name}.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    os.environ.setdefault("CLOSELOOP_DEV", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)


def measure(client, user, label: str, path: str, repeats: int) -> float:
    """Time `path` `repeats` times after one warm-up request; print a line and return the p95 in ms."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm caches and connections
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    say(f"{label:45} {user.username:14} {statistics.median(times):8.1f} {p95:8.1f} {len(queries):8d}")
    return p95


def measure_worst(viewers, repeats: int) -> tuple[float, str, float]:
    """Each viewer's pages (`viewers`: [(user, [(label, path), ...]), ...]), each after the login page as an
    anonymous visitor sees it (the same run's bare baseline): the worst p95 in ms, where it was, and the baseline."""
    from django.test import Client

    say(HEADER)
    worst, where, baseline = 0.0, "", 0.0
    for user, pages in viewers:
        client = Client()
        client.force_login(user)
        baseline = max(baseline, measure(Client(), user, "login page, anonymous (baseline)", "/login/", repeats))
        for label, path in pages:
            p95 = measure(client, user, label, path, repeats)
            if p95 >= worst:
                worst, where = p95, f"{label} as {user.username}"
    return worst, where, baseline
