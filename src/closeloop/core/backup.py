"""`closeloop backup` and `closeloop restore`: one archive with the database and the uploaded files.

The database copy is consistent while the app runs and writes: SQLite's online backup API copies the
database in one step under a read snapshot (WAL lets writers go on meanwhile); `pg_dump` reads
PostgreSQL in one repeatable-read snapshot. The uploaded files (MEDIA_ROOT) are copied after the
database, so every file a copied row names was already on disk; files that arrive during the copy
come along harmlessly. The archive is written beside its final name and renamed when complete, so
a backup that was cut off never looks like a good one.

Archive (`closeloop-backup-<UTC time>.tar.gz`):
    manifest.json          format, engine, time, the latest migration of each app, file count
    database.sqlite3       (SQLite) or database.pgdump (PostgreSQL, pg_dump's custom format)
    media/...              the uploaded files
"""

import glob
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

FORMAT = 1
PREFIX = "closeloop-backup-"
SUFFIX = ".tar.gz"


class BackupError(Exception):
    """Something a person must fix before a backup or restore can go on; the message says what."""


@dataclass
class BackupResult:
    path: Path
    engine: str
    media_files: int
    size: int


def _engine() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _client(name: str) -> str:
    """pg_dump / pg_restore: Debian's wrapper on PATH, else the newest installed version's own."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return found


def _pg_args() -> tuple[list[str], dict]:
    db = connection.settings_dict
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or "", "PGCONNECT_TIMEOUT": "30"}
    return args, env


def _run(command: list[str], env: dict) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _latest_migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).migration_qs.order_by("app", "name").values_list("app", "name"):
        latest[app] = name
    return latest


def _media_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob("*") if path.is_file())


def backup(output: Path, *, keep: int | None = None) -> BackupResult:
    """Write an archive into `output` (a folder, or the archive's file name) and return where it went."""
    engine = _engine()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if output.suffix == ".gz" or output.name.endswith(SUFFIX):
        target = output
    else:
        output.mkdir(parents=True, exist_ok=True)
        target = output / f"{PREFIX}{stamp}{SUFFIX}"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".closeloop-backup-") as scratch:
        scratch = Path(scratch)
        if engine == "sqlite":
            database = scratch / "database.sqlite3"
            source = sqlite3.connect(connection.settings_dict["NAME"], timeout=60)
            try:
                copy = sqlite3.connect(database)
                with copy:
                    # pages=-1: the whole database in one step, under one read snapshot.
                    source.backup(copy, pages=-1)
                copy.close()
            finally:
                source.close()
        else:
            database = scratch / "database.pgdump"
            args, env = _pg_args()
            _run([_client("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(database),
                  *args], env)
        media_root = Path(settings.MEDIA_ROOT)
        files = _media_files(media_root)
        manifest = {
            "format": FORMAT, "engine": engine, "created_at": datetime.now(UTC).isoformat(),
            "migrations": _latest_migrations(), "media_files": len(files),
        }
        with tarfile.open(partial, "w:gz", compresslevel=1) as archive:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mtime = int(datetime.now(UTC).timestamp())
            archive.addfile(info, fileobj=io.BytesIO(data))
            archive.add(database, arcname=database.name)
            for path in files:
                archive.add(path, arcname=f"media/{path.relative_to(media_root).as_posix()}")
    partial.replace(target)
    if keep:
        _prune(target.parent, keep)
    return BackupResult(path=target, engine=engine, media_files=len(files), size=target.stat().st_size)


def _prune(folder: Path, keep: int) -> None:
    """Keep the newest `keep` archives in the folder (by their names, which sort by time)."""
    archives = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))
    for old in archives[:-keep]:
        old.unlink()


def read_manifest(archive_path: Path) -> dict:
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            member = archive.extractfile("manifest.json")
            manifest = json.load(member)
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise BackupError(f"{archive_path} is not a Closeloop backup ({exc}).") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive_path} was written in backup format {manifest.get('format')}; this version reads {FORMAT}.")
    return manifest


def database_is_empty() -> bool:
    return not connection.introspection.table_names()


def _drop_all_tables() -> None:
    tables = connection.introspection.table_names()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if tables:
                cursor.execute("DROP TABLE " + ", ".join(connection.ops.quote_name(t) for t in tables) + " CASCADE")
            # Functions the apps created (the lead table's trigger functions) are in the dump too; the ones an
            # extension owns (pg_trgm's) go with the extension, which the dump creates only if it is missing.
            cursor.execute("""
                SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema()
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')""")
            for (function,) in cursor.fetchall():
                cursor.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")
        else:
            cursor.execute("PRAGMA foreign_keys=OFF")
            for table in tables:
                cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}")


def restore(archive_path: Path, *, replace: bool = False) -> dict:
    """Bring back the database and the uploaded files from an archive. Stop the app first.

    Refuses a database that holds tables unless `replace` (then its tables and the uploaded files are
    replaced by the archive's)."""
    manifest = read_manifest(archive_path)
    engine = _engine()
    if manifest["engine"] != engine:
        raise BackupError(f"This backup is of a {manifest['engine']} database and DATABASE_URL points at {engine}: "
                          "restore it into the same kind of database.")
    if not database_is_empty() and not replace:
        raise BackupError("The database is not empty. Stop Closeloop and run again with --replace to overwrite it "
                          "and the uploaded files.")
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix=".closeloop-restore-", dir=Path(settings.DATA_DIR)) as scratch:
        scratch = Path(scratch)
        with tarfile.open(archive_path, "r:gz") as archive:
            # The data filter refuses absolute paths, links out of the folder and device files.
            archive.extractall(scratch, filter="data")
        if engine == "sqlite":
            connection.close()
            target = sqlite3.connect(connection.settings_dict["NAME"], timeout=60)
            source = sqlite3.connect(scratch / "database.sqlite3")
            try:
                source.backup(target, pages=-1)
            finally:
                source.close()
                target.close()
        else:
            if replace:
                _drop_all_tables()
            connection.close()
            args, env = _pg_args()
            _run([_client("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                  *args, str(scratch / "database.pgdump")], env)
        restored_media = scratch / "media"
        if replace and media_root.exists():
            shutil.rmtree(media_root)
        if restored_media.is_dir():
            media_root.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(restored_media, media_root, dirs_exist_ok=True)
    return manifest
