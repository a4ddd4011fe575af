"""Lead reads. Every one starts from `Lead.objects.visible_to(user)`."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from closeloop.core.audit import audit_trail

from . import normalize
from .models import Lead

SORTS = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "company_name": ("company_name", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "next_follow_up_at": ("next_follow_up_at", "id"),
}


@dataclass
class LeadFilters:
    q: str = ""
    status: str = ""
    owner: str = ""  # a user id, "me" or "none"
    source: str = ""
    created_from: str = ""
    created_to: str = ""
    sort: str = "-created_at"


def lead_list(*, user, filters: LeadFilters):
    leads = Lead.objects.visible_to(user).select_related("owner", "source")
    if filters.q:
        leads = leads.filter(_search(filters.q))
    if filters.status:
        leads = leads.filter(status=filters.status)
    if filters.owner == "me":
        leads = leads.filter(owner=user)
    elif filters.owner == "none":
        leads = leads.filter(owner__isnull=True)
    elif filters.owner.isdigit():
        leads = leads.filter(owner_id=int(filters.owner))
    if filters.source.isdigit():
        leads = leads.filter(source_id=int(filters.source))
    # Day bounds as datetimes in the current time zone: `created_at__date` wraps the column in a
    # function, which no index serves (a full scan, ~1 s per query on a million leads).
    if start := _day_start(filters.created_from):
        leads = leads.filter(created_at__gte=start)
    if end := _day_start(filters.created_to, days_after=1):
        leads = leads.filter(created_at__lt=end)
    return leads.order_by(*SORTS.get(filters.sort, SORTS["-created_at"]))


def _day_start(text: str, *, days_after: int = 0) -> datetime | None:
    """Midnight (local time) of an ISO date, `days_after` days later; None when blank or not a date."""
    try:
        day = date.fromisoformat(text) + timedelta(days=days_after) if text else None
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, time.min)) if day else None


def _search(text: str) -> Q:
    """Search by what a person types: a phone in any format, an email, or part of a name."""
    text = text.strip()
    condition = Q(company_name__icontains=text) | Q(contact_name__icontains=text)
    if phone := normalize.phone_key(text):
        condition |= Q(mobile_key=phone) | Q(landline_key=phone)
    if email := normalize.email_key(text):
        condition |= Q(email_key=email)
    if len(text) == 18:
        condition |= Q(credit_code=normalize.credit_code_key(text))
    return condition


def get_lead_for_user(user, pk) -> Lead:
    """The lead if this user may see it; 404 for missing and not-visible alike."""
    lead = Lead.objects.visible_to(user).select_related("owner", "source", "campaign", "created_by").filter(pk=pk).first()
    if lead is None:
        raise Http404
    return lead


def lead_timeline(lead: Lead):
    return audit_trail(lead)[:200]


def page_of(queryset, *, page: int, per_page: int = 25):
    """One page without COUNT(*): counting a million visible rows costs more than the page itself."""
    page = max(1, page)
    rows = list(queryset[(page - 1) * per_page: page * per_page + 1])
    return {
        "rows": rows[:per_page],
        "number": page,
        "has_previous": page > 1,
        "has_next": len(rows) > per_page,
        "previous": page - 1,
        "next": page + 1,
    }


def get_import_for_user(user, pk):
    """An import job for its uploader or an admin; 404 for everyone else, as for missing ones."""
    from .models import ImportJob

    job = ImportJob.objects.visible_to(user).select_related("default_source", "created_by").filter(pk=pk).first()
    if job is None:
        raise Http404
    return job
