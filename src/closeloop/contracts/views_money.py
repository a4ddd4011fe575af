"""Money on a contract: finance records and voids payments, the rep asks for invoices, finance issues or rejects
them; and finance's queue of invoice requests."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from closeloop.core.errors import DomainError, error_text, form_errors_from
from closeloop.core.money import format_yuan
from closeloop.core.pagination import paginate
from closeloop.core.redirects import next_url

from . import access, invoices, payments
from .forms import InvoiceRequestForm, PaymentForm
from .models import Contract, InvoiceRequest, InvoiceStatus
from .selectors import get_contract_for_user, get_invoice_request_for_user, get_payment_for_user


def _refused(request, contract: Contract, exc: DomainError, extra: dict | None = None, **forms):
    """The contract's page again with the refused form as it was typed, its errors under its fields and the
    whole reason on top (a redirect would empty it: finance retyped the amount, the reference and the note)."""
    from .views import _detail_context

    for form in forms.values():
        form_errors_from(form, exc)
    messages.error(request, exc.message)
    return render(request, "contracts/detail.html", _detail_context(request, contract, **forms, **(extra or {})),
                  status=400)


def _allocations(request, contract: Contract) -> list[dict] | None:
    """The split finance typed (alloc-<instalment id> fields), or None to pay the oldest instalments first."""
    rows = [{"instalment": key.removeprefix("alloc-"), "amount": value.strip()}
            for key, value in request.POST.items() if key.startswith("alloc-") and value.strip()]
    return rows or None


@login_required
@require_POST
def payment_record_view(request, pk):
    contract = get_contract_for_user(request.user, pk)
    data = {name: request.POST.get(name, "") for name in ("received_on", "amount", "method", "reference", "note")}
    try:
        payment = payments.payment_record(contract=contract, data=data, actor=request.user,
                                          allocations=_allocations(request, contract))
    except DomainError as exc:
        typed = {int(key[6:]): value[:30] for key, value in request.POST.items()
                 if key.startswith("alloc-") and key[6:].isdigit() and len(key) < 26}
        return _refused(request, contract, exc, {"typed_allocations": typed}, payment_form=PaymentForm(data))
    else:
        messages.success(request, _("Payment of %(amount)s recorded.") % {"amount": format_yuan(payment.amount)})
    return redirect(contract.get_absolute_url() + "#payments")


@login_required
@require_POST
def payment_void_view(request, pk, payment_pk):
    payment = get_payment_for_user(request.user, pk, payment_pk)
    try:
        payments.payment_void(payment=payment, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Payment voided."))
    return redirect(payment.contract.get_absolute_url() + "#payments")


@login_required
@require_POST
def invoice_request_view(request, pk):
    contract = get_contract_for_user(request.user, pk)
    data = {name: request.POST.get(name, "") for name in ("amount", "invoice_type", "buyer_name", "buyer_tax_id",
                                                          "buyer_details", "note")}
    try:
        invoices.invoice_request_create(contract=contract, data=data, actor=request.user)
    except DomainError as exc:
        return _refused(request, contract, exc, invoice_form=InvoiceRequestForm(data))
    else:
        messages.success(request, _("Invoice requested; finance is notified."))
    return redirect(contract.get_absolute_url() + "#invoices")


INVOICE_ACTIONS = {
    "issue": lambda request, obj: invoices.invoice_issue(request=obj, actor=request.user, data={
        name: request.POST.get(name, "") for name in ("invoice_number", "issued_on", "invoice_type")}),
    "reject": lambda request, obj: invoices.invoice_reject(request=obj, actor=request.user,
                                                           reason=request.POST.get("reason", "")),
    "cancel": lambda request, obj: invoices.invoice_cancel(request=obj, actor=request.user),
}


@login_required
@require_POST
def invoice_action_view(request, pk, invoice_pk, action):
    invoice = get_invoice_request_for_user(request.user, pk, invoice_pk)
    if action not in INVOICE_ACTIONS:
        raise PermissionDenied
    try:
        invoice = INVOICE_ACTIONS[action](request, invoice)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Invoice request: %(status)s.") % {"status": invoice.get_status_display()})
    return redirect(next_url(request, invoice.contract.get_absolute_url() + "#invoices"))


@login_required
@require_GET
def invoice_queue_view(request):
    """Finance's list: requests waiting first (oldest first), then the latest answered ones."""
    if not access.is_finance(request.user):
        raise PermissionDenied
    status = request.GET.get("status", InvoiceStatus.REQUESTED)
    rows = (InvoiceRequest.objects.filter(contract__in=Contract.objects.visible_to(request.user).values("pk"))
            .select_related("contract", "contract__customer", "requested_by"))
    if status in InvoiceStatus.values:
        rows = rows.filter(status=status)
    rows = rows.order_by("requested_at", "id") if status == InvoiceStatus.REQUESTED else rows.order_by("-requested_at", "-id")
    return render(request, "contracts/invoices.html", {"page": paginate(request, rows), "status": status,
                                                       "statuses": InvoiceStatus.choices,
                                                       "query": f"status={status}"})
