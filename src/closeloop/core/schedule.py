"""Periodic sweeps, enqueued by the worker side.

Each sweep is idempotent: it is safe to run twice or late, so several workers (each with its own
scheduler) can enqueue the same sweep without harm. Apps declare their sweeps in
`LoopApp.sweeps()`; core registers them when it starts (CoreConfig.ready).
"""

import logging

from django.db import close_old_connections

from .hooks import Sweep

logger = logging.getLogger(__name__)

SWEEPS: dict[str, Sweep] = {}


def register_sweeps(sweeps) -> None:
    for sweep in sweeps:
        if sweep.name in SWEEPS and SWEEPS[sweep.name] != sweep:
            raise ValueError(f"sweep {sweep.name!r} is declared twice")
        SWEEPS[sweep.name] = sweep


def run_scheduler(stop, tick_seconds: float = 5.0) -> None:
    import time

    last_run: dict[str, float] = {}
    while not stop.is_set():
        now = time.monotonic()
        for sweep in list(SWEEPS.values()):
            if now - last_run.get(sweep.name, -1e9) >= sweep.every_seconds:
                last_run[sweep.name] = now
                try:
                    close_old_connections()
                    sweep.enqueue()
                except Exception:  # a failing sweep must not stop the others
                    logger.exception("could not enqueue sweep %s", sweep.name)
        stop.wait(tick_seconds)
