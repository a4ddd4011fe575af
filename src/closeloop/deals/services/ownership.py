"""Who may own customers and deals (who may move them between people is `followup.rights`' Act.OVERSEE)."""

from django.utils.translation import gettext as _

from closeloop.core.errors import invalid
from closeloop.core.models import Role, User

SELLING_ROLES = {Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN}


def check_new_owner(owner: User) -> None:
    if not owner.is_active or owner.role not in SELLING_ROLES:
        raise invalid("owner", _("%(user)s cannot own customers or deals.") % {"user": owner})
