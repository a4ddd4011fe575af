"""The follow-up family's audit actions: the codes its services write to the trail, with their timeline labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FollowupAction(models.TextChoices):
    ACTIVITY_LOG = "activity.log", _("Follow-up logged")
    PARTICIPANT_ADD = "participant.add", _("Collaborator added")
    PARTICIPANT_REMOVE = "participant.remove", _("Collaborator removed")
    COMMENT_ADD = "comment.add", _("Comment added")
    HANDOFF_REQUEST = "handoff.request", _("Hand-off requested")
    HANDOFF_ACCEPTED = "handoff.accepted", _("Hand-off accepted")
    HANDOFF_DECLINED = "handoff.declined", _("Hand-off declined")
    HANDOFF_DONE = "handoff.done", _("Hand-off done")
    TAGS_SET = "tags.set", _("Tags changed")
    TAG_SAVE = "tag.save", _("Tag defined")
    TAG_DELETE = "tag.delete", _("Tag deleted")
    ACTIVITY_TEMPLATE_SAVE = "activity_template.save", _("Follow-up template set")
    ACTIVITY_TEMPLATE_DELETE = "activity_template.delete", _("Follow-up template removed")
    # Written on deals before collaborators were the participants of any record; kept for those entries' labels.
    OPPORTUNITY_COLLABORATOR_ADD = "opportunity.collaborator_add", _("Collaborator added")
    OPPORTUNITY_COLLABORATOR_REMOVE = "opportunity.collaborator_remove", _("Collaborator removed")
