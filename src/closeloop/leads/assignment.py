"""Who owns a new lead. The lead-quality work (issue #3) adds assignment rules and the pool."""

from django.utils import timezone

from closeloop.core.models import Channel

from .models import LeadStatus

OWNER_ROLES = {"sales_rep", "sales_manager", "admin"}


def can_own(user) -> bool:
    return bool(user and user.pk and user.is_active and user.role in OWNER_ROLES)


def assign_new_lead(*, lead, channel: str, actor, data: dict) -> None:
    """A rep entering a lead by hand keeps it; other channels leave it unassigned for now."""
    wants_it = data.get("assign_to_me", channel == Channel.WEB)
    if wants_it and can_own(actor):
        lead.owner = actor
        lead.status = LeadStatus.ASSIGNED
        lead.assigned_at = timezone.now()
