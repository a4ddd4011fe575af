"""Pairwise precision, recall and F1 of duplicate clustering on labelled lead lists.

The lists come from `bench.dedup_gen` (the project's own generator, fixed seeds): the dev seeds are
the ones the engine was developed on, the held-out seeds were fixed before measuring and never used
to tune it. When the sample list in ../shared/data/dedup is present, its figure is reported too.
"""

import csv
import sys
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Lists of this many rows; each seed also draws its own mix of variations (see dedup_gen.Mix).
LIST_ROWS = 3000
DEV_SEEDS = (1, 2, 3, 4, 5)
HELD_OUT_SEEDS = (101, 202, 303, 404, 505)
TARGETS = {"person": 0.98, "company": 0.95}


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
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": len(true_pairs),
            "found_pairs": len(found_pairs), "hits": hits}


def score(rows: list[dict], labels: list[dict]) -> dict:
    """Cluster `rows` (the sample's columns) and score them against `labels` (entity_id, company_id by row)."""
    from closeloop.leads.dedup import cluster_rows, map_headers

    by_row = {label["row"]: label for label in labels}
    started = time.perf_counter()
    clusters = cluster_rows(rows, map_headers(list(rows[0])))
    seconds = time.perf_counter() - started
    ordered = [by_row[row["row"]] for row in rows]
    return {
        "rows": len(rows),
        "seconds": seconds,
        "person": pairwise_scores([r["entity_id"] for r in ordered], [c[0] for c in clusters]),
        "company": pairwise_scores([r["company_id"] for r in ordered], [c[1] for c in clusters]),
        "clusters": Counter(c[1] for c in clusters).__len__(),
    }


def measure(data_dir: Path = DATA_DIR, name: str = "dev") -> dict:
    """Score `leads-{name}.csv` against `labels-{name}.csv` in `data_dir` (the sample's format)."""
    with open(data_dir / f"leads-{name}.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(data_dir / f"labels-{name}.csv", encoding="utf-8-sig", newline="") as fh:
        labels = list(csv.DictReader(fh))
    return score(rows, labels)


def measure_generated(seed: int, rows: int = LIST_ROWS) -> dict:
    from bench.dedup_gen import generate

    return score(*generate(rows, seed=seed))


def pooled(results: list[dict]) -> dict:
    """Precision, recall and F1 over the pairs of several lists together."""
    out = {}
    for kind in ("person", "company"):
        true_pairs = sum(r[kind]["true_pairs"] for r in results)
        found_pairs = sum(r[kind]["found_pairs"] for r in results)
        hits = sum(r[kind]["hits"] for r in results)
        precision = hits / found_pairs if found_pairs else 1.0
        recall = hits / true_pairs if true_pairs else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[kind] = {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true_pairs,
                     "found_pairs": found_pairs, "hits": hits}
    return out


def _line(label: str, result: dict) -> str:
    parts = [f"  {label:<34}"]
    for kind in ("person", "company"):
        s = result[kind]
        parts.append(f"{kind} P {s['precision']:.4f} R {s['recall']:.4f} F1 {s['f1']:.4f}")
    return "  |  ".join(parts) + "\n"


def main() -> dict:
    """Print every list's figures; return the held-out pool (the budget's figure), dev pool and sample."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    django.setup()
    out = sys.stdout
    report: dict = {}
    for name, seeds in (("dev", DEV_SEEDS), ("held_out", HELD_OUT_SEEDS)):
        results = []
        for seed in seeds:
            result = measure_generated(seed)
            results.append(result)
            out.write(_line(f"generated {LIST_ROWS} rows, seed {seed} ({name})", result))
        report[name] = pooled(results)
        out.write(_line(f"generated, {name} seeds pooled", report[name]))
    if (DATA_DIR / "leads-dev.csv").exists():
        report["sample"] = measure()
        out.write(_line(f"sample list {DATA_DIR.name}/leads-dev.csv ({report['sample']['rows']} rows)", report["sample"]))
    else:
        out.write(f"  sample list: not present at {DATA_DIR}\n")
    out.flush()
    return report


if __name__ == "__main__":
    main()
