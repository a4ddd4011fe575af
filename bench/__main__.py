"""`make bench`: every budget of DESIGN.md on SQLite, and on PostgreSQL when DATABASE_URL is set.

Each database gets its own bench database (generated once, then reused): SQLite under
var/bench/, PostgreSQL as `closeloop_bench_<N>` on the server DATABASE_URL points at.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def say(text: str = "") -> None:
    """The bench's output is its report: one line at a time, shown as soon as it is measured."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _postgres_url(base_url: str, name: str) -> str:
    """A URL for database `name` on the same server, created when missing."""
    import psycopg
    from dj_database_url import parse

    config = parse(base_url)
    params = {"host": config["HOST"] or None, "port": config["PORT"] or None, "user": config["USER"],
              "password": config["PASSWORD"] or None, "dbname": config["NAME"]}
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    head, _, _ = base_url.rpartition("/")
    query = base_url.partition("?")[2]
    return f"{head}/{name}" + (f"?{query}" if query else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k leads and fewer requests: a few minutes.")
    parser.add_argument("--leads", type=int, help="Leads to generate (default 1M, or 100k with --quick).")
    parser.add_argument("--only", default="", help="Comma-separated steps: intake,dedup_check,import_speed,"
                        "dedupe_command,lists,dashboard,dedup_quality,quote_pdf,receivables,radar,service,custom_fields")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    leads = args.leads or (100_000 if args.quick else 1_000_000)
    requests = 1_500 if args.quick else 5_000
    say(f"Closeloop bench{' (quick: smaller data)' if args.quick else ''}: {leads:,} leads, "
        f"{requests:,} intake requests per run; {os.cpu_count()} cores, Python {platform.python_version()}")

    base_env = {**os.environ, "CLOSELOOP_DEV": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    databases = []
    if args.db in ("sqlite", "both"):
        env = {k: v for k, v in base_env.items() if k != "DATABASE_URL"}
        env["CLOSELOOP_DATA_DIR"] = str(ROOT / "var" / "bench" / f"sqlite-{leads}")
        databases.append(("sqlite", env))
    if args.db in ("postgresql", "both"):
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            env = {**base_env, "DATABASE_URL": _postgres_url(os.environ["DATABASE_URL"], f"closeloop_bench_{leads}")}
            env["CLOSELOOP_DATA_DIR"] = str(ROOT / "var" / "bench" / "pg")
            databases.append(("postgresql", env))
        elif args.db == "postgresql":
            say("DATABASE_URL is not a PostgreSQL URL; nothing to run.")
            return 2
        else:
            say("PostgreSQL: skipped (set DATABASE_URL to a PostgreSQL server to bench it too).")

    started = datetime.now(UTC)
    report = {"started": started.isoformat(), "quick": args.quick, "leads": leads, "cores": os.cpu_count(),
              "python": platform.python_version(), "databases": {}}
    scratch = ROOT / "var" / "bench"
    scratch.mkdir(parents=True, exist_ok=True)
    # Generated databases and files are large and rebuilt on demand: never for git.
    (scratch / ".gitignore").write_text("*\n")
    for vendor, env in databases:
        Path(env["CLOSELOOP_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out = tmp.name
        command = [sys.executable, "-m", "bench.suite", "--leads", str(leads), "--requests", str(requests),
                   "--out", out] + (["--quick"] if args.quick else []) + (["--only", args.only] if args.only else [])
        t0 = time.monotonic()
        code = subprocess.call(command, cwd=ROOT, env=env)
        results = json.loads(Path(out).read_text()) if Path(out).stat().st_size else []
        os.unlink(out)
        report["databases"][vendor] = {"results": results, "exit_code": code, "seconds": time.monotonic() - t0}

    say("\nSummary")
    failed = 0
    for vendor, data in report["databases"].items():
        for r in data["results"]:
            if r["status"] == "info":
                continue
            failed += r["status"] == "FAIL"
            say(f"  {vendor:<10} {r['status']:<14} {r['what']}: "
                  + (f"{r['figure']:,.3g} {r['unit']}" if r["figure"] is not None else "-")
                  + (f" (baseline {r['baseline']:,.3g}, ratio {r['ratio']:.2f})" if r["ratio"] is not None else "")
                  + f"  budget {r['budget']}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    say(f"\n{failed} budget(s) failed. Results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
