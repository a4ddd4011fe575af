"""Where an API intake's CPU goes: the intake and the bare endpoint in-process, through the whole WSGI stack.

    CLOSELOOP_DATA_DIR=var/bench/sqlite-100000 python -m bench.intake_profile [--requests 400] [--profile]

Requests go to Django's WSGI handler directly (middleware, ninja, the service), without a server or a
socket, alternating rounds of bare pings and intakes so both see the same load; prints CPU per request
(process time) for each and their ratio, and with --profile the top functions of a cProfile of the intakes.
It writes leads into the database it is pointed at, as the HTTP bench does.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import time
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")

import django  # noqa: E402

django.setup()

from django.test import RequestFactory  # noqa: E402

import bench.server  # noqa: E402, F401 - adds the bare endpoint
from bench.server import application  # noqa: E402


def _bodies(count: int, seed: int) -> list[dict]:
    from bench.suite import _LEAD_IN_FIELDS, _SAMPLE_FIELDS
    from closeloop.leads import gendata
    from closeloop.leads.models import Lead

    last = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(seed + last)
    ids = [rng.randrange(1, last + 1) for _ in range(200)] if last else []
    existing = [dict(row) for row in Lead.objects.filter(pk__in=ids).values(*_SAMPLE_FIELDS)]
    bodies = []
    for n in range(count):
        data = gendata._variant(rng, existing[n % len(existing)]) if existing and rng.random() < 0.1 else \
            gendata._original(rng)
        data = {k: v for k, v in data.items() if k in _LEAD_IN_FIELDS and v != ""}
        data["source"] = "官网"
        bodies.append(data)
    return bodies


def _call(factory, path, body, headers) -> int:
    request = factory.post(path, data=json.dumps(body), content_type="application/json", SERVER_NAME="127.0.0.1",
                           HTTP_HOST="127.0.0.1", REMOTE_ADDR="127.0.0.1", **headers)
    status = []
    chunks = application(request.environ, lambda s, h, *a: status.append(s))
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(status[0].split()[0])


def _backend_cpu() -> float | None:
    """CPU seconds the PostgreSQL server process serving this connection has used (a server on this machine,
    readable /proc); None on SQLite or when it cannot be read."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115, PTH123
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.intake_profile")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args(argv)

    from closeloop.core.models import User
    from closeloop.core.services import api_token_create

    admin = User.objects.get(username="admin")
    token, _ = api_token_create(user=admin, name="profile", actor=None)
    factory = RequestFactory()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    bodies = _bodies(args.requests * args.rounds + 50, seed=7)
    for body in bodies[:50]:  # warm: caches, connections, imports
        _call(factory, "/api/bench/ping", body, {})
        _call(factory, "/api/leads/", body, {**auth, "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())})
    bodies = bodies[50:]
    bare_cpu = intake_cpu = server_cpu = 0.0
    bare_n = intake_n = 0
    statuses: dict[int, int] = {}
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall: the machine is shared
    intake_wall = []
    for round_ in range(args.rounds):
        chunk = bodies[round_ * args.requests:(round_ + 1) * args.requests]
        started = time.process_time()
        for body in chunk:
            _call(factory, "/api/bench/ping", body, {})
        bare_cpu += time.process_time() - started
        bare_n += len(chunk)
        if profiler:
            profiler.enable()
        server_started = _backend_cpu()
        started = time.process_time()
        for body in chunk:
            wall = time.perf_counter()
            status = _call(factory, "/api/leads/", body, {**auth, "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())})
            intake_wall.append(time.perf_counter() - wall)
            statuses[status] = statuses.get(status, 0) + 1
        intake_cpu += time.process_time() - started
        if server_started is not None:
            server_cpu += _backend_cpu() - server_started
        intake_n += len(chunk)
        if profiler:
            profiler.disable()
    intake_wall.sort()
    bare_ms, intake_ms = bare_cpu / bare_n * 1000, intake_cpu / intake_n * 1000
    load = os.getloadavg()
    sys.stdout.write(f"CPU per request: intake {intake_ms:.2f} ms, bare {bare_ms:.3f} ms, bare/intake {bare_ms / intake_ms:.3f}; "
          f"intake wall p50 {intake_wall[len(intake_wall) // 2] * 1000:.2f} ms "
          f"p99 {intake_wall[int(len(intake_wall) * 0.99)] * 1000:.2f} ms; statuses {statuses}; "
          f"{intake_n} intakes; load {load[0]:.1f} {load[1]:.1f}"
          + (f"; PostgreSQL server CPU per intake {server_cpu / intake_n * 1000:.2f} ms" if server_cpu else "")
          + (" (profiled: CPU figures include the profiler)" if profiler else "") + "\n")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        sys.stdout.write(out.getvalue())


if __name__ == "__main__":
    main()
