"""The daily summary: at 08:30 (site time) each person with events waiting in SummaryItem gets one mail listing
them by kind, instead of one message per event. Idempotent: one summary per person and day (the delivery's
unique key), and the items a summary lists are marked in the same transaction, so a second run sends nothing
and a late one sends what waited."""

from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import DeliveryChannel, NotificationDelivery, SummaryItem
from .notify import absolute_url, enqueue_deliveries, kind_label

SUMMARY_KIND = "notification.summary"
# A summary lists this many events of a kind; the rest are counted (the app's lists hold them all).
LINES_PER_KIND = 10


def summaries_send(*, now=None) -> int:
    """Mail each person their waiting events in one summary; returns how many summaries were queued."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    recipients = (SummaryItem.objects.filter(summarized_at__isnull=True, created_at__lte=now)
                  .values_list("recipient", flat=True).distinct().order_by("recipient"))
    keys = []
    for recipient_id in list(recipients):
        key = f"{recipient_id}:summary:{day.isoformat()}"
        with transaction.atomic():
            if NotificationDelivery.objects.filter(key=key).exists():
                continue  # today's summary went out; what came after it waits for tomorrow's
            # Only the items are locked: FOR UPDATE over the join would hold the person's user row as well,
            # stalling a login (last_login) or a profile save on PostgreSQL until this commits.
            items = list(SummaryItem.objects.select_for_update(of=("self",)).select_related("recipient")
                         .filter(recipient_id=recipient_id, summarized_at__isnull=True, created_at__lte=now))
            if not items:
                continue
            recipient = items[0].recipient
            if recipient.is_active and recipient.email:
                NotificationDelivery.objects.create(
                    key=key, channel=DeliveryChannel.EMAIL, recipient=recipient, kind=SUMMARY_KIND,
                    subject=ngettext("Your daily summary: %(count)d event", "Your daily summary: %(count)d events",
                                     len(items)) % {"count": len(items)},
                    body=summary_text(items), url=absolute_url("/"))
                keys.append(key)
            # Without a mailbox (or gone) the items are done all the same: they would only pile up.
            SummaryItem.objects.filter(pk__in=[item.pk for item in items]).update(summarized_at=now)
    if keys:
        transaction.on_commit(lambda: enqueue_deliveries(keys))
    return len(keys)


def summary_text(items: list[SummaryItem]) -> str:
    """The mail's body: each kind with its count, then its events (newest first) and their links."""
    by_kind: dict[str, list[SummaryItem]] = defaultdict(list)
    for item in items:
        by_kind[item.kind].append(item)
    blocks = []
    for kind, events in sorted(by_kind.items(), key=lambda pair: -len(pair[1])):
        lines = [f"{kind_label(kind)} ({len(events)})"]
        for event in sorted(events, key=lambda e: (e.created_at, e.pk), reverse=True)[:LINES_PER_KIND]:
            when = timezone.localtime(event.created_at).strftime("%m-%d %H:%M")
            link = f"  {absolute_url(event.url)}" if event.url else ""
            lines.append(f"- {when} {event.message}{link}")
        if len(events) > LINES_PER_KIND:
            lines.append(_("… and %(count)d more") % {"count": len(events) - LINES_PER_KIND})
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
