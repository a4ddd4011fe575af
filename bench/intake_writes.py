"""What an intake's writes cost SQLite alone, and what group commit could save (issue #16).

    python -m bench.intake_writes var/bench/<copy>/closeloop.sqlite3 [--rounds 2] [--rows 1200]

Writes, one IMMEDIATE transaction per group of k "intakes", the rows an assigned API intake writes: a lead, its
audit entry, an idempotency record, a first-contact task and a notification, each copied from rows already in the
table (so the lead's indexes and its owner-load trigger see real values; an idempotency key is made new). Prints CPU
(process time) and WAL bytes per intake for k = 1 (today: each request its own transaction), 2, 4 and 8 (group
commit's database-side bound: no Python, no locking between threads). Everything it wrote is deleted after each
pass. Run it on a copy: it writes into the database it is given.
"""

import argparse
import os
import sqlite3
import sys
import time

TABLES = ("leads_lead", "core_auditentry", "leads_idempotencyrecord", "followup_task", "core_notification")


def _plan(connection, rows: int, tag: str) -> list[tuple[str, str, list, int]]:
    plan = []
    for table in TABLES:
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})") if row[1] != "id"]
        names = ", ".join(f'"{column}"' for column in columns)
        # Table and column names from TABLES and the schema, never from input.
        select = f"SELECT {names} FROM {table} ORDER BY id DESC LIMIT ?"  # noqa: S608
        values = connection.execute(select, (rows,)).fetchall()
        if "key" in columns:  # the idempotency key is unique
            at = columns.index("key")
            values = [(*row[:at], f"{tag}-{n}", *row[at + 1:]) for n, row in enumerate(values)]
        top = connection.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0  # noqa: S608
        insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
        plan.append((table, insert, values, top))
    return plan


def measure(path: str, k: int, rows: int, tag: str) -> tuple[float, float]:
    """CPU µs and WAL KiB per intake, k intakes to a transaction."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=wal")
    connection.execute("PRAGMA synchronous=normal")  # as closeloop's connections
    plan = _plan(connection, rows, tag)
    count = min(len(values) for _table, _sql, values, _top in plan)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # the WAL's size is the figure
    started = time.process_time()
    for first in range(0, count, k):
        connection.execute("BEGIN IMMEDIATE")
        for n in range(first, min(first + k, count)):
            for _table, sql, values, _top in plan:
                connection.execute(sql, values[n])
        connection.execute("COMMIT")
    cpu = time.process_time() - started
    wal = os.path.getsize(path + "-wal")
    for table, _sql, _values, top in plan:
        connection.execute(f"DELETE FROM {table} WHERE id > ?", (top,))  # noqa: S608
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return cpu / count * 1e6, wal / count / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.intake_writes")
    parser.add_argument("database", help="a copy of a bench database (it is written to)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=1200)
    args = parser.parse_args(argv)
    for round_ in range(args.rounds):
        figures = [(k, *measure(args.database, k, args.rows, f"bench-{os.getpid()}-{round_}-{k}")) for k in (1, 2, 4, 8)]
        sys.stdout.write(" | ".join(f"k={k}: {cpu:.0f} µs CPU, {wal:.0f} KiB WAL" for k, cpu, wal in figures)
                         + f" per intake (load {os.getloadavg()[0]:.1f})\n")


if __name__ == "__main__":
    main()
