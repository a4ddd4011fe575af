"""The lists people save views of (视图), and how a list's query string reads as columns, sort and filters.

A list page carries everything it shows in its query string: its own filters, `sort`, `view` (the saved view
shown, whose columns it uses) and `cols` (columns chosen on the page and not saved yet). So a view is a link, the
browser's back button and a shared address show the same list, and saving "the current list" is saving a query.
"""

import functools
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from ..customfields import registry
from ..customfields.indexes import OPERATORS, ORDERED_TYPES, QUERY_PREFIX
from ..errors import NotFound
from ..hooks import SavedViewList, collect
from ..models import SavedView

VIEW = "view"  # the saved view shown; "0" is the plain list, chosen on purpose
COLUMNS = "cols"  # columns chosen on the page, comma-separated, before (or without) saving them
NOT_FILTERS = {VIEW, COLUMNS, "sort", "page"}
CUSTOM_PREFIX = "cf."  # a custom field's column key, like its filter's parameter


@functools.cache
def lists() -> dict[str, SavedViewList]:
    return {kind.key: kind for kind in sorted(collect("saved_view_lists"), key=lambda kind: kind.order)}


def get_list(key: str) -> SavedViewList:
    kind = lists().get(key)
    if kind is None:
        raise NotFound(_("There is no such list."))
    return kind


def _custom_fields(kind: SavedViewList, user) -> list:
    return registry.visible_fields(kind.custom_target, user) if kind.custom_target else []


def column_choices(kind: SavedViewList, user) -> dict[str, object]:
    """Every column `user` may show on the list, key → label: the built-in ones, then their custom fields."""
    choices = {column.key: column.label for column in kind.columns}
    choices.update({CUSTOM_PREFIX + custom.key: custom.label for custom in _custom_fields(kind, user)})
    return choices


def default_columns(kind: SavedViewList, user) -> list[str]:
    return [*kind.default_columns,
            *(CUSTOM_PREFIX + custom.key for custom in _custom_fields(kind, user) if custom.list_column)]


def unknown_filters(kind: SavedViewList, user, query: QueryDict) -> list[str]:
    """The parameters of `query` with a value that are not filters of the list `user` may use (a custom field
    that is gone, hidden or not theirs to see)."""
    fields = {custom.key: custom for custom in _custom_fields(kind, user)} if kind.custom_filters else {}
    unknown = []
    for name, values in query.lists():
        if name in NOT_FILTERS or name in kind.parameters or not any(str(value).strip() for value in values):
            continue
        if name.startswith(QUERY_PREFIX):
            key, _dot, operator = name[len(QUERY_PREFIX):].partition(".")
            custom = fields.get(key)
            if custom is not None and (operator or "eq") in OPERATORS and (
                    not operator or custom.type in ORDERED_TYPES):
                continue
        unknown.append(name)
    return unknown


def filters_of(query: QueryDict) -> str:
    """`query`'s filters as the view keeps them: without its own parameters and without blanks, in their order."""
    kept = [(name, value) for name, values in query.lists() if name not in NOT_FILTERS
            for value in values if str(value).strip()]
    return urlencode(kept)


def column_label(kind: SavedViewList, key: str) -> str:
    """A column's label, also for a custom field no longer shown (hidden: its label is still known)."""
    if key.startswith(CUSTOM_PREFIX) and kind.custom_target:
        custom = registry.definition(kind.custom_target, key[len(CUSTOM_PREFIX):])
        if custom is not None:
            return custom.label
        return key[len(CUSTOM_PREFIX):]
    return str({column.key: column.label for column in kind.columns}.get(key, key))


def _filter_label(kind: SavedViewList, name: str) -> str:
    """A filter parameter's field: `cf.industry.gte` filters on the custom field `industry`."""
    if name.startswith(QUERY_PREFIX):
        return column_label(kind, CUSTOM_PREFIX + name[len(QUERY_PREFIX):].partition(".")[0])
    return name


def view_url(kind: SavedViewList, view: SavedView) -> str:
    """The list showing `view`: its id (for its columns), its filters and its sort."""
    parts = [urlencode({VIEW: view.pk})]
    if view.filters:
        parts.append(view.filters)
    if view.sort:
        parts.append(urlencode({"sort": view.sort}))
    return f"{reverse(kind.url_name)}?{'&'.join(parts)}"


@dataclass
class Column:
    """A column the list's table shows, in order; `field` for a custom one; `sort_url` when its header sorts."""

    key: str
    label: object
    field: object = None
    sort_url: str = ""
    arrow: str = ""


@dataclass
class ListViews:
    """What a list page needs of its views: the menu, the view shown, the table's columns, and what was ignored."""

    kind: SavedViewList
    views: list = field(default_factory=list)
    current: SavedView | None = None
    default: SavedView | None = None  # the viewer's team's default view
    columns: list = field(default_factory=list)  # Column, the table's shown ones in order
    shown: frozenset = frozenset()  # their keys, for the built-in cells the template marks off on a desktop
    title: Column | None = None  # the title column's header (its sort)
    notices: list = field(default_factory=list)
    query: str = ""  # the list's query without its page, for "save as view" and "columns"
    kept: list = field(default_factory=list)  # `view` and `cols`, hidden fields of the filter form: filtering keeps them
    redirect: str = ""  # the list to go to instead (a bare list opens the viewer's last or team's default view)
    may_save_changes: bool = False  # the view shown is the viewer's to change and the page differs from it
    may_manage: bool = False  # the viewer may open the view's page (change it, or make it a team's default)


def _toggled(kind: SavedViewList, query: QueryDict, sort: str) -> tuple[str, str]:
    """The link that sorts the list by `sort` (or, when it already is, the other way), and the arrow to show."""
    current = query.get("sort") or (kind.sorts[0] if kind.sorts else "")
    reverse_sort = sort[1:] if sort.startswith("-") else f"-{sort}"
    arrow = ""
    target = sort
    if current == sort:
        arrow = "▼" if sort.startswith("-") else "▲"
        if reverse_sort in kind.sorts:
            target = reverse_sort
    elif current == reverse_sort:
        arrow = "▲" if sort.startswith("-") else "▼"
    changed = query.copy()
    changed.pop("page", None)
    changed["sort"] = target
    return f"?{changed.urlencode()}", arrow


def team_default(views, user) -> SavedView | None:
    """The default view of the viewer's nearest team that has one (their own department, else the one above ...)."""
    best = None
    for view in views:
        path = getattr(view, "viewer_path", None)
        if view.default_for_id and path and path.startswith(view.default_for.path):
            if best is None or len(view.default_for.path) > len(best.default_for.path):
                best = view
    return best


def shown_columns(kind: SavedViewList, user, query: QueryDict, current: SavedView | None) -> tuple[list, list]:
    """The columns `query` shows (its `cols`, else its view's, else the list's defaults) that `user` may see, and
    the view's columns that are gone."""
    choices = column_choices(kind, user)
    if COLUMNS in query:
        wanted = [key for key in query.get(COLUMNS, "").split(",") if key]
    elif current is not None:
        wanted = list(current.columns)
    else:
        wanted = default_columns(kind, user)
    wanted = list(dict.fromkeys(wanted))
    return [key for key in wanted if key in choices], [key for key in wanted if key not in choices]


def open_list(request, key: str) -> ListViews:
    """The views of list `key` for this request: one query for the menu (the viewer's own views and those shared
    with their team, with the team defaults among them)."""
    kind = get_list(key)
    user = request.user
    views = list(SavedView.objects.visible_to(user).filter(list_key=key).select_related("default_for"))
    for view in views:
        view.url = view_url(kind, view)
    state = ListViews(kind=kind, views=views, default=team_default(views, user))
    query = request.GET
    remembered = f"savedviews.{key}"
    chosen = query.get(VIEW, "")
    if chosen.isdigit():
        state.current = next((view for view in views if view.pk == int(chosen)), None)
        if state.current is None and chosen != "0":
            state.notices.append(_("That view is no longer available to you: the list is shown without it."))
        picked = state.current.pk if state.current else 0
        if request.session.get(remembered) != picked:
            request.session[remembered] = picked
    elif not query and not request.htmx:
        # A bare list: the view this person last picked (none, if they picked the plain list), else their team's.
        last = request.session.get(remembered)
        target = next((view for view in views if view.pk == last), None) if last else None
        if last is None or (last and target is None):
            target = state.default
        if target is not None:
            state.redirect = view_url(kind, target)
            return state
    shown, gone = shown_columns(kind, user, query, state.current)
    choices = column_choices(kind, user)
    customs = {CUSTOM_PREFIX + custom.key: custom for custom in _custom_fields(kind, user)}
    sorts = {column.key: column.sort for column in kind.columns if column.sort}
    for column_key in shown:
        column = Column(key=column_key, label=choices[column_key], field=customs.get(column_key))
        if column_key in sorts:
            column.sort_url, column.arrow = _toggled(kind, query, sorts[column_key])
        state.columns.append(column)
    state.shown = frozenset(shown)
    if kind.title_sort:
        state.title = Column(key="", label="")
        state.title.sort_url, state.title.arrow = _toggled(kind, query, kind.title_sort)
    if state.current is not None:
        if gone:
            state.notices.append(_("This view's columns no longer available are left out: %(names)s.") % {
                "names": "、".join(column_label(kind, key) for key in gone)})
        if ignored := unknown_filters(kind, user, QueryDict(state.current.filters)):
            state.notices.append(_("This view's filters on fields no longer available are ignored: %(names)s.") % {
                "names": "、".join(dict.fromkeys(_filter_label(kind, name) for name in ignored))})
        state.may_manage = may_manage(state.current, user)
        state.may_save_changes = may_change(state.current, user) and (
            COLUMNS in query or filters_of(query) != state.current.filters
            or query.get("sort", "") != state.current.sort)
    kept = query.copy()
    kept.pop("page", None)
    state.query = kept.urlencode()
    state.kept = [(name, query[name]) for name in (VIEW, COLUMNS) if name in query]
    return state


def may_change(view: SavedView, user) -> bool:
    """Renaming, sharing, re-saving and deleting a view is its owner's, or an administrator's."""
    return user.is_admin or view.owner_id == user.pk


def may_manage(view: SavedView, user) -> bool:
    """Opening a view's page: who may change it, and a manager, who makes a shared view their team's default."""
    return may_change(view, user) or user.is_manager
