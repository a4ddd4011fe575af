"""Who may do what with a contract. The services call these before every write (and the pages use them to
offer only what a person may do); visibility alone never grants a write.

- the selling side (the owner, the owner's managers, collaborators in the sales role, administrators) drafts,
  submits, signs and asks for invoices;
- once a contract is approved its amounts and plan are out of the reps' hands: only a manager over the owner,
  finance (dates of the plan, never its total) or an administrator change them;
- finance records payments and issues invoices, company-wide.
"""

from closeloop.core.models import Role, User
from closeloop.deals.services.ownership import can_manage
from closeloop.followup.models import Participant, ParticipantRole
from closeloop.quotes.services import can_edit_quotes

from .models import Contract


def _active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def can_create_for_deal(user: User, deal) -> bool:
    """Whoever may quote on a deal may make its contract."""
    return can_edit_quotes(user, deal)


def can_edit(user: User, contract: Contract) -> bool:
    if not _active(user):
        return False
    if user.is_admin or contract.owner_id == user.pk:
        return True
    if user.role == Role.SALES_MANAGER and can_manage(user, contract.owner):
        return True
    return Participant.objects.for_record(contract).filter(user=user, role=ParticipantRole.SALES).exists()


def can_oversee(user: User, contract: Contract) -> bool:
    """A manager over the owner, or an administrator: returns approved contracts to draft, terminates signed ones,
    changes an approved plan."""
    return _active(user) and (user.is_admin or (user.role == Role.SALES_MANAGER and can_manage(user, contract.owner)))


def is_finance(user: User) -> bool:
    return _active(user) and (user.is_admin or user.role == Role.FINANCE)


def can_read_receivables(user: User) -> bool:
    """The receivables page is for finance, managers (their team's) and administrators."""
    return _active(user) and (user.is_admin or user.role in (Role.FINANCE, Role.SALES_MANAGER))
