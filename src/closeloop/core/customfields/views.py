"""The settings pages of custom fields (自定义字段): the fields of each record type, add, edit, hide, index."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..errors import DomainError, error_text, form_errors_from
from ..models import CustomField
from ..views import admin_required
from . import indexes, registry
from .forms import CustomFieldForm
from .services import custom_field_create, custom_field_hide, custom_field_index, custom_field_update


@admin_required
def field_list(request):
    all_targets = registry.targets()
    target = request.GET.get("target", "")
    if target not in all_targets:
        target = next(iter(all_targets), "")
    fields = CustomField.objects.filter(target=target).order_by("hidden", "section", "position", "id")
    return render(request, "core/customfields/list.html", {
        "targets": all_targets, "target": target, "fields": fields, "indexable": indexes.INDEXABLE_TYPES,
    })


@admin_required
@require_http_methods(["GET", "POST"])
def field_edit(request, pk=None):
    field = get_object_or_404(CustomField, pk=pk) if pk else None
    form = CustomFieldForm(request.POST or None, instance=field, target=request.GET.get("target"))
    if request.method == "POST" and form.is_valid():
        try:
            if field is None:
                field = custom_field_create(target=form.cleaned_data["target"], key=form.cleaned_data["key"],
                                            field_type=form.cleaned_data["type"], data=form.definition_data(),
                                            actor=request.user)
                messages.success(request, _("Field “%(field)s” added.") % {"field": field})
            else:
                custom_field_update(field=field, data=form.definition_data(), field_type=form.cleaned_data["type"],
                                    actor=request.user)
                messages.success(request, _("Field “%(field)s” saved.") % {"field": field})
        except DomainError as exc:
            form_errors_from(form, exc, always_message=exc.code == "unconvertible")
        else:
            return redirect(f"{_list_url()}?target={field.target}")
    return render(request, "core/customfields/form.html", {"form": form, "edited": field})


def _list_url() -> str:
    from django.urls import reverse

    return reverse("custom_field_list")


@admin_required
@require_POST
def field_hide(request, pk):
    field = get_object_or_404(CustomField, pk=pk)
    hidden = request.POST.get("hidden") == "1"
    custom_field_hide(field=field, hidden=hidden, actor=request.user)
    messages.success(request, (_("Field “%(field)s” hidden; its values are kept.") if hidden
                               else _("Field “%(field)s” shown again.")) % {"field": field})
    return redirect(f"{_list_url()}?target={field.target}")


@admin_required
@require_POST
def field_index(request, pk):
    field = get_object_or_404(CustomField, pk=pk)
    indexed = request.POST.get("indexed") == "1"
    try:
        custom_field_index(field=field, indexed=indexed, actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, (_("Filtering on “%(field)s” is now indexed.") if indexed
                                   else _("The index of “%(field)s” was removed.")) % {"field": field})
    return redirect(f"{_list_url()}?target={field.target}")
