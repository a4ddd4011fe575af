"""Who sees a record because of the follow-up family: its participants, and the receiver of a hand-off on it
while the hand-off is open (they must see the record to accept or decline it). Record querysets OR this
into their own visibility rule."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from .models import Handoff, HandoffStatus, Participant


def involved(user, model) -> Q:
    """`pk IN (records of `model` the user takes part in)`, as subqueries on the participant and hand-off indexes."""
    record_type = ContentType.objects.get_for_model(model)
    return (
        Q(pk__in=Participant.objects.filter(user=user, record_type=record_type).values("record_id"))
        # Only while the hand-off waits for an answer: accepting makes the receiver a participant, so
        # removing them (or their leaving) ends their access, and declining ends it at once.
        | Q(pk__in=Handoff.objects.filter(assignee=user, record_type=record_type, status=HandoffStatus.PENDING)
            .values("record_id"))
    )


def participating(user, model):
    """Ids (a subquery) of the records of `model` the user is a participant of."""
    return Participant.objects.filter(user=user, record_type=ContentType.objects.get_for_model(model)).values("record_id")
