"""The backup archive's shape, pruning for scheduled runs, and the restore's refusals. The real thing (a
backup under write load restored into an empty database) is tests/robustness/test_backup.py."""

import io
import json
import tarfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from closeloop.core.backup import backup, read_manifest, restore


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "imports").mkdir(parents=True)
    (settings.MEDIA_ROOT / "imports" / "名单.csv").write_text("公司名称\n", encoding="utf-8")
    return settings.MEDIA_ROOT


def test_an_archive_holds_a_manifest_the_database_and_the_uploads(db, media, tmp_path):
    result = backup(tmp_path / "backups")
    assert result.path.parent == tmp_path / "backups" and result.path.name.startswith("closeloop-backup-")
    with tarfile.open(result.path) as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile("manifest.json"))
    database = "database.pgdump" if manifest["engine"] == "postgresql" else "database.sqlite3"
    assert {"manifest.json", database, "media/imports/名单.csv"} <= names
    assert manifest["media_files"] == 1 and manifest["migrations"]["core"].startswith("0")
    assert not list((tmp_path / "backups").glob("*.partial"))


def test_scheduled_runs_keep_the_newest(db, media, tmp_path):
    folder = tmp_path / "backups"
    for stamp in ("20260101-010000", "20260102-010000", "20260103-010000"):
        (folder / f"closeloop-backup-{stamp}.tar.gz").parent.mkdir(exist_ok=True)
        (folder / f"closeloop-backup-{stamp}.tar.gz").write_bytes(b"old")
    call_command("backup", "--output", str(folder), "--keep", "2")
    kept = sorted(path.name for path in folder.glob("closeloop-backup-*.tar.gz"))
    assert len(kept) == 2 and kept[0] == "closeloop-backup-20260103-010000.tar.gz"


def test_restore_refuses_what_is_not_a_backup(db, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(CommandError, match="is not a Closeloop backup"):
        call_command("restore", str(junk))


def test_restore_refuses_a_database_with_data_unless_replacing(db, media, tmp_path):
    archive = backup(tmp_path).path
    assert read_manifest(archive)["format"] == 1
    with pytest.raises(CommandError, match="--replace"):
        call_command("restore", str(archive))


def test_restore_refuses_another_kind_of_database(db, media, tmp_path):
    archive = backup(tmp_path).path
    manifest = read_manifest(archive)
    other = "postgresql" if manifest["engine"] == "sqlite" else "sqlite"
    forged = tmp_path / "forged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(forged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "manifest.json":
                data = json.dumps({**manifest, "engine": other}).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    with pytest.raises(Exception, match="restore it into the same kind of database"):
        restore(forged)
