"""Who may act on a record, beside who may see it.

Seeing is `visible_to` (core/visibility.py and each model's rule): the owner, the owner's managers up the
tree, participants, and the receiver of an open hand-off. Acting is narrower, and decided here once for
every record type of the follow-up family, so the page, the API, imports and jobs obey the same rule:

- the managers over the owner's department and administrators may do everything, overseeing included
  (transfer the record, take back an approved contract);
- the owner may do everything but oversee;
- a sales participant (a colleague who sells with the owner, or the previous owner kept on) may edit the
  record, follow it up and build its quotes and contracts;
- a pre-sales or product participant may follow it up and build its quotes (they design the solution);
- any other participant (finance, service) may follow it up: log activities, comment;
- the receiver of a pending hand-off may only answer it (handoff_respond checks that it is theirs);
- everyone else who happens to see the record (marketing on its own source channels) acts on nothing.

Services call `require(actor, record, Act...)`; a page asks `may(...)` to hide a button it would refuse.
Nobody outside this module writes a role check of their own: a new act is declared below, with who has it.
A job or a pipeline rule acts as the system (`actor=None`), which the caller's own right to act stood for.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from closeloop.core.errors import Forbidden
from closeloop.core.models import Role
from closeloop.core.visibility import team_owner_ids

from .models import Participant, ParticipantRole


class Act(StrEnum):
    EDIT = "edit"  # change the record's own fields: amount, dates, stage, status
    FOLLOW_UP = "follow_up"  # log an activity, comment
    MANAGE = "manage"  # decide who takes part: add or remove participants, hand tasks off
    QUOTE = "quote"  # build, send and answer a deal's quotes; draft its contract
    OVERSEE = "oversee"  # a manager's say over the owner: transfer, return or terminate an approved contract


# Who may do what: the owner's side by how they stand to the owner, participants by their role.
OVERSEER_ACTS = frozenset(Act)  # administrators, and managers over the owner's department
OWNER_ACTS = OVERSEER_ACTS - {Act.OVERSEE}
PARTICIPANT_ACTS = {
    ParticipantRole.SALES: frozenset({Act.EDIT, Act.FOLLOW_UP, Act.QUOTE}),
    ParticipantRole.PRESALES: frozenset({Act.FOLLOW_UP, Act.QUOTE}),
    ParticipantRole.PRODUCT: frozenset({Act.FOLLOW_UP, Act.QUOTE}),
}
PARTICIPANT_DEFAULT_ACTS = frozenset({Act.FOLLOW_UP})


def is_overseer(user, record) -> bool:
    """An administrator, or a manager over the owner's department (their own records included)."""
    return oversees(user, getattr(record, "owner_id", None))


def oversees(user, owner_id: int | None) -> bool:
    """An administrator, or a manager over the department of `owner_id` (themselves included): who may decide what
    that person owns."""
    if user.is_admin:
        return True
    if user.role != Role.SALES_MANAGER:
        return False
    # A record in the pool has no owner; the managers distribute it.
    return owner_id is None or owner_id in team_owner_ids(user)


def participant_role(user, record) -> str | None:
    return Participant.objects.for_record(record).filter(user=user).values_list("role", flat=True).first()


def acts_of(user, record, *, role=None, role_known: bool = False) -> frozenset:
    """Every act `user` may do on `record`. `role` is their participant role when the caller read it already
    (a list asks once for all its records, see `allowed`)."""
    if user is None:
        # A job or a system step (a rule someone with the right configured, a move a quote triggers).
        return OVERSEER_ACTS
    if not user.is_authenticated or not user.is_active:
        # Nobody signed in (the customer on a quote's public link acts through that link's own service).
        return frozenset()
    if is_overseer(user, record):
        return OVERSEER_ACTS
    owner_id = getattr(record, "owner_id", None)
    if owner_id is not None and owner_id == user.pk:
        return OWNER_ACTS
    if not role_known:
        role = participant_role(user, record)
    if role is None:
        return frozenset()
    return PARTICIPANT_ACTS.get(role, PARTICIPANT_DEFAULT_ACTS)


def may(user, record, act: Act) -> bool:
    return act in acts_of(user, record)


def allowed(user, records, act: Act) -> list:
    """Those of `records` (of one model) on which `user` may do `act`, with one query for the participants of
    them all instead of one per record (the pages that list what one may quote on or make a contract for)."""
    records = list(records)
    roles = {}
    if records and user is not None and user.is_authenticated:
        roles = dict(Participant.objects.for_records(type(records[0]), [record.pk for record in records])
                     .filter(user=user).values_list("record_id", "role"))
    return [record for record in records
            if act in acts_of(user, record, role=roles.get(record.pk), role_known=True)]


def require(user, record, act: Act) -> None:
    """Raise Forbidden (403) unless `user` may do `act` on `record`; the message says who may."""
    if may(user, record, act):
        return
    if act == Act.MANAGE:
        message = _("Only the owner of %(record)s, their manager or an administrator can change who works on it.")
    elif act == Act.EDIT:
        message = _("Only the owner of %(record)s, their manager, a sales collaborator or an administrator can "
                    "change it.")
    elif act == Act.QUOTE:
        message = _("Only the owner of %(record)s, their manager, a sales, pre-sales or product collaborator or an "
                    "administrator can work on its quotes and contracts.")
    elif act == Act.OVERSEE:
        message = _("Only a manager of the owner of %(record)s, or an administrator, can do this.")
    else:
        message = _("Only the owner of %(record)s, their manager or its collaborators can follow it up.")
    raise Forbidden(message % {"record": record})


def require_page(user, record, act: Act) -> None:
    """A page's check before it shows a form: Django's 403 page when `user` may see `record` but not do `act`
    (the service would refuse the form's save anyway)."""
    if not may(user, record, act):
        raise PermissionDenied
