"""An import's duplicate reads carried from chunk to chunk (`dedup.ChunkSearch`): what it keeps after writing
its own rows is what reading again would return, and anyone else's commit makes the next chunk read afresh."""

import random
import sqlite3

import pytest

from closeloop.core.models import Channel
from closeloop.leads import dedup, gendata
from closeloop.leads.services.batch import lead_submit_batch
from closeloop.leads.services.intake import lead_submit

pytestmark = pytest.mark.django_db


def test_sqlite_data_version_changes_with_other_connections_commits_only(tmp_path):
    """The mark `chunk_started` relies on."""
    path = tmp_path / "db.sqlite3"
    mine, other = sqlite3.connect(path, isolation_level=None), sqlite3.connect(path, isolation_level=None)
    mine.execute("CREATE TABLE t (x)")

    def version():
        return mine.execute("PRAGMA data_version").fetchone()[0]

    start = version()
    mine.execute("INSERT INTO t VALUES (1)")
    assert version() == start  # its own commits do not move it
    other.execute("INSERT INTO t VALUES (2)")
    assert version() != start


class _Kept(dedup.ChunkSearch):
    made: list = []

    def __init__(self):
        super().__init__()
        self.made.append(self)


def test_reads_kept_after_writing_are_what_a_fresh_read_returns(org, monkeypatch):
    """Many people at one company and one brand block, in small chunks: the lookups fill up to their caps
    (a full one stays as it was, one not full takes the new leads) and equal a fresh read after every chunk.
    On PostgreSQL, where the reads the rows change are forgotten and read again, the same holds."""
    monkeypatch.setattr(_Kept, "made", [])
    monkeypatch.setattr(dedup, "ChunkSearch", _Kept)
    rng = random.Random(7)

    def person(n):
        return {**gendata._original(rng), "company_name": "深圳市腾云飞网络科技有限公司" if n % 3 else "深圳腾云飞科技",
                "source": "电话", "mobile": f"1380013{n:04d}", "email": ""}

    for n in range(12):  # on record already
        lead_submit(data=person(n), channel=Channel.API, actor=org.admin)
    rows = [((n, []), person(n)) for n in range(12, 60)]
    checks = []

    def on_chunk(_outcome):
        search = _Kept.made[-1]
        for (column, value), ids in search._found.items():
            fresh = [pk for _n, pk in dedup._candidate_ids_tagged([(column, value, dedup._CAPS[column])])]
            checks.append((column, len(ids)))
            assert sorted(ids) == sorted(fresh), (column, value)
        for row in dedup._candidate_rows(list(search._rows)):
            assert search._rows[row[0]] == row[:-1] and search._owners[row[0]] == row[-1]

    total = lead_submit_batch(rows=rows, channel=Channel.IMPORT, actor=org.marketer, chunk_size=7, on_chunk=on_chunk)
    assert total.created == 48 and len(_Kept.made) == 1
    if dedup._capped_in_id_order():  # SQLite: the lookups were kept and extended until full, and kept full
        caps = {column: max(n for c, n in checks if c == column) for column, _n in checks}
        assert caps["company_key"] == dedup.PER_NAME and caps["brand_head"] == dedup.PER_BLOCK
    else:  # PostgreSQL: every lookup a chunk's own rows share is forgotten once they are written
        assert checks == []


def test_another_connections_commit_between_chunks_makes_the_next_chunk_read_afresh(org, monkeypatch):
    versions = iter([1, 1, 1, 1, 2, 2])  # chunk 1 starts, ends; chunk 2 starts, ends; chunk 3 sees a commit
    monkeypatch.setattr(dedup, "_data_version", lambda: next(versions))
    monkeypatch.setattr(_Kept, "made", [])
    monkeypatch.setattr(dedup, "ChunkSearch", _Kept)
    kept_rows = []

    def on_chunk(_outcome):
        kept_rows.append(len(_Kept.made[-1]._rows))

    forgotten = []
    original = _Kept.forget
    monkeypatch.setattr(_Kept, "forget", lambda self: (forgotten.append(1), original(self)))
    rng = random.Random(3)
    rows = [((n, []), {**gendata._original(rng), "source": "电话"}) for n in range(9)]
    lead_submit_batch(rows=rows, channel=Channel.IMPORT, actor=org.marketer, chunk_size=3, on_chunk=on_chunk)
    # Chunk 1 starts with nothing read (a first mark differs from none), chunk 2 keeps, chunk 3 reads afresh.
    assert len(forgotten) == 2 and kept_rows[0] <= kept_rows[1]
