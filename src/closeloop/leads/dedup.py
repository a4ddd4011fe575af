"""Duplicate detection on intake. Filled in by the lead-quality work (issue #3).

`check_intake` is called by `lead_submit` inside its transaction, before the lead is saved.
"""

from dataclasses import dataclass, field


@dataclass
class DuplicateDecision:
    """What intake should do with a submission that matches existing records."""

    matches: list = field(default_factory=list)  # existing leads/customers, best first, each with its reasons
    action: str = "create"  # "create", "create_flagged", "attach" (touch on existing) or "refuse"
    existing: object = None  # the record a touch attaches to


def check_intake(*, lead, channel: str, actor) -> DuplicateDecision:
    return DuplicateDecision()
