"""Import speed: a generated .xlsx through the real import (file check, then the job), rows per second.

`main()` is called by bench/suite.py: 100k rows, and 1M rows unless the bench is --quick. Each size runs
in a child process on a scratch copy of the populated bench database (its leads, reps, scoring and
assignment rules: the import finds duplicates among them and assigns by the rules), so the peak memory it
reports is the import's own and the bench database keeps its size. The baseline is raw `executemany` of the same rows' cells into a plain
table, measured in the same child. A child that runs past `time_limit()` (three times the budget, at
least five minutes) is stopped and reported from the progress it committed, so `make bench` ends in a
bounded time even when the import is far over budget. Alone: `python -m bench.import_speed --rows 100000`
(into a copy of `var/bench/sqlite-100000`, made by `make bench-quick`; `--source-dir` names another).
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "var" / "bench"
HEADERS = ["公司名称", "联系人", "职务", "手机", "座机", "邮箱", "微信", "省份", "城市", "行业", "公司规模", "需求",
           "预算", "预计时间", "统一社会信用代码", "来源"]
FIELDS = ["company_name", "contact_name", "title", "mobile", "landline", "email", "wechat", "region", "city",
          "industry", "company_size", "need", "budget", "timeline", "credit_code", "source"]
BUDGETS = {100_000: (20, None), 1_000_000: (240, 1024)}  # seconds, MiB (DESIGN.md)


def generate(path: Path, rows: int) -> None:
    """Realistic rows (the data generator's), with ~2% broken phones and ~1% rows repeated."""
    import xlsxwriter

    from closeloop.leads import gendata

    rng = random.Random(20261122)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADERS)
    previous = []
    for n in range(1, rows + 1):
        if previous and rng.random() < 0.01:
            row = dict(rng.choice(previous))
        else:
            row = gendata._original(rng)
            row["source"] = rng.choice(["展会", "官网", "广告", ""])
            if rng.random() < 0.02:
                row["mobile"] = "139" + str(rng.randrange(1000))
            if len(previous) < 1000:
                previous.append(row)
        sheet.write_row(n, 0, [row.get(name, "") for name in FIELDS])
    book.close()


def child(rows: int, path: Path) -> dict:
    """Runs in the scratch process: migrate, import the file, then the raw executemany baseline."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection, transaction

    from closeloop.core.models import Role, User
    from closeloop.leads import imports
    from closeloop.leads.models import ImportJob, ImportStatus, LeadSource
    from closeloop.leads.services.importing import import_job_create, import_job_run

    call_command("migrate", verbosity=0, interactive=False)
    # What the worker's `leads.refresh_match_keys` sweep does after an upgrade, before the clock starts: a
    # database generated before `Lead.match_key` existed would otherwise be compared the slow way.
    from closeloop.leads.dedup import refresh_match_keys

    refresh_match_keys()
    user = User.objects.filter(username="importer").first() or User.objects.create_user(
        "importer", "importer@example.com", "x", role=Role.SALES_REP)
    for position, name in enumerate(["展会", "官网", "广告", "电话"]):
        LeadSource.objects.get_or_create(name=name, defaults={"position": position})

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    started, cpu_started, children_started = time.monotonic(), time.process_time(), children_cpu()
    with path.open("rb") as handle:
        job = import_job_create(upload=File(handle, name=path.name), actor=user)
    checked = time.monotonic()
    # What import_job_start does, minus the enqueue: the bench runs the job itself, right here.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED,
                                               default_source=LeadSource.objects.get(name="电话"))
    job = import_job_run(job_id=job.pk)
    finished, cpu = time.monotonic(), time.process_time() - cpu_started
    # The job's second process (it reads and cleans the rows) is a child of this one, ended by now.
    cpu_children = children_cpu() - children_started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    # Baseline: the same rows' cells, inserted with raw executemany in 2,000-row transactions.
    columns = ", ".join(f"c{i} text" for i in range(len(HEADERS)))
    placeholders = ", ".join(["%s"] * len(HEADERS))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_import_baseline")
        cursor.execute(f"CREATE TABLE bench_import_baseline ({columns})")
    insert = f"INSERT INTO bench_import_baseline VALUES ({placeholders})"  # noqa: S608 - fixed bench table
    baseline = 0.0
    batch = []

    def flush():
        nonlocal baseline
        t0 = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(insert, batch)
        baseline += time.monotonic() - t0
        batch.clear()

    for number, cells in imports.iter_file_rows(path, kind="xlsx"):
        if number > 1:
            batch.append(tuple(cells[: len(HEADERS)] + [""] * (len(HEADERS) - len(cells))))
            if len(batch) == 2000:
                flush()
    flush()
    return {"rows": rows, "check_s": checked - started, "run_s": finished - checked, "baseline_s": baseline, "cpu_s": cpu,
            "cpu_children_s": cpu_children, "peak_mib": peak_mib, "peak_children_mib": peak_children_mib,
            "imported": job.imported_rows, "refused": job.refused_rows,
            "routed": job.routed_rows, "status": job.status, "error": job.error}


def _scratch_env(rows: int, source) -> dict:
    """The child's environment: a scratch copy of the populated database `source` (a PostgreSQL database
    name, or the folder of a SQLite bench database)."""
    env = {**os.environ, "CLOSELOOP_DEV": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
           "CLOSELOOP_IMPORT_MAX_ROWS": str(max(rows, 1_000_000))}
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg
        from dj_database_url import parse

        from bench.__main__ import _postgres_url

        name = "closeloop_bench_import"
        config = parse(url)
        params = {"host": config["HOST"] or None, "port": config["PORT"] or None, "user": config["USER"],
                  "password": config["PASSWORD"] or None, "dbname": "postgres"}
        with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        env["DATABASE_URL"] = _postgres_url(url, name)
        env["CLOSELOOP_DATA_DIR"] = str(SCRATCH / "import-pg")
    else:
        import sqlite3

        env.pop("DATABASE_URL", None)
        data_dir = SCRATCH / "import-sqlite"
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        with sqlite3.connect(Path(source) / "closeloop.sqlite3") as original, \
                sqlite3.connect(data_dir / "closeloop.sqlite3") as copy:
            original.backup(copy)  # consistent even with the suite's connection open
        env["CLOSELOOP_DATA_DIR"] = str(data_dir)
    return env


def _populated_source(source_dir: str | None = None):
    """The populated bench database of this process: the suite's (its settings), or `source_dir`."""
    from django.conf import settings
    from django.db import connections

    db = settings.DATABASES["default"]
    if source_dir is None and db["ENGINE"].endswith("postgresql"):
        connections.close_all()  # a template database must have no other connections
        return db["NAME"]
    folder = Path(source_dir) if source_dir else Path(db["NAME"]).parent
    if not (folder / "closeloop.sqlite3").exists():
        raise RuntimeError(f"no populated bench database in {folder}: run `make bench-quick` first")
    return folder


def time_limit(rows: int) -> float:
    """How long the bench lets an import run: three times its budget, and at least five minutes."""
    seconds_budget = BUDGETS.get(rows, (None, None))[0] or rows / 5_000
    return max(3 * seconds_budget, 300)


def measure(rows: int, *, limit: float | None = None, source=None) -> dict:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    (SCRATCH / ".gitignore").write_text("*\n")
    path = SCRATCH / f"import-{rows}.xlsx"
    if not path.exists():
        partial = path.with_suffix(".partial")
        generate(partial, rows)
        partial.rename(path)
    command = [sys.executable, "-m", "bench.import_speed", "--child", "--rows", str(rows), "--file", str(path)]
    env = _scratch_env(rows, source if source is not None else _populated_source())
    limit = time_limit(rows) if limit is None else limit
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=limit)
    except subprocess.TimeoutExpired:
        # A bounded run: an import far over its budget is stopped and reported from its progress.
        return _stopped(rows, env, time.monotonic() - started)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"import child failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(lines[-1])


def _stopped(rows: int, env: dict, seconds: float) -> dict:
    """Figures of an import stopped at the time limit, read from the scratch database's job row."""
    from datetime import UTC, datetime

    query = ("SELECT last_row, imported_rows, refused_rows, routed_rows, started_at FROM leads_importjob "
             "ORDER BY id DESC LIMIT 1")
    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url) as conn:
            found = conn.execute(query).fetchone()
    else:
        import sqlite3

        with sqlite3.connect(Path(env["CLOSELOOP_DATA_DIR"]) / "closeloop.sqlite3") as conn:
            found = conn.execute(query).fetchone()
    last_row, imported, refused, routed, started_at = found or (0, 0, 0, 0, None)
    if isinstance(started_at, str):
        started_at = datetime.fromisoformat(started_at)
    if started_at is not None and started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    running = (datetime.now(UTC) - started_at).total_seconds() if started_at else seconds
    done_rows = max(last_row - 1, 0)  # row 1 is the header; progress is committed once per chunk
    rate = done_rows / running if running > 0 else 0
    projected = f"~{rows / rate:,.0f} s of job for all {rows:,} rows" if rate else "no chunk committed yet"
    return {"rows": rows, "check_s": 0.0, "run_s": seconds, "baseline_s": 0.0, "cpu_s": 0.0, "peak_mib": 0.0,
            "imported": imported, "refused": refused, "routed": routed, "status": "stopped",
            "error": (f"stopped at the {seconds:.0f} s limit after {done_rows:,} rows in {running:.0f} s of job "
                      f"({rate:,.0f} rows/s; {projected})")}


def result_line(figures: dict) -> dict:
    rows = figures["rows"]
    seconds_budget, memory_budget = BUDGETS.get(rows, (None, None))
    total = figures["check_s"] + figures["run_s"]
    # Both processes' peaks added up: an upper bound, since the second shares the first's pages until written.
    peak = figures["peak_mib"] + figures.get("peak_children_mib", 0)
    ok = figures["status"] == "done" and (seconds_budget is None or total <= seconds_budget) and (
        memory_budget is None or peak <= memory_budget)
    budget = f"<= {seconds_budget} s" + (f", {memory_budget} MiB" if memory_budget else "")
    if figures["status"] == "stopped":
        return {"what": f"import {rows:,} rows .xlsx (check + job)", "figure": total, "unit": "s", "baseline": None,
                "ratio": None, "budget": budget, "status": "FAIL",
                "note": f"{figures['error']}; the figure is the limit, a lower bound"}
    return {
        "what": f"import {rows:,} rows .xlsx (check + job)", "figure": total, "unit": "s",
        "baseline": figures["baseline_s"], "ratio": total / figures["baseline_s"] if figures["baseline_s"] else None,
        "budget": budget, "status": "PASS" if ok else "FAIL",
        "note": (f"{rows / total:,.0f} rows/s; check {figures['check_s']:.1f} s, job {figures['run_s']:.1f} s, "
                 f"CPU {figures['cpu_s']:.1f} s + {figures.get('cpu_children_s', 0):.1f} s in the reading process; "
                 f"peak {figures['peak_mib']:,.0f} + {figures.get('peak_children_mib', 0):,.0f} MiB; "
                 f"{figures['imported']:,} imported, "
                 f"{figures['refused']:,} refused, {figures['routed']:,} routed"
                 + (f"; {figures['error']}" if figures["error"] else "")),
    }


def main() -> dict:
    sizes = [100_000] if "--quick" in sys.argv else [100_000, 1_000_000]
    return {"results": [result_line(measure(rows)) for rows in sizes]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.import_speed")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--source-dir", default=str(SCRATCH / "sqlite-100000"),
                        help="the populated SQLite bench database to import into a copy of")
    args = parser.parse_args()
    if args.child:
        sys.stdout.write(json.dumps(child(args.rows, Path(args.file))) + "\n")
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
        os.environ.setdefault("CLOSELOOP_DEV", "1")
        import django

        django.setup()
        source = None if os.environ.get("DATABASE_URL", "").startswith("postgres") else args.source_dir
        line = result_line(measure(args.rows, source=_populated_source(source)))
        sys.stdout.write(f"{line['what']}: {line['figure']:.1f} s (baseline {line['baseline']:.2f} s) "
                         f"budget {line['budget']} {line['status']} - {line['note']}\n")
