"""Who may do what with a delivery. The services call these before every write and the pages use them to offer
only what a person may do; visibility alone never grants a write.

- start a delivery: whoever may edit the contract (its rep, their manager, a sales collaborator), after-sales
  service, administrators;
- run it (edit, milestones, record the acceptance form): the delivery owner, after-sales service, the contract's
  people and a manager over the delivery owner;
- a milestone's owner marks their own milestone done.
"""

from closeloop.contracts import access as contract_access
from closeloop.core.models import Role, User
from closeloop.followup.rights import Act, may

# Who may be given a ticket (by hand or through the API); the strategy picks new tickets among SERVICE alone.
SERVICE_TEAM_ROLES = (Role.SERVICE, Role.PRESALES, Role.ADMIN)


def _active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def is_service(user: User) -> bool:
    return _active(user) and user.role == Role.SERVICE


def may_own_delivery(user: User) -> bool:
    """Who may own a delivery or a milestone: any active colleague (the owner runs it through the family's
    rights); the services refuse anyone else and the pages offer no one else."""
    return _active(user)


def can_start(user: User, contract) -> bool:
    return _active(user) and (user.is_admin or is_service(user) or contract_access.can_edit(user, contract))


def can_run(user: User, delivery) -> bool:
    if not _active(user):
        return False
    # The delivery's owner side (its owner, managers over them, administrators, a sales collaborator) by the
    # family's rights; after-sales service works every delivery; and the contract's people.
    return is_service(user) or may(user, delivery, Act.EDIT) or contract_access.can_edit(user, delivery.contract)


def can_complete_milestone(user: User, milestone) -> bool:
    return _active(user) and (milestone.owner_id == user.pk or can_run(user, milestone.delivery))


def can_raise_ticket(user: User) -> bool:
    """Any active colleague raises a ticket for a customer they see (the service checks the customer)."""
    return _active(user)


def can_work_ticket(user: User, ticket) -> bool:
    """Reply, note, move the status: after-sales service, the assignee's side (the assignee, their managers,
    administrators, participants), and the customer's people (its rep hears the customer first, and their managers)."""
    return _active(user) and (is_service(user) or may(user, ticket, Act.FOLLOW_UP)
                              or may(user, ticket.customer, Act.FOLLOW_UP))


def can_assign_ticket(user: User) -> bool:
    """After-sales service and administrators hand tickets out (a sales manager works their rep's tickets but
    does not dispatch the service team)."""
    return _active(user) and (user.is_admin or is_service(user))


def can_be_assigned(user: User) -> bool:
    return _active(user) and user.role in SERVICE_TEAM_ROLES


def can_share_ticket_form(user: User, customer) -> bool:
    """Who hands a customer its public ticket form: the customer's people (its owner, their managers, its
    collaborators) and administrators."""
    return _active(user) and (user.is_admin or may(user, customer, Act.FOLLOW_UP))


def can_manage_sla(user: User) -> bool:
    """Who sets the SLA targets and customers' service tiers: administrators and the service manager."""
    from .sla import service_settings

    return _active(user) and (user.is_admin or user.pk == service_settings().service_manager_id)
