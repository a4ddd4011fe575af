"""Document numbers from a pattern (BJ-{YYYY}-{NNNN} → BJ-2026-0001), without gaps, safe under concurrency.

The counter row of a series and period is locked (SELECT ... FOR UPDATE; on SQLite the write lock) and
advanced inside the caller's transaction: a rolled-back document gives its number back, and two documents
made at the same moment wait for each other rather than share a number. Contracts number the same way.
"""

import re
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import NumberSequence

_TOKEN = re.compile(r"\{(YYYY|YY|MM|N+)\}")


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern cannot number documents, or None."""
    if not re.search(r"\{N+\}", pattern):
        return "no_counter"
    if len(render(pattern, date(2026, 12, 31), 10 ** 6)) > 40:
        return "too_long"
    return None


def period_of(pattern: str, day: date) -> str:
    """The counter restarts each period the pattern shows: monthly with {MM}, yearly with a year, else never."""
    if "{MM}" in pattern:
        return f"{day:%Y%m}"
    if "{YYYY}" in pattern or "{YY}" in pattern:
        return f"{day:%Y}"
    return "all"


def render(pattern: str, day: date, value: int) -> str:
    def token(match: re.Match) -> str:
        name = match.group(1)
        if name == "YYYY":
            return f"{day:%Y}"
        if name == "YY":
            return f"{day:%y}"
        if name == "MM":
            return f"{day:%m}"
        return str(value).zfill(len(name))

    return _TOKEN.sub(token, pattern)


def next_number(*, series: str, pattern: str, day: date | None = None) -> str:
    """The next number of `series`; call it inside the transaction that saves the document."""
    day = day or timezone.localdate()
    period = period_of(pattern, day)
    with transaction.atomic():
        counter = NumberSequence.objects.select_for_update().filter(series=series, period=period).first()
        if counter is None:
            try:
                with transaction.atomic():
                    counter = NumberSequence.objects.create(series=series, period=period)
            except IntegrityError:
                # Another transaction created the row first and has committed: lock theirs.
                counter = NumberSequence.objects.select_for_update().get(series=series, period=period)
        counter.last_value += 1
        counter.save(update_fields=["last_value"])
    return render(pattern, day, counter.last_value)
