"""Who may own customers and deals (who may move them between people is `followup.rights`' Act.OVERSEE)."""

from django.utils.translation import gettext as _

from closeloop.core.errors import Forbidden, invalid
from closeloop.core.models import Role, User
from closeloop.followup.rights import oversees

SELLING_ROLES = {Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN}


def check_new_owner(owner: User) -> None:
    if not owner.is_active or owner.role not in SELLING_ROLES:
        raise invalid("owner", _("%(user)s cannot own customers or deals.") % {"user": owner})


def check_may_give(actor: User | None, owner: User) -> None:
    """A new customer or deal for someone else is their manager's doing (or an administrator's, or a job's): a rep
    who could make records for a colleague could hand them work, or a company, that nobody above them chose."""
    if actor is None or actor.pk == owner.pk or oversees(actor, owner.pk):
        return
    raise Forbidden(_("Only a manager of %(user)s or an administrator can make records for them.") % {"user": owner})
