"""Who may do what with a contract. The services call these before every write (and the pages use them to
offer only what a person may do); visibility alone never grants a write. The rights themselves are
`followup.rights`' acts; this module only names which act each contract step needs.

- the selling side (the owner, the owner's managers, collaborators in the sales role, administrators) drafts,
  submits, signs and asks for invoices (Act.EDIT on the contract; making one is Act.QUOTE on the deal);
- once a contract is approved its amounts and plan are out of the reps' hands: only a manager over the owner,
  finance (dates of the plan, never its total) or an administrator change them (Act.OVERSEE);
- finance records payments and issues invoices, company-wide.
"""

from closeloop.core.models import Role, User
from closeloop.followup.rights import Act, may

from .models import Contract


def _active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def can_create_for_deal(user: User, deal) -> bool:
    """Whoever may quote on a deal may make its contract."""
    return _active(user) and may(user, deal, Act.QUOTE)


def can_edit(user: User, contract: Contract) -> bool:
    return _active(user) and may(user, contract, Act.EDIT)


def can_oversee(user: User, contract: Contract) -> bool:
    """A manager over the owner, or an administrator: returns approved contracts to draft, terminates signed ones,
    changes an approved plan."""
    return _active(user) and may(user, contract, Act.OVERSEE)


def is_finance(user: User) -> bool:
    return _active(user) and (user.is_admin or user.role == Role.FINANCE)


def can_read_receivables(user: User) -> bool:
    """The receivables page is for finance, managers (their team's) and administrators."""
    return _active(user) and (user.is_admin or user.role in (Role.FINANCE, Role.SALES_MANAGER))
