"""Settings → 数据推送 (administrators only; for anyone else the pages do not exist)."""

import json

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..errors import DomainError, form_errors_from
from ..pagination import paginate, query_without_page
from ..views import admin_required
from . import services
from .events import EVENTS, label
from .forms import WebhookSubscriptionForm
from .models import WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription


@admin_required
def webhook_list(request):
    subscriptions = WebhookSubscription.objects.all()
    return render(request, "core/webhooks/list.html", {"subscriptions": subscriptions})


def _secret_page(request, subscription, *, created: bool):
    """The one time the whole secret is shown: not kept in the session or a message cookie."""
    return render(request, "core/webhooks/secret.html", {"subscription": subscription, "created": created})


@admin_required
@require_http_methods(["GET", "POST"])
def webhook_edit(request, pk=None):
    subscription = get_object_or_404(WebhookSubscription, pk=pk) if pk else None
    form = WebhookSubscriptionForm(request.POST or None, instance=subscription)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.webhook_subscription_save(actor=request.user, data=form.cleaned_data,
                                                       subscription=subscription)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            if subscription is None:
                return _secret_page(request, saved, created=True)
            messages.success(request, _("Webhook %(name)s saved.") % {"name": saved})
            return redirect("webhook_edit", pk=saved.pk)
    recent = subscription.deliveries.all()[:10] if subscription else []
    return render(request, "core/webhooks/form.html", {"form": form, "edited": subscription, "recent": recent})


@admin_required
@require_POST
def webhook_rotate(request, pk):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    subscription = services.webhook_subscription_rotate_secret(actor=request.user, subscription=subscription)
    return _secret_page(request, subscription, created=False)


@admin_required
@require_POST
def webhook_pause(request, pk):
    return _switch(request, pk, services.webhook_subscription_pause, _("Webhook %(name)s paused."))


@admin_required
@require_POST
def webhook_resume(request, pk):
    return _switch(request, pk, services.webhook_subscription_resume,
                   _("Webhook %(name)s resumed; waiting events are being sent."))


def _switch(request, pk, service, done):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    try:
        service(actor=request.user, subscription=subscription)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"name": subscription})
    return redirect("webhook_edit", pk=pk)


@admin_required
@require_POST
def webhook_test(request, pk):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    delivery = services.webhook_send_test(actor=request.user, subscription=subscription)
    if delivery.status == WebhookDeliveryStatus.DELIVERED:
        messages.success(request, _("The endpoint took the test event (HTTP %(status)s).")
                         % {"status": delivery.response_status})
    else:
        messages.error(request, _("The test event was not accepted: %(error)s") % {"error": delivery.error})
    return redirect("webhook_delivery", pk=delivery.pk)


@admin_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request, pk):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    if request.method == "POST":
        services.webhook_subscription_delete(actor=request.user, subscription=subscription)
        messages.success(request, _("Webhook %(name)s deleted.") % {"name": subscription})
        return redirect("webhook_list")
    return render(request, "core/webhooks/confirm_delete.html", {"subscription": subscription})


@admin_required
def webhook_deliveries(request):
    """The delivery log, newest first, filtered by subscription, status and event."""
    deliveries = WebhookDelivery.objects.select_related("subscription")
    chosen = {"subscription": request.GET.get("subscription", ""), "status": request.GET.get("status", ""),
              "event": request.GET.get("event", "")}
    if chosen["subscription"].isdigit() and len(chosen["subscription"]) < 19:
        deliveries = deliveries.filter(subscription_id=int(chosen["subscription"]))
    if chosen["status"] in WebhookDeliveryStatus.values:
        deliveries = deliveries.filter(status=chosen["status"])
    if chosen["event"] in EVENTS or chosen["event"] == "webhook.test":
        deliveries = deliveries.filter(event=chosen["event"])
    page = paginate(request, deliveries, per_page=50)
    for delivery in page["rows"]:
        delivery.event_label = label(delivery.event)
    return render(request, "core/webhooks/deliveries.html", {
        "page": page, "chosen": chosen, "query": query_without_page(request),
        "subscriptions": WebhookSubscription.objects.all(), "statuses": WebhookDeliveryStatus.choices,
        "events": [(code, event.label) for code, event in EVENTS.items()],
    })


@admin_required
def webhook_delivery(request, pk):
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("subscription"), pk=pk)
    try:
        body = json.dumps(json.loads(delivery.body), ensure_ascii=False, indent=2)
    except ValueError:
        body = delivery.body
    return render(request, "core/webhooks/delivery.html", {"delivery": delivery, "body": body,
                                                           "event_label": label(delivery.event)})


@admin_required
@require_POST
def webhook_replay(request, pk):
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        replay = services.webhook_delivery_replay(actor=request.user, delivery=delivery)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("webhook_delivery", pk=pk)
    messages.success(request, _("The event is queued to be sent again."))
    return redirect("webhook_delivery", pk=replay.pk)
