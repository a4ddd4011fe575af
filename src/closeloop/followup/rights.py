"""Who may act on a record, beside who may see it.

Seeing is `visible_to` (core/visibility.py and each model's rule): the owner, the owner's managers up the
tree, participants, and the receiver of an open hand-off. Acting is narrower, and decided here once for
every record type of the follow-up family, so the page, the API, imports and jobs obey the same rule:

- the owner, the managers over the owner's department, and administrators may do everything;
- a sales participant (a colleague who sells with the owner, or the previous owner kept on) may edit the
  record and follow it up;
- any other participant (pre-sales, product, finance, service) may follow it up: log activities, comment;
- the receiver of a pending hand-off may only answer it (handoff_respond checks that it is theirs);
- everyone else who happens to see the record (marketing on its own source channels) acts on nothing.

Services call `require(actor, record, Act...)`; a page asks `may(...)` to hide a button it would refuse.
"""

from enum import StrEnum

from django.utils.translation import gettext as _

from closeloop.core.errors import Forbidden
from closeloop.core.models import Role
from closeloop.core.visibility import team_owner_ids

from .models import Participant, ParticipantRole


class Act(StrEnum):
    EDIT = "edit"  # change the record's own fields: amount, dates, stage, status
    FOLLOW_UP = "follow_up"  # log an activity, comment
    MANAGE = "manage"  # decide who takes part: add or remove participants, hand tasks off


# What a participant's role lets them do; the owner's side (owner, managers, admins) may do every act.
PARTICIPANT_ACTS = {
    ParticipantRole.SALES: {Act.EDIT, Act.FOLLOW_UP},
}
PARTICIPANT_DEFAULT_ACTS = {Act.FOLLOW_UP}

def is_owner_side(user, record) -> bool:
    """The owner, a manager over the owner's department, or an administrator."""
    if user.is_admin:
        return True
    owner_id = getattr(record, "owner_id", None)
    if owner_id is not None and owner_id == user.pk:
        return True
    if user.role != Role.SALES_MANAGER:
        return False
    # A record in the pool has no owner; the managers distribute it.
    return owner_id is None or owner_id in team_owner_ids(user)


def participant_role(user, record) -> str | None:
    return Participant.objects.for_record(record).filter(user=user).values_list("role", flat=True).first()


def may(user, record, act: Act) -> bool:
    if user is None or (user.pk is None and not user.is_authenticated):
        # A job or a system step (a rule someone with the right configured), or the customer answering a
        # quote through its public link (the link's key is their right).
        return True
    if not user.is_active:
        return False
    if is_owner_side(user, record):
        return True
    role = participant_role(user, record)
    if role is None:
        return False
    return act in PARTICIPANT_ACTS.get(role, PARTICIPANT_DEFAULT_ACTS)


def require(user, record, act: Act) -> None:
    """Raise Forbidden (403) unless `user` may do `act` on `record`; the message says who may."""
    if may(user, record, act):
        return
    if act == Act.MANAGE:
        message = _("Only the owner of %(record)s, their manager or an administrator can change who works on it.")
    elif act == Act.EDIT:
        message = _("Only the owner of %(record)s, their manager, a sales collaborator or an administrator can "
                    "change it.")
    else:
        message = _("Only the owner of %(record)s, their manager or its collaborators can follow it up.")
    raise Forbidden(message % {"record": record})
