"""Satisfaction surveys over JSON: the surveys you may see, and CSAT/NPS by customer, account owner, product or
period for dashboards and reports (the same selector as the customer page). Read-only: surveys are sent by the
events that ask for them and answered on the customer's link."""

from datetime import date, datetime
from typing import Literal

from ninja import Field, Query, Router, Schema

from closeloop.contracts.api import CustomerOut, PersonOut
from closeloop.core.apischema import IsoDate, QueryBool
from closeloop.core.errors import ErrorOut
from closeloop.core.pagination import ApiPage, SyncParams, api_list

from .models import Survey
from .selectors import PERIODS, SATISFACTION_GROUPS, answered_surveys, satisfaction

router = Router()
# Report days are held within these: a midnight far outside would not convert between time zones, and no answer
# lies there anyway.
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)


class SurveyOut(Schema):
    id: int
    customer: CustomerOut
    ticket_id: int | None = Field(None, description="The resolved ticket it asks about, or")
    delivery_id: int | None = Field(None, description="the accepted delivery.")
    owner: PersonOut | None = Field(None, description="The account owner when it was sent.")
    product_id: int | None
    sent_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    csat: int | None = Field(None, description="1–5, once answered.")
    nps: int | None = Field(None, description="0–10, once answered.")
    comment: str
    low_score: bool = Field(description="CSAT ≤ 2 or NPS ≤ 6: call-back tasks were opened.")
    updated_at: datetime


class SurveyPage(ApiPage):
    items: list[SurveyOut]


class SurveyParams(SyncParams):
    customer_id: int | None = Field(None, ge=1, le=2**63 - 1)
    answered: QueryBool | None = None
    page: int = Field(1, ge=1, le=100_000, description="Ignored when syncing.")
    page_size: int = Field(25, ge=1, le=200)


class SatisfactionParams(Schema):
    by: Literal[SATISFACTION_GROUPS] = "customer"
    start: IsoDate | None = Field(None, description="First local day of answers counted.")
    end: IsoDate | None = Field(None, description="Last local day of answers counted (after the start, or no rows).")
    period: Literal[tuple(PERIODS)] = Field("month", description="With by=period: week, month or quarter.")


class SatisfactionRow(Schema):
    key: int | date | None = Field(description="The customer's, owner's or product's id, or the period's first day.")
    label: str
    answered: int
    csat: float | None = Field(description="Average CSAT, one decimal.")
    nps: int | None = Field(description="Promoters (9–10) minus detractors (0–6), in % of the answers.")
    promoters: int
    passives: int
    detractors: int


@router.get("/", response={200: SurveyPage, 401: ErrorOut, 422: ErrorOut}, summary="List the surveys you can see")
def list_surveys(request, params: Query[SurveyParams]):
    rows = Survey.objects.visible_to(request.user).select_related("customer", "owner")
    if params.customer_id is not None:
        rows = rows.filter(customer_id=params.customer_id)
    if params.answered is not None:
        rows = rows.filter(answered_at__isnull=not params.answered)
    return api_list(rows.order_by("-sent_at", "-id"), params, caller=request.user)


@router.get("/satisfaction", response={200: list[SatisfactionRow], 401: ErrorOut, 422: ErrorOut},
            summary="CSAT and NPS by customer, owner, product or period",
            description="Over the answered surveys you may see (a rep: their customers'; a manager: their team's).")
def survey_satisfaction(request, params: Query[SatisfactionParams]):
    start = min(max(params.start, EARLIEST), LATEST) if params.start else None
    end = min(max(params.end, EARLIEST), LATEST) if params.end else None
    return satisfaction(user=request.user, by=params.by, period=params.period,
                        surveys=answered_surveys(user=request.user, start=start, end=end))
