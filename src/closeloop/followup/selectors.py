"""Follow-up reads for a record page: every one starts from the record the viewer may see."""

from dataclasses import dataclass, field
from functools import cached_property

from django.http import Http404

from .forms import ActivityForm, HandoffForm, ParticipantForm
from .models import Handoff, Participant, Tag, TagLink
from .registry import model_for_name
from .rights import Act, may
from .timeline import record_timeline


def get_record_for_user(user, type_name: str, pk):
    """A record of any registered type ("lead", "customer", "opportunity") if the user may see it; else 404."""
    model = model_for_name(type_name)
    record = model.objects.visible_to(user).filter(pk=pk).first()
    if record is None:
        raise Http404
    return record


def record_of(row, user):
    """The record a follow-up row (a hand-off) belongs to, if the user may see it; else 404."""
    model = row.record_type.model_class()
    record = model.objects.visible_to(user).filter(pk=row.record_id).first() if model else None
    if record is None:
        raise Http404
    return record


@dataclass
class FollowUpPanel:
    """What a record page shows of the family: the timeline, people, hand-offs and the forms to add to them."""

    record: object
    timeline: list
    participants: list
    handoffs: list
    activity_form: ActivityForm = field(default_factory=ActivityForm)
    participant_form: ParticipantForm = field(default_factory=ParticipantForm)
    handoff_form: HandoffForm = field(default_factory=HandoffForm)
    # What the viewer may do (followup.rights), so the page offers only what the services would accept.
    may_edit: bool = True
    may_manage: bool = True

    @property
    def record_type(self) -> str:
        return self.record._meta.model_name

    # Read only by the pages that show tags (leads, customers, deals), so the others pay no query for them.
    @cached_property
    def tags(self) -> list:
        return [link.tag for link in TagLink.objects.for_record(self.record).select_related("tag").order_by("tag__name")]

    @cached_property
    def all_tags(self) -> list:
        return list(Tag.objects.all())


def follow_up_panel(record, *, viewer) -> FollowUpPanel:
    return FollowUpPanel(
        record=record,
        activity_form=ActivityForm(record=record),
        timeline=record_timeline(record, viewer=viewer),
        participants=list(Participant.objects.for_record(record).select_related("user")),
        handoffs=list(Handoff.objects.for_record(record).select_related("assignee", "requested_by")),
        may_edit=may(viewer, record, Act.EDIT),
        may_manage=may(viewer, record, Act.MANAGE),
    )


def comment_draft_key(record) -> str:
    """Where a refused comment waits in the session for the record page to show it again (once)."""
    return f"comment_draft:{record._meta.label_lower}:{record.pk}"
