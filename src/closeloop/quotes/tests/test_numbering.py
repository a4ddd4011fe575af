"""Document numbers: the pattern, the yearly restart, and no gaps when a document is rolled back."""

from datetime import date

import pytest
from django.db import transaction

from closeloop.quotes.numbering import next_number, pattern_problem, render


def test_it_renders_patterns():
    assert render("BJ-{YYYY}-{NNNN}", date(2026, 3, 9), 7) == "BJ-2026-0007"
    assert render("HT{YY}{MM}-{NNN}", date(2026, 3, 9), 12) == "HT2603-012"
    assert render("Q-{NN}", date(2026, 3, 9), 123) == "Q-123"  # grows past its width rather than wrap
    assert pattern_problem("BJ-{YYYY}") == "no_counter"
    assert pattern_problem("BJ-{YYYY}-{NNNN}") is None


@pytest.mark.django_db
def test_it_counts_per_year_without_gaps():
    first = next_number(series="quote", pattern="BJ-{YYYY}-{NNNN}", day=date(2026, 12, 31))
    with pytest.raises(RuntimeError), transaction.atomic():
        next_number(series="quote", pattern="BJ-{YYYY}-{NNNN}", day=date(2026, 12, 31))
        raise RuntimeError("the document failed to save")
    second = next_number(series="quote", pattern="BJ-{YYYY}-{NNNN}", day=date(2026, 12, 31))
    new_year = next_number(series="quote", pattern="BJ-{YYYY}-{NNNN}", day=date(2027, 1, 1))
    other_series = next_number(series="contract", pattern="HT-{YYYY}-{NNNN}", day=date(2026, 12, 31))
    assert (first, second, new_year, other_series) == ("BJ-2026-0001", "BJ-2026-0002", "BJ-2027-0001", "HT-2026-0001")
