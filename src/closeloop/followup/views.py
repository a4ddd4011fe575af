"""Follow-up pages for any record: log an activity, people, hand-offs, comments; and the Today page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.models import User
from closeloop.core.redirects import next_url

from . import activity_templates, services, tags
from .forms import ActivityForm, ActivityTemplateForm, HandoffForm, ParticipantForm, TagForm, form_data
from .models import TEMPLATE_KINDS, Handoff, Tag
from .registry import model_for_name
from .selectors import comment_draft_key, get_record_for_user, record_of
from .team import may_view_person
from .today import today_sections


@login_required
@require_http_methods(["GET", "POST"])
def activity_create_view(request, record_type, pk):
    """Log a follow-up on any record: a full page, or an inline form on the Today page."""
    record = get_record_for_user(request.user, record_type, pk)
    form = ActivityForm(request.POST or None, record=record)
    inline = bool(request.htmx)
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.activity_log(actor=request.user, data=form_data(form), record=record)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            if inline:
                # The activity, not `record`: the service saved the new follow-up time on its own copy of the record.
                return render(request, "followup/_activity_logged.html", {"record": record, "activity": activity})
            messages.success(request, _("Follow-up logged."))
            return redirect(next_url(request, record.get_absolute_url()))
    template = "followup/_activity_form.html" if inline else "followup/activity_form.html"
    return render(request, template, {"form": form, "record": record,
                                      "action": reverse("followup:activity_create", args=[record_type, record.pk])})


@login_required
@require_POST
def participant_add_view(request, record_type, pk):
    record = get_record_for_user(request.user, record_type, pk)
    form = ParticipantForm(request.POST)
    if form.is_valid():
        try:
            services.participant_add(record=record, user=form.cleaned_data["user"], role=form.cleaned_data["role"],
                                     actor=request.user)
            messages.success(request, _("Collaborator added."))
        except DomainError as exc:
            messages.error(request, error_text(exc))
    else:
        messages.error(request, _("Choose a person and a role."))
    return redirect(record)


@login_required
@require_POST
def participant_remove_view(request, record_type, pk, user_pk):
    record = get_record_for_user(request.user, record_type, pk)
    user = get_object_or_404(User, pk=user_pk)
    services.participant_remove(record=record, user=user, actor=request.user)
    messages.success(request, _("%(user)s removed from %(record)s.") % {"user": user, "record": record})
    return redirect(record)


@login_required
@require_POST
def handoff_create_view(request, record_type, pk):
    record = get_record_for_user(request.user, record_type, pk)
    form = HandoffForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.handoff_request(record=record, assignee=data["assignee"], title=data["title"],
                                     due_at=data["due_at"], details=data["details"], role=data["role"],
                                     actor=request.user)
        except DomainError as exc:
            if not exc.field_errors:
                messages.error(request, error_text(exc))
                return redirect(record)
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Hand-off sent to %(user)s; it waits for their confirmation.")
                             % {"user": data["assignee"]})
            return redirect(record)
    # The form again with what was typed and what is wrong, not the record page with the details lost.
    return render(request, "followup/handoff_form.html", {"form": form, "record": record, "kind": record_type})


@login_required
@require_POST
def handoff_respond_view(request, handoff_pk):
    handoff = get_object_or_404(Handoff, pk=handoff_pk)
    record = record_of(handoff, request.user)
    answer = request.POST.get("answer")
    try:
        if answer == "done":
            services.handoff_complete(handoff=handoff, actor=request.user, note=request.POST.get("note", ""))
        else:
            services.handoff_respond(handoff=handoff, actor=request.user, accept=answer == "accept",
                                     note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Answer recorded."))
        if not type(record).objects.filter(pk=record.pk).visible_to(request.user).exists():
            # Declining ends the sight a pending hand-off gave: back to Today rather than to a page now missing.
            return redirect("followup:today")
    return redirect(next_url(request, record.get_absolute_url()))


@login_required
@require_POST
def comment_create_view(request, record_type, pk):
    record = get_record_for_user(request.user, record_type, pk)
    try:
        _comment, unreachable = services.comment_add(record=record, actor=request.user, body=request.POST.get("body", ""))
    except DomainError as exc:
        messages.error(request, error_text(exc))
        # The page comes back with what they wrote, to shorten or mend, instead of an empty box.
        request.session[comment_draft_key(record)] = request.POST.get("body", "")
    else:
        if unreachable:
            messages.warning(request, _("Not notified (they cannot see this record; add them as collaborators): "
                                        "%(names)s") % {"names": ", ".join(str(u) for u in unreachable)})
    return redirect(record.get_absolute_url() + "#comments")


@login_required
def today_view(request):
    return render(request, "followup/today.html", {"sections": today_sections(user=request.user)})


@login_required
def person_today_view(request, user_pk: int):
    """A team member's Today as their manager (or an administrator) sees it: what the team table counts."""
    person = get_object_or_404(User, pk=user_pk, is_active=True)
    if not may_view_person(request.user, person):
        raise Http404
    return render(request, "followup/today.html", {"sections": today_sections(user=person, viewer=request.user),
                                                      "person": person})


# ---------------------------------------------------------------------------------------------------
# Tags


@login_required
@require_POST
def record_tags_view(request, record_type, pk):
    """Set a record's tags from its page (the boxes ticked are its tags)."""
    record = get_record_for_user(request.user, record_type, pk)
    chosen = list(Tag.objects.filter(pk__in=[v for v in request.POST.getlist("tags") if v.isdigit()]))
    try:
        if tags.record_tags_set(record=record, tags=chosen, actor=request.user):
            messages.success(request, _("Tags saved."))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect(record)


@login_required
@require_POST
def records_tag_view(request, record_type):
    """Put one tag on the records ticked in a list (the deal and customer lists: checkboxes named "records")."""
    return bulk_tag(request, model_for_name(record_type), request.POST.getlist("records"), back="/")


def bulk_tag(request, model, ids, *, back: str):
    """Put the chosen tag on the selected records of `model` the person may see and edit, and say how many were
    left as they were (not theirs to edit, the tag or five tags already). Every list's bulk tag box posts here."""
    ids = {int(value) for value in ids if value.isdigit() and len(value) <= 18}
    tag_id = request.POST.get("tag", "")
    tag = Tag.objects.filter(pk=tag_id).first() if tag_id.isdigit() and len(tag_id) <= 18 else None
    records = list(model.objects.visible_to(request.user).filter(pk__in=ids)) if ids else []
    if tag is None or not ids:
        messages.error(request, _("Choose the records and the tag to put on them."))
        return redirect(next_url(request, back))
    added = tags.records_tag_add(records=records, tag=tag, actor=request.user)
    skipped = len(ids) - added
    message = ngettext("Tag “%(tag)s” put on %(n)d selected record.", "Tag “%(tag)s” put on %(n)d selected records.",
                       added) % {"tag": tag, "n": added}
    if skipped:
        message += " " + ngettext(
            "%(n)d skipped: not yours to edit, or with the tag or five tags already.",
            "%(n)d skipped: not yours to edit, or with the tag or five tags already.", skipped) % {"n": skipped}
    (messages.success if added else messages.warning)(request, message)
    return redirect(next_url(request, back))


def _admin_only(request):
    if not request.user.is_admin:
        raise Http404


@login_required
@require_http_methods(["GET", "POST"])
def tag_list_view(request):
    """The tags an administrator defines, each editable in place, and a form for a new one."""
    _admin_only(request)
    form = TagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tag = tags.tag_save(data=form.cleaned_data, actor=request.user)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Tag “%(tag)s” saved.") % {"tag": tag})
            return redirect("followup:tag_list")
    rows = [(tag, TagForm(initial={"name": tag.name, "color": tag.color}, prefix=f"t{tag.pk}"))
            for tag in Tag.objects.all()]
    return render(request, "followup/tag_list.html", {"form": form, "rows": rows, "limit": tags.MAX_TAGS_PER_RECORD})


@login_required
@require_POST
def tag_edit_view(request, tag_pk):
    _admin_only(request)
    tag = get_object_or_404(Tag, pk=tag_pk)
    if request.POST.get("delete"):
        tags.tag_delete(tag=tag, actor=request.user)
        messages.success(request, _("Tag “%(tag)s” deleted.") % {"tag": tag})
        return redirect("followup:tag_list")
    form = TagForm(request.POST, prefix=f"t{tag.pk}")
    try:
        if not form.is_valid():
            raise DomainError(_("Please correct the marked fields."))
        tags.tag_save(tag=tag, data=form.cleaned_data, actor=request.user)
        messages.success(request, _("Tag “%(tag)s” saved.") % {"tag": tag})
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("followup:tag_list")


# ---------------------------------------------------------------------------------------------------
# Follow-up templates


@login_required
@require_http_methods(["GET", "POST"])
def activity_templates_view(request):
    """Each kind's template, one form a kind; a form saved with errors comes back as typed, with every error."""
    _admin_only(request)
    current = activity_templates.templates_by_kind()
    posted = request.POST.get("kind", "") if request.method == "POST" else ""
    if posted and posted not in TEMPLATE_KINDS:
        raise Http404
    forms = {}
    for kind in TEMPLATE_KINDS:
        template = current.get(kind)
        initial = {"fields": activity_templates.field_lines(template), "text": template.text if template else ""}
        forms[kind] = ActivityTemplateForm(request.POST if kind == posted else None, initial=initial, prefix=kind)
    if posted and forms[posted].is_valid():
        try:
            activity_templates.activity_template_save(kind=posted, data=forms[posted].cleaned_data, actor=request.user)
        except DomainError as exc:
            form_errors_from(forms[posted], exc)
        else:
            messages.success(request, _("Follow-up template saved."))
            return redirect("followup:activity_templates")
    rows = [(kind, kind.label, forms[kind], current.get(kind)) for kind in TEMPLATE_KINDS]
    return render(request, "followup/activity_templates.html", {"rows": rows})
