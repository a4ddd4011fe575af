"""Duplicate detection quality on the labelled dev list in shared/data/dedup (the budget in DESIGN.md)."""

from bench.dedup_quality import DATA_DIR, measure


def test_it_reaches_the_f1_targets_on_the_dev_list():
    assert (DATA_DIR / "leads-dev.csv").exists(), f"the labelled list is expected at {DATA_DIR}"
    result = measure()
    assert result["person"]["f1"] >= 0.98
    assert result["company"]["f1"] >= 0.95
