"""Saved views (视图) over JSON: the lists a view is of, the caller's views (their own, those shared with their team
and their team's default), and saving, changing, deleting and making one a team's default through the pages'
services, with the pages' rights: anyone saves views for themselves; only a view's owner (or an administrator)
changes or deletes it; a manager sets their team's default (an administrator any team's)."""

from datetime import datetime

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from ..apischema import JsonInt, StrictBool
from ..errors import ErrorOut, NotFound
from ..models import Channel, Department, SavedView
from ..pagination import ApiPage, SyncParams, api_list
from .lists import column_choices, get_list, lists, may_change, team_default, view_url
from .services import view_delete, view_save, view_set_team_default

router = Router(tags=["saved views"])


class ColumnOut(Schema):
    key: str = Field(description="A built-in column's key, or cf.<key> for a custom field.")
    label: str
    sort: str = Field("", description="The `sort` value that orders the list by this column, if any.")


class ListOut(Schema):
    key: str = Field(description="The list's key, e.g. leads or deals: a view's `list_key`.")
    label: str
    columns: list[ColumnOut] = Field(description="Every column the caller may show, custom fields included.")
    default_columns: list[str]
    filters: list[str] = Field(description="The list's own filter parameters (besides cf.<key> filters on "
                               "custom fields where the list takes them).")
    sorts: list[str] = Field(description="The `sort` values the list knows; the first is its default.")


class SavedViewOut(Schema):
    id: int
    list_key: str
    name: str
    owner_id: int
    owner: str = Field(description="The owner's name as pages show it.")
    shared_with_id: int | None = Field(description="The department the view is shared with (and those under it); "
                                       "null for a private view.")
    default_for_id: int | None = Field(description="The team whose default view of the list this is, if any.")
    columns: list[str]
    sort: str
    filters: str = Field(description="The list's filters as a query string, e.g. status=contacting&source=展会.")
    url: str = Field(description="The list page showing the view.")
    may_change: bool = Field(description="Whether the caller may rename, re-save, share or delete it.")
    my_default: bool = Field(False, description="The caller's team default: the view their bare list opens with "
                             "until they pick another.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner(obj):
        return str(obj.owner)

    @staticmethod
    def resolve_shared_with_id(obj):
        return obj.department_id

    @staticmethod
    def resolve_url(obj):
        return view_url(get_list(obj.list_key), obj)

    @staticmethod
    def resolve_may_change(obj, context):
        return may_change(obj, context["request"].user)

    @staticmethod
    def resolve_my_default(obj):
        return getattr(obj, "my_default", False)


class SavedViewPage(ApiPage):
    items: list[SavedViewOut]


class SavedViewParams(SyncParams):
    list_key: str = Field("", max_length=30, description="Only the views of this list.")


class SavedViewIn(Schema):
    list_key: str = Field(..., min_length=1, max_length=30, description="The list's key (GET /api/saved-views/lists).")
    name: str = Field(..., min_length=1, max_length=60)
    shared: StrictBool = Field(False, description="Shared with your department and the teams under it.")
    filters: str = Field("", max_length=1000, description="The list's filters as a query string.")
    sort: str = Field("", max_length=40, description="One of the list's `sorts`; empty for its default.")
    columns: list[str] | None = Field(None, max_length=60, description="Column keys in order; null for the list's "
                                      "default columns.")


class SavedViewPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=60)
    shared: StrictBool | None = Field(None, description="false makes the view private (and nobody's default).")
    filters: str | None = Field(None, max_length=1000)
    sort: str | None = Field(None, max_length=40)
    columns: list[str] | None = Field(None, min_length=1, max_length=60)


class TeamDefaultIn(Schema):
    department_id: JsonInt = Field(description="The team: yours or one under it for a manager, any for an "
                                   "administrator.")
    clear: StrictBool = Field(False, description="true: the team has no default view of this list any more.")


def _get(request, view_id: int) -> SavedView:
    """A view the caller sees (their own or shared with their team), or any for an administrator, as on the pages."""
    user = request.user
    views = SavedView.objects.all() if user.is_admin else SavedView.objects.visible_to(user)
    view = views.select_related("owner", "department", "default_for").filter(pk=view_id).first()
    if view is None:
        raise NotFound(_("No saved view with this id, or you cannot see it."))
    _mark_default(user, [view])
    return view


def _mark_default(user, views) -> None:
    """Mark the views that are the caller's team default of their list (their nearest team's that has one)."""
    keys = {view.list_key for view in views}
    defaults = (SavedView.objects.visible_to(user).filter(list_key__in=keys, default_for__isnull=False)
                .select_related("default_for"))
    by_list: dict[str, list] = {}
    for view in defaults:
        by_list.setdefault(view.list_key, []).append(view)
    chosen = {found.pk for found in (team_default(group, user) for group in by_list.values()) if found}
    for view in views:
        view.my_default = view.pk in chosen


@router.get("/lists", response={200: list[ListOut], 401: ErrorOut}, summary="The lists views are saved of",
            description="Each list's columns (built-in and the custom fields the caller may see), filters and sorts: "
            "what a view of it may name.")
def list_lists(request):
    answer = []
    for kind in lists().values():
        choices = column_choices(kind, request.user)
        sorts = {column.key: column.sort for column in kind.columns}
        answer.append({
            "key": kind.key, "label": str(kind.label),
            "columns": [{"key": key, "label": str(label), "sort": sorts.get(key, "")} for key, label in choices.items()],
            "default_columns": [key for key in kind.default_columns if key in choices],
            "filters": list(kind.parameters), "sorts": list(kind.sorts),
        })
    return answer


@router.get("/", response={200: SavedViewPage, 401: ErrorOut, 422: ErrorOut}, summary="List your saved views",
            description="Your own views and those shared with your department or one above it (a team's default "
            "among them, marked `my_default` when it is yours); an administrator's list is the same (they reach "
            "others' views by id).")
def list_views(request, params: Query[SavedViewParams]):
    views = SavedView.objects.visible_to(request.user).select_related("owner")
    if params.list_key:
        views = views.filter(list_key=params.list_key)
    page = api_list(views.order_by("list_key", "name", "id"), params, caller=request.user)
    _mark_default(request.user, page["items"])
    return page


@router.post("/", response={201: SavedViewOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Save a view",
             description="Filters, sort and columns the list does not know are refused (422), each named; an unknown "
             "list is 404.")
def create_view(request, payload: SavedViewIn):
    kind = get_list(payload.list_key)
    view = view_save(list_key=kind.key, name=payload.name, shared=payload.shared, actor=request.user,
                     filters=payload.filters, sort=payload.sort, columns=payload.columns, channel=Channel.API)
    return Status(201, _get(request, view.pk))


@router.get("/{view_id}", response={200: SavedViewOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a saved view")
def read_view(request, view_id: int):
    return _get(request, view_id)


@router.patch("/{view_id}", response={200: SavedViewOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
              summary="Change a saved view",
              description="Its owner or an administrator: name, sharing, filters, sort and columns (each only when "
              "sent). A teammate who sees a shared view gets 403.")
def update_view(request, view_id: int, payload: SavedViewPatch):
    view = _get(request, view_id)
    data = {key: value for key, value in payload.model_dump(exclude_unset=True).items() if value is not None}
    view_save(view=view, list_key=view.list_key, name=data.get("name", view.name),
              shared=data.get("shared", view.department_id is not None), actor=request.user,
              filters=data.get("filters"), sort=data.get("sort"), columns=data.get("columns"), channel=Channel.API)
    return _get(request, view_id)


@router.delete("/{view_id}", response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
               summary="Delete a saved view", description="Its owner or an administrator.")
def delete_view(request, view_id: int):
    view_delete(view=_get(request, view_id), actor=request.user, channel=Channel.API)
    return Status(204, None)


@router.post("/{view_id}/team-default", response={200: SavedViewOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                   422: ErrorOut},
             summary="Make a view a team's default (or clear the team's default)",
             description="A manager for their team or one under it, an administrator for any (403 otherwise). The "
             "view must be shared with that team or one above it (422). With `clear`, the team has no default view "
             "of the view's list any more.")
def set_team_default(request, view_id: int, payload: TeamDefaultIn):
    view = _get(request, view_id)
    team = Department.objects.filter(pk=payload.department_id).first()
    if team is None:
        raise NotFound(_("No department with this id."))
    view_set_team_default(list_key=view.list_key, department=team, view=None if payload.clear else view,
                          actor=request.user, channel=Channel.API)
    return _get(request, view_id)
