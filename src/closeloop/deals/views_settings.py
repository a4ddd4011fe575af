"""Admin pages for pipelines, stages (with gates) and the lost-reason and win-reason categories."""

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from closeloop.core.errors import DomainError, error_text
from closeloop.core.views import admin_required
from closeloop.deals.services.pipelines import (
    pipeline_save,
    reason_save,
    stage_delete,
    stage_delete_targets,
    stage_move,
    stage_place,
    stage_save,
)

from .forms import PipelineForm, ReasonForm, StageForm
from .models import LostReason, Opportunity, Pipeline, Stage, WinReason
from .views import apply_errors


@admin_required
def pipeline_settings_view(request):
    pipelines = list(Pipeline.objects.prefetch_related("stages"))
    for pipeline in pipelines:
        _mark_moves(list(pipeline.stages.all()))
    return render(request, "deals/settings.html", {
        "pipelines": pipelines, "lost_reasons": LostReason.objects.all(), "win_reasons": WinReason.objects.all(),
    })


def _mark_moves(stages):
    """Each stage's ↑ and ↓ index (None: no button), within its side: open stages move among the open ones, won
    and lost among the closed ones (stage_save keeps the closed after the open)."""
    for index, stage in enumerate(stages):
        above = stages[index - 1] if index else None
        below = stages[index + 1] if index + 1 < len(stages) else None
        stage.up_index = index - 1 if above is not None and above.is_closed == stage.is_closed else None
        stage.down_index = index + 1 if below is not None and below.is_closed == stage.is_closed else None


@admin_required
@require_http_methods(["GET", "POST"])
def pipeline_edit_view(request, pk=None):
    pipeline = get_object_or_404(Pipeline, pk=pk) if pk else None
    initial = {"name": pipeline.name, "position": pipeline.position, "is_default": pipeline.is_default,
               "active": pipeline.active, "follow_up_days": pipeline.follow_up_days} if pipeline else None
    form = PipelineForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline_save(actor=request.user, data=form.cleaned_data, pipeline=pipeline)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Pipeline saved."))
            return redirect("deals:settings")
    return render(request, "deals/settings_form.html", {"form": form, "title": pipeline or _("New pipeline")})


@admin_required
@require_http_methods(["GET", "POST"])
def stage_edit_view(request, pipeline_pk, pk=None):
    pipeline = get_object_or_404(Pipeline, pk=pipeline_pk)
    stage = get_object_or_404(Stage, pk=pk, pipeline=pipeline) if pk else None
    # A new stage starts as an open one: its place is just before the won and lost stages.
    closed = pipeline.stages.filter(Q(is_won=True) | Q(is_lost=True)).order_by("position").first()
    initial = {name: getattr(stage, name) for name in StageForm.base_fields} if stage else {
        "position": closed.position if closed else pipeline.stages.count()}
    form = StageForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = stage_save(actor=request.user, pipeline=pipeline, data=form.cleaned_data, stage=stage)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Stage saved."))
            if saved.position != form.cleaned_data["position"]:
                _say_kept_in_order(request, saved)
            return redirect("deals:settings")
    return render(request, "deals/settings_form.html", {"form": form, "title": stage or _("New stage"),
                                                        "subtitle": pipeline})


@admin_required
@require_POST
def stage_move_view(request, pipeline_pk, pk):
    """Move a stage to a place in its pipeline's order: the up/down buttons, or the drag (deals/stage-sort.js)."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk, pipeline_id=pipeline_pk)
    index = request.POST.get("index", "")
    if not (index.isdigit() and len(index) <= 4):
        messages.error(request, _("Choose where the stage goes."))
    else:
        stage_move(actor=request.user, stage=stage, index=int(index))
        if stage_place(stage) != int(index) + 1:
            _say_kept_in_order(request, stage)
        else:
            messages.success(request, _("Stage “%(stage)s” moved.") % {"stage": stage.name})
    return redirect("deals:settings")


def _say_kept_in_order(request, stage):
    messages.warning(request, _("Won and lost stages come after the open ones, so “%(stage)s” is at place %(place)d.")
                     % {"stage": stage.name, "place": stage_place(stage)})


@admin_required
@require_http_methods(["GET", "POST"])
def stage_delete_view(request, pipeline_pk, pk):
    """GET shows what deleting means (how many deals, where they can go); POST with the confirmation deletes."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk, pipeline_id=pipeline_pk)
    targets = list(stage_delete_targets(stage))
    deal_count = Opportunity.objects.filter(stage=stage).count()
    error = ""
    if request.method == "POST":
        move_to = next((t for t in targets if str(t.pk) == request.POST.get("move_to")), None)
        if request.POST.get("confirm") != "1":
            error = _("Tick the box to confirm.")
        elif deal_count and move_to is None:
            error = _("Choose where the deals of this stage go.")
        else:
            try:
                moved = stage_delete(actor=request.user, stage=stage, move_to=move_to)
            except DomainError as exc:
                error = error_text(exc)
            else:
                message = _("Stage deleted: %(stage)s.") % {"stage": stage.name}
                if moved:
                    message += " " + ngettext("%(n)d deal moved to “%(target)s”.", "%(n)d deals moved to “%(target)s”.",
                                              moved) % {"n": moved, "target": move_to.name}
                messages.success(request, message)
                return redirect("deals:settings")
    return render(request, "deals/stage_delete.html", {
        "stage": stage, "targets": targets, "deal_count": deal_count, "error": error,
        "selected": request.POST.get("move_to", ""),
    }, status=422 if error else 200)


# Each kind of reason: its model, and what its pages say.
REASON_KINDS = {
    "lost": (LostReason, _lazy("Lost reason saved."), _lazy("New lost reason")),
    "win": (WinReason, _lazy("Win reason saved."), _lazy("New win reason")),
}


@admin_required
@require_http_methods(["GET", "POST"])
def reason_edit_view(request, kind, pk=None):
    model, saved, new_title = REASON_KINDS[kind]
    reason = get_object_or_404(model, pk=pk) if pk else None
    initial = {"name": reason.name, "position": reason.position, "active": reason.active} if reason else None
    form = ReasonForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            reason_save(actor=request.user, model=model, data=form.cleaned_data, reason=reason)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, saved)
            return redirect("deals:settings")
    return render(request, "deals/settings_form.html", {"form": form, "title": reason or new_title})
