"""Rule-based lead scoring. Filled in by the lead-quality work (issue #3)."""


def score_lead(lead) -> None:
    """Set `lead.score` and `lead.grade` (and the explanation) before it is saved."""
    return None
