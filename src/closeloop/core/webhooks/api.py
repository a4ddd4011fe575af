"""Webhook subscriptions over JSON (administrators only; anyone else gets 403 on every route): the events there are,
the subscriptions (the secret shown once, when created or rotated), their delivery log, and replaying a delivery,
through the settings pages' services, address guard and audit."""

import uuid
from datetime import datetime

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from ..apischema import StrictBool
from ..errors import ErrorOut, Forbidden, NotFound, invalid
from ..models import Channel
from ..pagination import ApiPage, PageParams, api_page
from . import services
from .events import EVENTS, TEST_EVENT, groups, label
from .models import SubscriptionStatus, WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription

router = Router(tags=["webhooks"])

ADMIN_ONLY = "Administrators only (403 for anyone else)."


def _require_admin(request) -> None:
    if not request.user.is_admin:
        raise Forbidden(_("Only administrators can manage webhooks."))


class EventOut(Schema):
    code: str = Field(description="What a subscription's `events` lists, e.g. lead.created.")
    label: str
    group: str = Field(description="The part of the loop that sends it.")


class SubscriptionOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    status: str = Field(description="active or paused (by an administrator, or after failing again and again).")
    secret_hint: str = Field(description="The secret's start and end; the whole secret is shown only when the "
                             "subscription is created or its secret rotated.")
    failure_streak: int = Field(description="Failed attempts in a row.")
    paused_at: datetime | None
    paused_reason: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_secret_hint(obj):
        return obj.masked_secret


class SubscriptionWithSecretOut(SubscriptionOut):
    secret: str = Field(description="Verify each delivery's X-Closeloop-Signature with it. Shown this once.")


class SubscriptionIn(Schema):
    name: str = Field(..., min_length=1, max_length=100, description="The system that receives the events.")
    url: str = Field(..., min_length=1, max_length=500, description="An https:// address on the internet (hosts in "
                     "CLOSELOOP_ROBOT_EXTRA_HOSTS aside) that answers 2xx when it took the event.")
    events: list[str] = Field(..., min_length=1, max_length=100, description="Event codes (GET /api/webhooks/events).")


class SubscriptionPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    url: str | None = Field(None, min_length=1, max_length=500)
    events: list[str] | None = Field(None, min_length=1, max_length=100)
    active: StrictBool | None = Field(None, description="false pauses it (events are kept and wait), true resumes it "
                                      "(what waited is sent, oldest first).")


class DeliveryOut(Schema):
    id: int
    subscription_id: int
    event: str
    event_label: str
    event_id: uuid.UUID = Field(description="The body's id: a replay sends the same.")
    record_type: str
    record_id: int | None
    occurred_at: datetime
    status: str = Field(description="pending, sending, delivered or failed (given up after the last attempt).")
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    response_status: int | None
    response_excerpt: str
    duration_ms: int | None
    error: str
    replay_of_id: int | None
    is_test: bool
    created_at: datetime

    @staticmethod
    def resolve_event_label(obj):
        return label(obj.event)


class DeliveryDetailOut(DeliveryOut):
    body: str = Field(description="Exactly the bytes signed and sent (empty until built, right after the commit).")


class DeliveryPage(ApiPage):
    items: list[DeliveryOut]


class DeliveryParams(PageParams):
    status: str = Field("", max_length=10, description="pending, sending, delivered or failed.")
    event: str = Field("", max_length=60)


def _subscription(request, subscription_id: int) -> WebhookSubscription:
    _require_admin(request)
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound(_("No webhook subscription with this id."))
    return subscription


def _delivery(request, delivery_id: int) -> WebhookDelivery:
    _require_admin(request)
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(_("No webhook delivery with this id."))
    return delivery


@router.get("/events", response={200: list[EventOut], 401: ErrorOut, 403: ErrorOut},
            summary="The events a subscription may hear", description=ADMIN_ONLY)
def list_events(request):
    _require_admin(request)
    return [{"code": event.code, "label": str(event.label), "group": str(group)}
            for group, events in groups() for event in events]


@router.get("/", response={200: list[SubscriptionOut], 401: ErrorOut, 403: ErrorOut},
            summary="List the webhook subscriptions", description=ADMIN_ONLY)
def list_subscriptions(request):
    _require_admin(request)
    return list(WebhookSubscription.objects.order_by("name", "id"))


@router.post("/", response={201: SubscriptionWithSecretOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
             summary="Subscribe an endpoint to events",
             description=f"{ADMIN_ONLY} The answer holds the signing secret, shown this once. An address that is not "
             "https, or resolves to a loopback, private or link-local address, is refused (422 naming `url`).")
def create_subscription(request, payload: SubscriptionIn):
    _require_admin(request)
    subscription = services.webhook_subscription_save(actor=request.user, data=payload.model_dump(),
                                                      channel=Channel.API)
    return Status(201, subscription)


@router.get("/{subscription_id}", response={200: SubscriptionOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
            summary="Read a webhook subscription", description=ADMIN_ONLY)
def read_subscription(request, subscription_id: int):
    return _subscription(request, subscription_id)


@router.patch("/{subscription_id}", response={200: SubscriptionOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                              422: ErrorOut},
              summary="Change a subscription: name, address, events, paused or active",
              description=f"{ADMIN_ONLY} Each field only when sent; `active` as it already is changes nothing.")
def update_subscription(request, subscription_id: int, payload: SubscriptionPatch):
    subscription = _subscription(request, subscription_id)
    data = {key: value for key, value in payload.model_dump(exclude_unset=True).items() if value is not None}
    active = data.pop("active", None)
    if data:
        subscription = services.webhook_subscription_save(actor=request.user, data=data, subscription=subscription,
                                                          channel=Channel.API)
    if active is not None and active != (subscription.status == SubscriptionStatus.ACTIVE):
        switch = services.webhook_subscription_resume if active else services.webhook_subscription_pause
        subscription = switch(actor=request.user, subscription=subscription, channel=Channel.API)
    return _subscription(request, subscription_id)


@router.post("/{subscription_id}/rotate-secret", response={200: SubscriptionWithSecretOut, 401: ErrorOut,
                                                           403: ErrorOut, 404: ErrorOut},
             summary="Give a subscription a new secret",
             description=f"{ADMIN_ONLY} Deliveries are signed with the new secret from now on; it is shown this once.")
def rotate_secret(request, subscription_id: int):
    subscription = _subscription(request, subscription_id)
    return services.webhook_subscription_rotate_secret(actor=request.user, subscription=subscription,
                                                       channel=Channel.API)


@router.delete("/{subscription_id}", response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
               summary="Delete a subscription with its delivery log", description=ADMIN_ONLY)
def delete_subscription(request, subscription_id: int):
    services.webhook_subscription_delete(actor=request.user, subscription=_subscription(request, subscription_id),
                                         channel=Channel.API)
    return Status(204, None)


@router.get("/{subscription_id}/deliveries", response={200: DeliveryPage, 401: ErrorOut, 403: ErrorOut,
                                                       404: ErrorOut, 422: ErrorOut},
            summary="A subscription's delivery log, newest first",
            description=f"{ADMIN_ONLY} Finished deliveries are kept CLOSELOOP_WEBHOOK_LOG_DAYS days (30 by default).")
def list_deliveries(request, subscription_id: int, params: Query[DeliveryParams]):
    deliveries = _subscription(request, subscription_id).deliveries.order_by("-id")
    if params.status:
        if params.status not in WebhookDeliveryStatus.values:
            raise invalid("status", _("Give pending, sending, delivered or failed."))
        deliveries = deliveries.filter(status=params.status)
    if params.event:
        if params.event not in EVENTS and params.event != TEST_EVENT:
            raise invalid("event", _("There is no such event."))
        deliveries = deliveries.filter(event=params.event)
    return api_page(deliveries, page=params.page, page_size=params.page_size)


@router.get("/deliveries/{delivery_id}", response={200: DeliveryDetailOut, 401: ErrorOut, 403: ErrorOut,
                                                   404: ErrorOut},
            summary="Read a delivery with the body it sends", description=ADMIN_ONLY)
def read_delivery(request, delivery_id: int):
    return _delivery(request, delivery_id)


@router.post("/deliveries/{delivery_id}/replay", response={201: DeliveryOut, 401: ErrorOut, 403: ErrorOut,
                                                           404: ErrorOut, 409: ErrorOut},
             summary="Send a delivery's event again",
             description=f"{ADMIN_ONLY} A new delivery with the same event id and body, signed anew and queued (to "
             "a paused subscription it goes when resumed). A test event is not replayed (409).")
def replay_delivery(request, delivery_id: int):
    delivery = _delivery(request, delivery_id)
    return Status(201, services.webhook_delivery_replay(actor=request.user, delivery=delivery, channel=Channel.API))
