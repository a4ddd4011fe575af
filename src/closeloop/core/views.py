import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from . import dates, money
from .errors import DomainError, form_errors_from
from .forms import DepartmentForm, GroupRobotForm, NotificationPreferencesForm, UserForm
from .models import (
    DeliveryStatus,
    Department,
    ExportJob,
    ExportStatus,
    GroupRobot,
    NotificationDelivery,
    Role,
    TokenAccess,
    User,
)
from .navigation import start_url
from .notify import kinds_for, preferences_for
from .pagination import paginate, query_without_page
from .redirects import is_safe_target
from .services import (
    api_token_create,
    api_token_revoke,
    department_save,
    notification_mark_read,
    notification_preferences_save,
    robot_delete,
    robot_save,
    robot_send_test,
    user_save,
)
from .spreadsheets import XLSX_CONTENT_TYPE


def admin_required(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_admin:
            # Pages an outsider may not use look like pages that do not exist.
            raise Http404
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    return wrapped


# Who starts the day on the Today page: what is due, overdue, new, handed over, escalated.
TODAY_ROLES = (Role.SALES_REP, Role.SALES_MANAGER, Role.PRESALES)


@login_required
def home(request, today=None):
    """The start page. `today` is the Today view the project's urls.py passes in (core knows no stage);
    everyone else starts on the first page of their navigation."""
    if today is not None and request.user.role in TODAY_ROLES:
        return today(request)
    return redirect(start_url(request.user))


# The lifetimes a new token may be given on the profile page (days: label); none means it never expires.
TOKEN_LIFETIMES = {"30": gettext_lazy("30 days"), "90": gettext_lazy("90 days"), "365": gettext_lazy("1 year")}


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    new_token = None
    if request.method == "POST":
        if "revoke" in request.POST:
            token = get_object_or_404(request.user.api_tokens, pk=request.POST["revoke"], revoked_at__isnull=True)
            api_token_revoke(token=token, actor=request.user)
            messages.success(request, _("Token revoked."))
            return redirect("profile")
        days = request.POST.get("expires_in_days", "")
        new_token, _token = api_token_create(
            user=request.user, name=request.POST.get("name", "")[:100], actor=request.user,
            access=TokenAccess.READ if request.POST.get("access") == TokenAccess.READ else TokenAccess.READ_WRITE,
            expires_in_days=int(days) if days in TOKEN_LIFETIMES else None)
    tokens = request.user.api_tokens.filter(revoked_at__isnull=True)
    return render(request, "core/profile.html", {"tokens": tokens, "new_token": new_token, "now": timezone.now(),
                                                 "access_choices": TokenAccess.choices,
                                                 "lifetimes": TOKEN_LIFETIMES.items()})


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request):
    inbox = request.user.notifications.all()
    if request.method == "POST":
        notification_mark_read(user=request.user)
        return redirect("notifications")
    page = paginate(request, inbox, per_page=30, count=True)
    return render(request, "core/notifications.html", {"page": page})


@admin_required
def user_list(request):
    users = User.objects.select_related("department", "manager").order_by("department__path", "username")
    query = request.GET.get("q", "").strip()
    if query:
        users = users.filter(username__icontains=query) | users.filter(display_name__icontains=query)
    page = paginate(request, users, per_page=50, count=True)
    return render(request, "core/user_list.html", {"page": page, "q": query, "query": query_without_page(request)})


@admin_required
@require_http_methods(["GET", "POST"])
def user_edit(request, pk=None):
    user = get_object_or_404(User, pk=pk) if pk else None
    form = UserForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        password = data.pop("password")
        try:
            user = user_save(actor=request.user, data=data, user=user, password=password)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Saved %(user)s.") % {"user": user})
            return redirect("user_list")
    return render(request, "core/user_form.html", {"form": form, "edited": user})


@admin_required
def department_list(request):
    departments = Department.objects.all()
    counts = {d.pk: 0 for d in departments}
    for user in User.objects.filter(is_active=True).only("department_id"):
        if user.department_id in counts:
            counts[user.department_id] += 1
    rows = [(d, counts[d.pk]) for d in departments]
    return render(request, "core/department_list.html", {"rows": rows})


@admin_required
@require_http_methods(["GET", "POST"])
def department_edit(request, pk=None):
    department = get_object_or_404(Department, pk=pk) if pk else None
    initial = {"name": department.name, "parent": department.parent} if department else None
    form = DepartmentForm(request.POST or None, initial=initial)
    if department:
        form.fields["parent"].queryset = Department.objects.exclude(path__startswith=department.path)
    if request.method == "POST" and form.is_valid():
        try:
            department_save(actor=request.user, department=department, **form.cleaned_data)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Department saved."))
            return redirect("department_list")
    return render(request, "core/department_form.html", {"form": form, "edited": department})


@login_required
@require_http_methods(["POST"])
def notification_read(request, pk):
    notification_mark_read(user=request.user, notification_id=pk)
    if request.htmx:
        notification = get_object_or_404(request.user.notifications, pk=pk)
        response = render(request, "core/_notification.html", {"n": notification})
        response["HX-Trigger"] = "notificationsChanged"
        return response
    return redirect("notifications")


@login_required
def notification_open(request, pk):
    """Follow a notification's link and count it as read."""
    notification = get_object_or_404(request.user.notifications, pk=pk)
    notification_mark_read(user=request.user, notification_id=pk)
    if is_safe_target(request, notification.url):
        return redirect(notification.url)
    return redirect("notifications")


@login_required
def notification_badge(request):
    return render(request, "core/_notification_badge.html")


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request):
    kinds = kinds_for(request.user)
    current = preferences_for(request.user, kinds)
    form = NotificationPreferencesForm(request.POST or None, kinds=kinds, current=current,
                                       language=request.user.language)
    if request.method == "POST" and form.is_valid():
        notification_preferences_save(user=request.user, choices=form.choices(), actor=request.user,
                                      language=form.cleaned_data["language"])
        messages.success(request, _("Notification settings saved."))
        return redirect("notification_preferences")
    return render(request, "core/notification_preferences.html", {"form": form})


@admin_required
def robot_list(request):
    robots = GroupRobot.objects.select_related("department")
    return render(request, "core/robot_list.html", {"robots": robots})


@admin_required
@require_http_methods(["GET", "POST"])
def robot_edit(request, pk=None):
    robot = get_object_or_404(GroupRobot, pk=pk) if pk else None
    form = GroupRobotForm(request.POST or None, instance=robot)
    if request.method == "POST" and form.is_valid():
        try:
            robot = robot_save(actor=request.user, data=form.cleaned_data, robot=robot)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Robot %(robot)s saved.") % {"robot": robot})
            return redirect("robot_edit", pk=robot.pk)
    deliveries = robot.deliveries.all()[:20] if robot else []
    return render(request, "core/robot_form.html", {"form": form, "edited": robot, "deliveries": deliveries})


@admin_required
@require_http_methods(["POST"])
def robot_test(request, pk):
    robot = get_object_or_404(GroupRobot, pk=pk)
    delivery = robot_send_test(actor=request.user, robot=robot)
    if delivery.status == DeliveryStatus.SENT:
        messages.success(request, _("Test message delivered to %(robot)s.") % {"robot": robot})
    else:
        messages.error(request, _("The test message was not accepted: %(error)s") % {"error": delivery.last_error})
    return redirect("robot_edit", pk=robot.pk)


@admin_required
@require_http_methods(["GET", "POST"])
def robot_delete_view(request, pk):
    robot = get_object_or_404(GroupRobot, pk=pk)
    if request.method == "POST":
        robot_delete(actor=request.user, robot=robot)
        messages.success(request, _("Robot %(robot)s deleted.") % {"robot": robot})
        return redirect("robot_list")
    return render(request, "core/robot_confirm_delete.html", {"robot": robot})


@admin_required
def delivery_list(request):
    deliveries = NotificationDelivery.objects.select_related("robot", "recipient")
    status = request.GET.get("status", "")
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    page = paginate(request, deliveries, per_page=50, count=True)
    return render(request, "core/delivery_list.html", {"page": page, "status": status, "statuses": DeliveryStatus.choices,
                                                        "query": query_without_page(request)})


@login_required
def money_echo(request):
    """The echo under a typed amount field (HTMX, while typing): the amount it will be saved as (5万 → ¥50,000.00),
    or why it is not an amount. `field` names the parameter holding the text, `echo` the element to replace."""
    field = request.GET.get("field", "")
    echo_id = request.GET.get("echo") or f"{field}_echo"
    if not re.fullmatch(r"[\w-]{1,80}", echo_id):
        raise Http404
    amount, error = money.echo(request.GET.get(field, ""))
    return render(request, "core/_money_echo.html", {"amount": amount, "error": error, "echo_id": echo_id})


@login_required
def date_echo(request):
    """The echo under a typed date field (HTMX, while typing): the day and time it will be saved as, or what in
    it was not understood. `field` names the parameter holding the text, `echo` the element to replace, `as`
    whether a time is wanted and `bound=start` reads a bare month as its first day (a list's lower bound)."""
    field = request.GET.get("field", "")
    echo_id = request.GET.get("echo") or f"{field}_echo"
    if not re.fullmatch(r"[\w-]{1,80}", echo_id):
        raise Http404
    echo = dates.echo(request.GET.get(field, ""), with_time=request.GET.get("as") == "datetime",
                      month_start=request.GET.get("bound") == "start")
    return render(request, "core/_date_echo.html", {"echo": echo, "echo_id": echo_id})


def _export_job(request, pk) -> ExportJob:
    # Only the requester: an export holds every row of a list as they saw it (administrators included).
    return get_object_or_404(ExportJob.objects.requested_by(request.user), pk=pk)


@login_required
@require_http_methods(["GET"])
def export_job(request, pk):
    """A large export's progress, then its download link (the page polls itself while the worker writes)."""
    job = _export_job(request, pk)
    template = "core/_export_progress.html" if request.htmx else "core/export_job.html"
    return render(request, template, {"job": job})


@login_required
@require_http_methods(["GET"])
def export_download(request, pk):
    job = _export_job(request, pk)
    if job.status != ExportStatus.DONE or not job.file_path.exists():
        raise Http404
    return FileResponse(job.file_path.open("rb"), as_attachment=True, filename=job.file_name,
                        content_type=XLSX_CONTENT_TYPE if job.file_name.endswith(".xlsx") else "text/csv; charset=utf-8")
