"""The follow-up family over JSON: what every record's API shows of its activities and how it logs one.

Each record's app writes its two thin routes (`GET`/`POST .../{id}/activities`) with these schemas, after
reading the record through its own visibility; logging goes through `activity_log`, as on the pages.
"""

from datetime import datetime

from ninja import Field, Schema

from closeloop.core.apischema import IsoDateTime
from closeloop.core.models import Channel
from closeloop.core.pagination import ApiPage

from .models import Activity, ActivityKind
from .services import activity_log


class ActivityIn(Schema):
    kind: ActivityKind
    content: str = Field(..., min_length=1, max_length=5000)
    feedback: str = Field("", max_length=5000)
    next_plan: str = Field("", max_length=1000)
    next_follow_up_at: IsoDateTime | None = None


class ActivityOut(Schema):
    id: int
    kind: str
    content: str
    feedback: str
    next_plan: str
    next_follow_up_at: datetime | None
    created_at: datetime
    actor: str | None = Field(None, description="Username of who logged it; null for the system (a duplicate's touch).")
    channel: str = Field("", description="Where it was logged: web, api, import, form or system.")

    @staticmethod
    def resolve_actor(obj):
        return obj.actor.username if obj.actor_id else None


class ActivityPage(ApiPage):
    items: list[ActivityOut]


def activities_of(record):
    """A record's activities, newest first (the record was read through its visibility by the caller)."""
    return Activity.objects.for_record(record).select_related("actor").order_by("-created_at", "-id")


def activity_log_api(request, record, payload: ActivityIn) -> Activity:
    """Log a follow-up sent through the API on a record the caller may see (the service checks the right)."""
    return activity_log(actor=request.user, data=payload.model_dump(), channel=Channel.API, record=record)
