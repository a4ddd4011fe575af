"""Core's records over JSON: the people and the departments, read-only.

Everyone with a token reads the directory, as the pages' pickers (an assignee, a new owner, a hand-off's
receiver) show every active colleague: an integrator needs the usernames other routes take. Contact details
(email, mobile) are not in it. Administrators also see deactivated accounts, as on the team page.
"""

from datetime import datetime

from django.db.models import Q
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from .errors import ErrorOut, NotFound
from .models import Department, User
from .pagination import ApiPage, SyncParams, api_list

users_router = Router(tags=["people"])
departments_router = Router(tags=["people"])


class UserOut(Schema):
    id: int
    username: str
    display_name: str = Field(description="The name shown on pages.")
    role: str = Field(description="sales_rep, sales_manager, marketing, presales, finance, service or admin.")
    department_id: int | None
    department: str | None
    manager_id: int | None
    is_active: bool
    on_leave: bool
    updated_at: datetime

    @staticmethod
    def resolve_display_name(obj):
        return str(obj)

    @staticmethod
    def resolve_department(obj):
        return obj.department.name if obj.department_id else None


class UserPage(ApiPage):
    items: list[UserOut]


class UserParams(SyncParams):
    q: str = Field("", max_length=100, description="Part of a username or name.")
    department_id: int | None = Field(None, description="Only the members of this department and those under it.")
    page: int = Field(1, ge=1, le=100_000, description="Ignored when syncing.")
    page_size: int = Field(50, ge=1, le=200)


class DepartmentOut(Schema):
    id: int
    name: str
    parent_id: int | None
    path: str = Field(description="The ids from the top, e.g. /1/4/9/: a department's subtree shares its prefix.")


def _people(user):
    people = User.objects.select_related("department")
    return people if user.is_admin else people.filter(is_active=True)


@users_router.get("/", response={200: UserPage, 401: ErrorOut, 422: ErrorOut}, summary="List your colleagues")
def list_users(request, params: Query[UserParams]):
    people = _people(request.user)
    if q := params.q.strip():
        people = people.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(first_name__icontains=q)
                               | Q(last_name__icontains=q))
    if params.department_id is not None:
        department = Department.objects.filter(pk=params.department_id).first()
        people = people.filter(department__path__startswith=department.path) if department else people.none()
    return api_list(people.order_by("username", "id"), params, caller=request.user)


@users_router.get("/me", response={200: UserOut, 401: ErrorOut}, summary="Who the token belongs to")
def read_me(request):
    return request.user


@users_router.get("/{user_id}", response={200: UserOut, 401: ErrorOut, 404: ErrorOut}, summary="Read a colleague")
def read_user(request, user_id: int):
    person = _people(request.user).filter(pk=user_id).first()
    if person is None:
        raise NotFound(_("No user with this id."))
    return person


@departments_router.get("/", response={200: list[DepartmentOut], 401: ErrorOut}, summary="List the departments",
                        description="Every department, in the tree's order (a parent before its children).")
def list_departments(request):
    return list(Department.objects.order_by("path"))


@departments_router.get("/{department_id}", response={200: DepartmentOut, 401: ErrorOut, 404: ErrorOut},
                        summary="Read a department")
def read_department(request, department_id: int):
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise NotFound(_("No department with this id."))
    return department
