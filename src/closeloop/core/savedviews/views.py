"""The pages of saved views (视图): save the list shown as a view, rename, share, re-save or delete one, make one a
team's default, and choose the list's columns. The list pages themselves show the menu (`lists.open_list`)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from ..errors import DomainError, error_text, form_errors_from
from ..models import SavedView
from ..visibility import departments_visible_to
from .lists import (
    COLUMNS,
    VIEW,
    column_choices,
    filters_of,
    get_list,
    may_change,
    may_manage,
    shown_columns,
    view_url,
)
from .services import view_delete, view_save, view_set_team_default


class SavedViewForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=60)
    shared = forms.BooleanField(label=gettext_lazy("Share with my team"), required=False,
                                help_text=gettext_lazy("Your department and the teams under it see it in their menu."))
    # The list's query string when the page was opened from it: its filters, sort and columns.
    query = forms.CharField(required=False, widget=forms.HiddenInput)
    update = forms.BooleanField(label=gettext_lazy("Also save the list's current filters, sort and columns"),
                                required=False)


def get_view_for_user(user, pk) -> SavedView:
    """A view its owner or their team sees, or any for an administrator (to mend it); 404 otherwise."""
    views = SavedView.objects.all() if user.is_admin else SavedView.objects.visible_to(user)
    view = views.select_related("owner", "department", "default_for").filter(pk=pk).first()
    if view is None:
        raise Http404
    return view


def _content(kind, user, query: QueryDict) -> dict:
    """The filters, sort and columns of the list as `query` shows it."""
    current = None
    if query.get(VIEW, "").isdigit():
        current = SavedView.objects.visible_to(user).filter(pk=int(query[VIEW]), list_key=kind.key).first()
    columns, _gone = shown_columns(kind, user, query, current)
    return {"filters": filters_of(query), "sort": query.get("sort", ""), "columns": columns}


def _list_or_404(list_key):
    try:
        return get_list(list_key)
    except DomainError as exc:
        raise Http404 from exc


def _save(request, form, kind, *, view=None, content: dict):
    """Save the form's view (a new one when `view` is None) and go to the list it shows; None with the form's errors."""
    try:
        view = view_save(view=view, list_key=kind.key, name=form.cleaned_data["name"],
                         shared=form.cleaned_data["shared"], actor=request.user, **content)
    except DomainError as exc:
        form_errors_from(form, exc)
        return None
    messages.success(request, _("View “%(view)s” saved.") % {"view": view})
    return redirect(view_url(kind, view))


@login_required
@require_http_methods(["GET", "POST"])
def view_create(request, list_key):
    kind = _list_or_404(list_key)
    form = SavedViewForm(request.POST or None, initial={"query": request.GET.urlencode()})
    if request.method == "POST" and form.is_valid():
        content = _content(kind, request.user, QueryDict(form.cleaned_data["query"]))
        if done := _save(request, form, kind, content=content):
            return done
    return render(request, "core/savedviews/form.html", {
        "form": form, "kind": kind, "back": f"{reverse(kind.url_name)}?{form['query'].value() or ''}"})


@login_required
@require_http_methods(["GET", "POST"])
def view_edit(request, pk):
    view = get_view_for_user(request.user, pk)
    kind = get_list(view.list_key)
    teams = departments_visible_to(request.user) if (request.user.is_admin or request.user.is_manager) else []
    if not may_manage(view, request.user):
        raise PermissionDenied
    query = request.GET.urlencode()
    form = SavedViewForm(request.POST or None, initial={
        "name": view.name, "shared": view.department_id is not None, "query": query, "update": bool(query)})
    if request.method == "POST":
        if not may_change(view, request.user):
            raise PermissionDenied
        if form.is_valid():
            content = {}
            if form.cleaned_data["update"] and form.cleaned_data["query"]:
                content = _content(kind, request.user, QueryDict(form.cleaned_data["query"]))
            if done := _save(request, form, kind, view=view, content=content):
                return done
    return render(request, "core/savedviews/form.html", {
        "form": form, "kind": kind, "view": view, "may_change": may_change(view, request.user),
        "teams": [team for team in teams if view.department_id and team.path.startswith(view.department.path)],
        "back": view_url(kind, view)})


@login_required
@require_http_methods(["GET", "POST"])
def view_delete_view(request, pk):
    view = get_view_for_user(request.user, pk)
    if not may_change(view, request.user):
        raise PermissionDenied
    kind = get_list(view.list_key)
    if request.method == "POST":
        view_delete(view=view, actor=request.user)
        messages.success(request, _("View “%(view)s” deleted.") % {"view": view})
        return redirect(f"{reverse(kind.url_name)}?{VIEW}=0")
    return render(request, "core/savedviews/delete.html", {"view": view, "kind": kind, "back": view_url(kind, view)})


@login_required
@require_POST
def view_default(request, pk):
    """Make the view a team's default (`team`), or, with `clear`, leave that team without one."""
    view = get_view_for_user(request.user, pk)
    team = departments_visible_to(request.user).filter(pk=request.POST.get("team") or 0).first()
    if team is None:
        raise Http404
    try:
        view_set_team_default(list_key=view.list_key, department=team,
                              view=None if request.POST.get("clear") else view, actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, (_("%(team)s has no default view of this list now.") if request.POST.get("clear")
                                   else _("“%(view)s” is now the default view of %(team)s.")) % {
            "view": view, "team": team})
    return redirect("saved_view_edit", pk=view.pk)


@login_required
def view_columns(request, list_key):
    """Choose and order the list's columns: ticks, and up/down buttons that send the page again (no script). The
    result goes back to the list as `cols`, to be saved into a view from there or not."""
    kind = _list_or_404(list_key)
    choices = column_choices(kind, request.user)
    query = request.GET.copy()
    if "order" in query:
        order = [key for key in query.get("order", "").split(",") if key in choices]
        chosen = [key for key in order if key in set(query.getlist("col"))]
    else:
        chosen = _content(kind, request.user, query)["columns"]
        order = chosen + [key for key in choices if key not in chosen]
    order += [key for key in choices if key not in order]
    for direction, step in (("up", -1), ("down", 1)):
        if (moved := query.get(direction)) in order:
            at = order.index(moved)
            if 0 <= at + step < len(order):
                order[at], order[at + step] = order[at + step], order[at]
    for name in ("order", "col", "up", "down", "apply", COLUMNS, "page"):
        query.pop(name, None)
    if "apply" in request.GET:
        back = query.copy()
        back[COLUMNS] = ",".join(chosen)
        return redirect(f"{reverse(kind.url_name)}?{back.urlencode()}")
    return render(request, "core/savedviews/columns.html", {
        "kind": kind, "rows": [(key, choices[key], key in chosen) for key in order], "order": ",".join(order),
        "kept": [(name, value) for name, values in query.lists() for value in values],
        "back": f"{reverse(kind.url_name)}?{query.urlencode()}"})
