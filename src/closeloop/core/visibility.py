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


def owners_seen(user: User) -> list[int]:
    """The owners all of whose records `user` sees through ownership: a manager's team (with the manager),
    anyone else's own. Who sees every record (administrators, company-wide roles) is `VisibleQuerySet.sees_all`."""
    return team_owner_ids(user) if user.role == Role.SALES_MANAGER else [user.pk]


class VisibleQuerySet(models.QuerySet):
    owner_field = "owner"
    # Further paths to an owner whose line sees the record too (a contract: its deal's owner), besides
    # `owner_field`; `shared_with` leaves out what they bring.
    also_owner_fields: tuple[str, ...] = ()
    # Roles that read every row of this kind (besides administrators), e.g. finance on quotes and contracts.
    company_wide_roles: frozenset = frozenset()

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if self.sees_all(user):
            return self.all()
        # Subclasses express to-many rules as `pk__in` subqueries so no DISTINCT is needed.
        return self.filter(self._visibility_filter(user))

    def sees_all(self, user) -> bool:
        return user.is_admin or user.role in self.company_wide_roles

    def _visibility_filter(self, user) -> Q:
        owner = self.owner_field
        if user.role == Role.SALES_MANAGER:
            return Q(**{f"{owner}__in": team_owner_ids(user)})
        return Q(**{owner: user})

    def _shared_filter(self, user) -> Q | None:
        """What `user` sees of this kind other than through an owner in `owners_seen` (collaborations, open
        hand-offs, approvals ...), as `pk__in` subqueries; None when nothing. A subclass whose visibility has
        more than owners defines it, and its `_visibility_filter` is the owners' terms or this."""
        return None

    def shared_with(self, user):
        """The records `user` sees although no owner in their line owns them (by any owner path). With counts
        kept per owner (the breakpoint radar's), a viewer's count is their owners' sum plus these, counted live:
        few, found through the small subqueries of `_shared_filter`. Empty for who sees everything."""
        shared = None if self.sees_all(user) else self._shared_filter(user)
        if shared is None:
            return self.none()
        owners = owners_seen(user)
        found = self.filter(shared)
        for path in (self.owner_field, *self.also_owner_fields):
            found = found.exclude(**{f"{path}__in": owners})
        return found

def people_visible_to(user: User):
    """Whom `user` may filter records by (a rep or team filter): everyone for an administrator, a manager's
    subtree, otherwise only themselves. Filters never widen visibility; this only keeps the choices honest."""
    if user.is_admin:
        return User.objects.filter(is_active=True)
    if user.role == Role.SALES_MANAGER:
        return User.objects.filter(pk__in=team_owner_ids(user), is_active=True)
    return User.objects.filter(pk=user.pk)


def departments_visible_to(user: User):
    """The departments (teams) `user` may filter by: all for an administrator, a manager's own and those under it."""
    if user.is_admin:
        return Department.objects.all()
    if user.role == Role.SALES_MANAGER and user.department_id:
        path = Department.objects.filter(pk=user.department_id).values("path")[:1]
        return Department.objects.filter(path__startswith=Subquery(path))
    return Department.objects.none()


def owner_filter(queryset, *, user, owner: str = "", department: str = "", field: str = "owner"):
    """`queryset` narrowed to one owner ("me" or a user id), the viewer's line ("team": a manager's team, anyone
    else's own, as the dashboard links it) and/or one team (a department id and those under it) among those the
    viewer may filter by; an id outside them narrows to nothing."""
    if owner == "me":
        queryset = queryset.filter(**{field: user})
    elif owner == "team":
        queryset = queryset.filter(**{f"{field}__in": owners_seen(user)})
    elif owner.isdigit():
        queryset = queryset.filter(**{f"{field}__in": people_visible_to(user).filter(pk=int(owner)).values("pk")})
    if department.isdigit():
        team = departments_visible_to(user).filter(pk=int(department)).values("path")[:1]
        queryset = queryset.filter(**{f"{field}__department__path__startswith": Subquery(team)})
    return queryset


def owners_named(user: User, value: str) -> list[int] | None:
    """The owners a list's `owner=` filter names: "me", "team" (a manager's subtree; anyone else's own) or a
    user id. None when it names nobody (no filter). Lists apply it inside `visible_to`, never instead of it."""
    if value == "me":
        return [user.pk]
    if value == "team":
        return owners_seen(user)
    if value.isdigit() and int(value) < 2**63:
        return [int(value)]
    return None
