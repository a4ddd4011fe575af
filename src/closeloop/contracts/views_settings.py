"""Contract settings for administrators: numbering, reminder days and the e-signature secret. Approval
thresholds for contracts are rules of the one approval engine, on the quotes and approvals settings page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from closeloop.core.errors import DomainError, form_errors_from
from closeloop.core.notify import absolute_url
from closeloop.quotes.models import ApprovalRule

from .config import SETTINGS_FIELDS, contract_settings, contract_settings_save
from .forms import ContractSettingsForm
from .services import APPROVAL_KIND


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request):
    if not request.user.is_admin:
        raise PermissionDenied
    current = contract_settings()
    form = ContractSettingsForm(request.POST or None, initial={name: getattr(current, name) for name in SETTINGS_FIELDS})
    if request.method == "POST" and form.is_valid():
        data = {**{name: form.cleaned_data[name] for name in SETTINGS_FIELDS},
                "esign_secret": form.cleaned_data["esign_secret"],
                "clear_esign_secret": form.cleaned_data["clear_esign_secret"]}
        try:
            contract_settings_save(actor=request.user, data=data)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Contract settings saved."))
            return redirect("contracts:settings")
    return render(request, "contracts/settings.html", {
        "form": form, "has_secret": bool(current.esign_secret),
        "callback_url": absolute_url(reverse("api:esign_callback")),
        "rules": ApprovalRule.objects.filter(kind=APPROVAL_KIND).prefetch_related("approver_links__user"),
    })
