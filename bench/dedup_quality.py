"""Pairwise precision, recall and F1 of duplicate clustering on the labelled list in shared/data/dedup."""

import csv
import sys
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _data_dir() -> Path:
    """`shared/` sits beside the repository (CI clones it there); a git worktree sits one level deeper."""
    for base in (REPO_ROOT.parent, *REPO_ROOT.parent.parents):
        candidate = base / "shared" / "data" / "dedup"
        if candidate.is_dir():
            return candidate
    return REPO_ROOT.parent / "shared" / "data" / "dedup"


DATA_DIR = _data_dir()


def pairs_of(labels: list) -> set[tuple[int, int]]:
    groups: dict = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    return {pair for members in groups.values() for pair in combinations(members, 2)}


def pairwise_scores(truth: list, found: list) -> dict:
    """Precision, recall and F1 over pairs: a true pair shares a label, a found pair shares a cluster."""
    true_pairs, found_pairs = pairs_of(truth), pairs_of(found)
    hits = len(true_pairs & found_pairs)
    precision = hits / len(found_pairs) if found_pairs else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": len(true_pairs), "found_pairs": len(found_pairs)}


def measure(data_dir: Path = DATA_DIR, name: str = "dev") -> dict:
    """Cluster `leads-{name}.csv` and score it against `labels-{name}.csv` for persons and companies."""
    from closeloop.leads.dedup import cluster_rows, map_headers

    with open(data_dir / f"leads-{name}.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(data_dir / f"labels-{name}.csv", encoding="utf-8-sig", newline="") as fh:
        labels = {row["row"]: row for row in csv.DictReader(fh)}
    started = time.perf_counter()
    clusters = cluster_rows(rows, map_headers(list(rows[0])))
    seconds = time.perf_counter() - started
    ordered = [labels[row["row"]] for row in rows]
    return {
        "rows": len(rows),
        "seconds": seconds,
        "person": pairwise_scores([r["entity_id"] for r in ordered], [c[0] for c in clusters]),
        "company": pairwise_scores([r["company_id"] for r in ordered], [c[1] for c in clusters]),
        "clusters": Counter(c[1] for c in clusters).__len__(),
    }


def main() -> dict:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    django.setup()
    result = measure()
    out = sys.stdout
    out.write(f"dedup quality on {DATA_DIR / 'leads-dev.csv'}: {result['rows']} rows in {result['seconds']:.2f} s\n")
    for kind in ("person", "company"):
        s = result[kind]
        out.write(
            f"  {kind:8s} pairwise precision {s['precision']:.4f}  recall {s['recall']:.4f}  F1 {s['f1']:.4f}"
            f"  ({s['found_pairs']} found / {s['true_pairs']} true pairs)\n"
        )
    return result


if __name__ == "__main__":
    main()
