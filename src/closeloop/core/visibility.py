"""Row-level visibility: the one place that says who may see which records.

Every model with records people own gets a queryset built on `VisibleQuerySet` and implements
`_visibility_filter(user)`. Pages, API routes, exports, searches and counts call `.visible_to(user)`;
nothing reads records around it. A record outside a user's visibility is answered with 404.
"""

from django.db import models
from django.db.models import Q, Subquery

from .models import Department, Role, User


def subtree_users(user: User):
    """Users in the departments under (and including) the manager's own department."""
    if user.department_id is None:
        return User.objects.filter(pk=user.pk)
    return User.objects.filter(department__path__startswith=user.department.path)


def team_owner_ids(user: User) -> list[int]:
    """The manager and everyone in their subtree, as a literal id list for `owner__in`.

    Read once when the query is built: with a literal list the database seeks the owner indexes (and
    SQLite's planner can estimate it), where a department-path subquery is re-checked row by row.
    """
    # Kept on the user object for the rest of its request: a page builds several visible querysets.
    cached = getattr(user, "_team_owner_ids", None)
    if cached is not None and cached[0] == user.department_id:
        return cached[1]
    # The department's path as a subquery: one query, without loading the department first.
    path = Department.objects.filter(pk=user.department_id).values("path")[:1]
    team = User.objects.filter(department__path__startswith=Subquery(path)) if user.department_id else User.objects.none()
    ids = sorted({user.pk, *team.values_list("pk", flat=True)})
    user._team_owner_ids = (user.department_id, ids)
    return ids


class VisibleQuerySet(models.QuerySet):
    owner_field = "owner"
    # Roles that read every row of this kind (besides administrators), e.g. finance on quotes and contracts.
    company_wide_roles: frozenset = frozenset()

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_admin or user.role in self.company_wide_roles:
            return self.all()
        # Subclasses express to-many rules as `pk__in` subqueries so no DISTINCT is needed.
        return self.filter(self._visibility_filter(user))

    def _visibility_filter(self, user) -> Q:
        owner = self.owner_field
        if user.role == Role.SALES_MANAGER:
            return Q(**{f"{owner}__in": team_owner_ids(user)})
        return Q(**{owner: user})
