"""A bounded HTTP load generator for loopback: a fixed number of requests and a time limit.

Pure Python (http.client keep-alive connections on threads, spread over processes so the client
is not held back by one GIL), so the bench needs nothing beyond the project's own environment.
"""

import http.client
import json
import multiprocessing
import threading
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    sent: int = 0
    elapsed: float = 0.0
    statuses: dict = field(default_factory=dict)
    latencies: list = field(default_factory=list)  # seconds, one per answered request
    errors: list = field(default_factory=list)  # connection errors, and bodies of 5xx answers
    refused: list = field(default_factory=list)  # (status, body, request) of every 4xx answer, always kept
    bodies: list = field(default_factory=list)  # (status, body) when kept

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)


def percentile(values, p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _worker(host, port, requests, deadline, keep_bodies, out):
    """Send each (method, path, body, headers) in order on one keep-alive connection."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for method, path, body, headers in requests:
        if time.monotonic() > deadline:
            break
        payload = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        try:
            conn.request(method, path, body=payload, headers={"Content-Type": "application/json", **headers})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            out.append(("error", repr(exc), None, None))
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            continue
        latency = time.perf_counter() - started
        text = data.decode("utf-8", "replace") if (keep_bodies or response.status >= 400) else None
        out.append((response.status, text, latency, (method, path, body, headers)))
    conn.close()


def _process(host, port, requests, concurrency, time_limit, keep_bodies, queue):
    deadline = time.monotonic() + time_limit
    outs = [[] for _ in range(concurrency)]
    threads = [
        threading.Thread(target=_worker, args=(host, port, requests[i::concurrency], deadline, keep_bodies, outs[i]))
        for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put([item for out in outs for item in out])


def run(host, port, requests, *, concurrency=8, processes=2, time_limit=60.0, keep_bodies=False) -> LoadResult:
    """Send `requests` (a list of (method, path, json body or None, headers)) and measure every answer."""
    result = LoadResult()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    per_process = max(1, concurrency // processes)
    procs = [
        context.Process(target=_process, args=(host, port, requests[i::processes], per_process, time_limit,
                                                keep_bodies, queue))
        for i in range(processes)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    collected = [queue.get(timeout=time_limit + 120) for _ in procs]
    result.elapsed = time.perf_counter() - started
    for p in procs:
        p.join(timeout=10)
    for items in collected:
        for status, text, latency, request in items:
            result.sent += 1
            if status == "error":
                result.errors.append(text)
                continue
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.latencies.append(latency)
            if status >= 500:
                result.errors.append(f"{status}: {text[:300]}")
            elif status >= 400:
                result.refused.append((status, text, request))
            if keep_bodies:
                result.bodies.append((status, text, request))
    return result
