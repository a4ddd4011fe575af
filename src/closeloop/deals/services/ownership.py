"""Who may own customers and deals, and who may move them between people."""

from django.utils.translation import gettext as _

from closeloop.core.errors import invalid
from closeloop.core.models import Role, User
from closeloop.core.visibility import subtree_users

SELLING_ROLES = {Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN}


def can_manage(actor: User, owner: User | None) -> bool:
    """Admins, and managers over the current owner's department, may transfer a record."""
    if actor.is_admin:
        return True
    if actor.role != Role.SALES_MANAGER:
        return False
    return owner is None or subtree_users(actor).filter(pk=owner.pk).exists()


def check_new_owner(owner: User) -> None:
    if not owner.is_active or owner.role not in SELLING_ROLES:
        raise invalid("owner", _("%(user)s cannot own customers or deals.") % {"user": owner})
