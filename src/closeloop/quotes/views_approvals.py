"""The approvals page: what waits for my decision (quotes, contracts, any record type), and what I asked for."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from closeloop.core.errors import DomainError, error_text
from closeloop.core.redirects import next_url

from . import approvals
from .models import ApprovalRequest


@login_required
@require_GET
def approval_list_view(request):
    steps = list(approvals.inbox(request.user))
    mine = list(ApprovalRequest.objects.filter(submitted_by=request.user)
                .prefetch_related("steps__approver").order_by("-submitted_at", "-id")[:20])
    reasons = {r.pk: [approvals.reason_text(r.kind, reason) for reason in r.reasons]
               for r in [step.request for step in steps] + mine}
    return render(request, "quotes/approvals.html", {"steps": steps, "mine": mine, "reason_text": reasons,
                                                     "kinds": approvals.KINDS})


@login_required
@require_POST
def approval_decide_view(request, pk):
    approval = ApprovalRequest.objects.filter(pk=pk).first()
    # Someone who may not decide it learns nothing about it: the same answer as for a missing one.
    if approval is None or not (approval.steps.filter(approver=request.user).exists() or request.user.is_admin):
        raise Http404
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        raise Http404
    try:
        approvals.approval_decide(request=approval, actor=request.user, approve=decision == "approve",
                                  comment=request.POST.get("comment", ""))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Approved: %(what)s") % {"what": approval.title} if decision == "approve"
                         else _("Rejected: %(what)s") % {"what": approval.title})
    return redirect(next_url(request, approval.url or "/"))
