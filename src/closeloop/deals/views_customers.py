"""Customer pages: list, pool, detail, create, edit, contacts, claim, release and transfer."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from closeloop.core.customfields import indexes
from closeloop.core.errors import DomainError, error_text
from closeloop.core.pagination import kept_parameters, paginate, query_without_page
from closeloop.core.savedviews.lists import open_list
from closeloop.deals.services.customers import (
    CONTACT_TARGET,
    CUSTOMER_TARGET,
    can_delete_contact,
    contact_create,
    contact_delete,
    contact_update,
    customer_create,
    customer_transfer,
    customer_update,
    open_deals_needing,
)
from closeloop.followup.models import Tag
from closeloop.followup.rights import Act, may, require_page
from closeloop.followup.selectors import follow_up_panel
from closeloop.followup.tags import attach_tags, with_tag
from closeloop.leads.pool import mask_email, mask_phone

from . import pool
from .forms import ContactForm, CustomerForm
from .models import Contact, Customer
from .selectors import customer_list, customer_pool, get_customer_for_user
from .views import _form_data, apply_errors, transfer_page, with_custom_fields


@login_required
def customer_list_view(request):
    list_views = open_list(request, "customers")
    if list_views.redirect:
        return redirect(list_views.redirect)
    q = request.GET.get("q", "").strip()[:100]
    get = request.GET
    tag = get.get("tag", "")[:12]
    customers = customer_list(user=request.user, q=q, owner=get.get("owner", "")[:20],
                              department=get.get("department", "")[:20],
                              created_from=get.get("from", ""), created_to=get.get("to", ""),
                              sort=get.get("sort", "-created_at"))
    # `cf.<key>` filters on the customer's fields the viewer may see; offered on the indexed ones shown in the list.
    customers, _columns, custom_filters = indexes.list_fields(customers, CUSTOMER_TARGET, request.user, get)
    page = paginate(request, with_tag(customers, tag) if tag else customers)
    attach_tags(page["rows"])
    primary = _primary_contacts(page["rows"])
    for customer in page["rows"]:
        customer.primary_contact = primary.get(customer.pk)  # the phone card names whom to call
    return render(request, "deals/customer_list.html", {
        "page": page, "q": q, "query": query_without_page(request), "tag": tag, "tags": list(Tag.objects.all()),
        # A custom filter the form does not offer (a link's, a saved view's) is kept as a hidden field.
        "review_filters": [*kept_parameters(request, CUSTOMER_REVIEW_PARAMETERS), *(
            (name, value) for name, value in kept_parameters(request, (), prefixes=(indexes.QUERY_PREFIX,))
            if name not in {indexes.QUERY_PREFIX + field.key for field, _text in custom_filters})],
        "custom_filters": custom_filters,
        # The columns the view shows (core/savedviews).
        "list_views": list_views,
        "custom_columns": [column.field for column in list_views.columns if column.field is not None]})


# The dashboard's drill-downs (new customers against a target) the list's search form keeps as hidden fields.
CUSTOMER_REVIEW_PARAMETERS = ("owner", "department", "from", "to")
# The list's filters by their query-string names (what a saved view may keep).
CUSTOMER_LIST_PARAMETERS = ("q", "tag", *CUSTOMER_REVIEW_PARAMETERS)


def _primary_contacts(customers) -> dict:
    """Each customer's primary contact (else its first), in one query."""
    primary = {}
    for contact in Contact.objects.filter(customer__in=customers).order_by("customer_id", "-is_primary", "id"):
        primary.setdefault(contact.customer_id, contact)
    return primary


@login_required
def customer_pool_view(request):
    q = request.GET.get("q", "").strip()[:100]
    page = paginate(request, customer_pool(user=request.user, q=q))
    primary = _primary_contacts(page["rows"])
    for customer in page["rows"]:
        # Masked before the template sees them, as on the lead pool: the page never carries a full number.
        contact = primary.get(customer.pk)
        customer.masked_contact = {
            "name": contact.name[:1] + "**" if contact else "",
            "phone": mask_phone(contact.mobile or contact.landline) if contact and (contact.mobile or contact.landline) else "",
            "email": mask_email(contact.email) if contact and contact.email else "",
        }
    return render(request, "deals/customer_pool.html", {"page": page, "q": q, "query": f"q={q}" if q else ""})


@login_required
def customer_detail_view(request, pk):
    customer = get_customer_for_user(request.user, pk)
    return render(request, "deals/customer_detail.html", {
        "customer": customer, "contacts": customer.contacts.all(),
        "deals": customer.opportunities.visible_to(request.user).select_related("stage", "owner").order_by("-updated_at")[:50],
        "followup": follow_up_panel(customer, viewer=request.user), "contact_form": with_custom_fields(ContactForm(), CONTACT_TARGET, request.user),
        # Seeing a customer (a collaborator, marketing) is not changing it: the page offers what the services allow.
        "can_edit": may(request.user, customer, Act.EDIT),
        "can_manage": may(request.user, customer, Act.MANAGE),  # delete contacts, return to the pool
        "can_transfer": may(request.user, customer, Act.OVERSEE),
    })


@login_required
@require_http_methods(["GET", "POST"])
def customer_create_view(request):
    form = with_custom_fields(CustomerForm(request.POST or None), CUSTOMER_TARGET, request.user)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(data=_form_data(form), actor=request.user)
        except DomainError as exc:
            apply_errors(form, exc)
            if exc.code == "duplicate_customer":
                # Link to the existing customer only if this person may see it.
                duplicate = Customer.objects.visible_to(request.user).filter(pk=exc.details.get("customer_id")).first()
        else:
            messages.success(request, _("Customer created: %(c)s") % {"c": customer})
            return redirect(customer)
    return render(request, "deals/customer_form.html", {"form": form, "duplicate": duplicate})


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit_view(request, pk):
    customer = get_customer_for_user(request.user, pk)
    require_page(request.user, customer, Act.EDIT)
    initial = {name: getattr(customer, name) for name in CustomerForm.base_fields}
    form = with_custom_fields(CustomerForm(request.POST or None, initial=initial), CUSTOMER_TARGET, request.user,
                              customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer_update(customer=customer, data=_form_data(form), actor=request.user)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(customer)
    return render(request, "deals/customer_form.html", {"form": form, "customer": customer})


@login_required
@require_POST
def contact_create_view(request, pk):
    customer = get_customer_for_user(request.user, pk)
    require_page(request.user, customer, Act.EDIT)
    form = with_custom_fields(ContactForm(request.POST), CONTACT_TARGET, request.user)
    if form.is_valid():
        try:
            contact_create(customer=customer, data=_form_data(form), actor=request.user)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Contact added."))
            return redirect(customer)
    return render(request, "deals/contact_form.html", {"form": form, "customer": customer})


def _contact_for_user(user, customer_pk, pk):
    """A contact of a customer the user can see; 404 otherwise, as for a missing one."""
    customer = get_customer_for_user(user, customer_pk)
    return get_object_or_404(Contact.objects.select_related("customer"), customer=customer, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit_view(request, pk, contact_pk):
    contact = _contact_for_user(request.user, pk, contact_pk)
    require_page(request.user, contact.customer, Act.EDIT)
    form = with_custom_fields(
        ContactForm(request.POST or None, initial={name: getattr(contact, name) for name in ContactForm.base_fields}),
        CONTACT_TARGET, request.user, contact)
    if request.method == "POST" and form.is_valid():
        try:
            contact_update(contact=contact, data=_form_data(form), actor=request.user)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Contact saved."))
            return redirect(contact.customer)
    return render(request, "deals/contact_form.html", {"form": form, "customer": contact.customer, "contact": contact})


@login_required
@require_http_methods(["GET", "POST"])
def contact_delete_view(request, pk, contact_pk):
    """GET asks for confirmation (no JavaScript needed); POST deletes."""
    contact = _contact_for_user(request.user, pk, contact_pk)
    error = ""
    if request.method == "POST":
        try:
            contact_delete(contact=contact, actor=request.user)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("Contact deleted: %(name)s") % {"name": contact.name})
            return redirect(contact.customer)
    return render(request, "deals/contact_delete.html", {
        "contact": contact, "customer": contact.customer, "error": error,
        "deals": contact.opportunities.visible_to(request.user).select_related("stage").order_by("-updated_at")[:20],
        "blocked": open_deals_needing(contact),
        "can_delete": can_delete_contact(request.user, contact.customer),
    }, status=409 if error else 200)


@login_required
@require_POST
def customer_claim_view(request, pk):
    customer = get_object_or_404(customer_pool(user=request.user), pk=pk)
    try:
        pool.customer_claim(customer=customer, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("deals:customer_pool")
    messages.success(request, _("%(c)s is now yours.") % {"c": customer})
    return redirect(customer)


@login_required
@require_POST
def customer_release_view(request, pk):
    customer = get_customer_for_user(request.user, pk)
    try:
        pool.customer_release(customer=customer, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect(customer)
    messages.success(request, _("%(c)s returned to the public pool.") % {"c": customer})
    return redirect("deals:customer_list")


@login_required
@require_http_methods(["GET", "POST"])
def customer_transfer_view(request, pk):
    customer = get_customer_for_user(request.user, pk)
    return transfer_page(
        request, record=customer, success_message=_("Customer transferred to %(user)s."),
        transfer=lambda **kwargs: customer_transfer(customer=customer, **kwargs),
    )
