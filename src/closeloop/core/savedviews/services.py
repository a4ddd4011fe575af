"""The audited writes of saved views (视图).

Anyone saves views of a list for themselves; a view's owner (or an administrator) renames, re-saves, shares,
unshares and deletes it; a manager makes a view shared with their team that team's default (or a team's under
theirs), an administrator any team's.
"""

from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from ..audit import audit_record, audited_create, audited_update
from ..errors import Forbidden, ValidationFailed
from ..models import Channel, Department, SavedView
from ..visibility import departments_visible_to
from .lists import column_choices, default_columns, filters_of, get_list, may_change, unknown_filters


def _clean_content(kind, *, filters: str, sort: str, columns: list[str], actor, errors: dict) -> dict:
    """A view's filters, sort and columns as the list knows them; what it does not know goes to `errors`."""
    query = QueryDict(filters or "")
    if unknown := unknown_filters(kind, actor, query):
        errors.setdefault("filters", []).append(
            _("The list has no such filters: %(names)s.") % {"names": ", ".join(unknown)})
    if sort and sort not in kind.sorts:
        errors.setdefault("sort", []).append(_("The list cannot be sorted that way."))
    choices = column_choices(kind, actor)
    columns = list(dict.fromkeys(str(key) for key in columns))
    if unknown_columns := [key for key in columns if key not in choices]:
        errors.setdefault("columns", []).append(
            _("The list has no such columns: %(names)s.") % {"names": ", ".join(unknown_columns)})
    if not columns:
        errors.setdefault("columns", []).append(_("Choose at least one column."))
    return {"filters": filters_of(query), "sort": sort or "", "columns": columns}


def _shared_with(owner, shared: bool, errors: dict):
    if shared and owner.department_id is None:
        errors.setdefault("shared", []).append(_("You belong to no team to share the view with."))
    return owner.department if shared else None


def view_save(*, list_key: str, name: str, shared: bool, actor, view: SavedView | None = None,
              filters: str | None = None, sort: str | None = None, columns: list[str] | None = None,
              channel: str = Channel.WEB) -> SavedView:
    """Save a new view of a list (`view` None) or change one: its name and sharing, and, when given, its filters (the
    list's query string), sort and columns. Shared views reach the owner's department and those under it."""
    kind = get_list(view.list_key if view is not None else list_key)
    if view is not None and not may_change(view, actor):
        raise Forbidden(_("Only the view's owner or an administrator may change it."))
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("Give the view a name."))
    owner = view.owner if view is not None else actor
    data = {"name": name, "department": _shared_with(owner, shared, errors)}
    if view is None or filters is not None or sort is not None or columns is not None:
        before = view or SavedView(columns=default_columns(kind, actor))
        data |= _clean_content(
            kind, actor=actor, errors=errors,
            filters=filters if filters is not None else before.filters,
            sort=sort if sort is not None else before.sort,
            columns=columns if columns is not None else before.columns)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        if view is None:
            view = SavedView(list_key=kind.key, owner=actor, **data)
            return audited_create(instance=view, actor=actor, channel=channel, action="saved_view.create",
                                  fields=["list_key", "name", "department", "columns", "sort", "filters"])
        if data["department"] is None:
            # A view no longer shared is nobody's default.
            data["default_for"] = None
        audited_update(instance=view, data=data, actor=actor, channel=channel, action="saved_view.update")
    return view


def view_delete(*, view: SavedView, actor, channel: str = Channel.WEB) -> None:
    if not may_change(view, actor):
        raise Forbidden(_("Only the view's owner or an administrator may delete it."))
    with transaction.atomic():
        audit_record(actor=actor, channel=channel, action="saved_view.delete", target=view,
                     changes={"name": [view.name, None]})
        view.delete()


def may_set_default(user, department: Department) -> bool:
    """An administrator for any team, a manager for their own department and those under it."""
    return user.is_admin or (user.is_manager and departments_visible_to(user).filter(pk=department.pk).exists())


def view_set_team_default(*, list_key: str, department: Department, view: SavedView | None, actor,
                          channel: str = Channel.WEB) -> None:
    """Make `view` the default view of `department`'s list (None: the team has no default any more). The view must
    be shared with that department or one above it, so everyone who gets it sees it."""
    kind = get_list(list_key)
    if not may_set_default(actor, department):
        raise Forbidden(_("Only the team's manager or an administrator sets its default view."))
    if view is not None and (view.list_key != kind.key or view.department is None
                             or not department.path.startswith(view.department.path)):
        raise ValidationFailed(_("Share the view with this team (or a team above it) first."),
                               field_errors={"view": [_("This view is not shared with the team.")]})
    with transaction.atomic():
        for previous in SavedView.objects.select_for_update().filter(list_key=kind.key, default_for=department):
            if view is None or previous.pk != view.pk:
                audited_update(instance=previous, data={"default_for": None}, actor=actor, channel=channel,
                               action="saved_view.team_default")
        if view is not None:
            audited_update(instance=view, data={"default_for": department}, actor=actor, channel=channel,
                           action="saved_view.team_default")
