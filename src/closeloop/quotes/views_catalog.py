"""Catalog pages: products (everyone reads; administrators and pre-sales change) and quote templates."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from closeloop.core.errors import DomainError, form_errors_from
from closeloop.core.pagination import paginate, query_without_page

from . import catalog
from .forms import ProductForm, TemplateForm, product_groups
from .models import Product, QuoteTemplate
from .selectors import product_search

TEMPLATE_LINE_ROWS = 5  # blank rows offered below a template's lines


@login_required
@require_GET
def product_list_view(request):
    q = request.GET.get("q", "").strip()[:100]
    manage = catalog.can_manage_catalog(request.user)
    inactive = manage and request.GET.get("inactive") == "1"
    page = paginate(request, product_search(q=q, include_inactive=inactive), per_page=50)
    context = {"page": page, "q": q, "inactive": inactive, "can_manage": manage, "query": query_without_page(request)}
    template = "quotes/_product_rows.html" if request.htmx and request.htmx.target == "product-rows" else "quotes/products.html"
    return render(request, template, context)


def _require_catalog(user):
    if not catalog.can_manage_catalog(user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def product_edit_view(request, pk=None):
    _require_catalog(request.user)
    product = get_object_or_404(Product, pk=pk) if pk else None
    initial = {"unit": "套", "tax_rate": "13.00", "active": True,
               "price_includes_tax": catalog.quote_settings().prices_include_tax}
    if product:
        initial = {name: getattr(product, name) for name in catalog.PRODUCT_FIELDS}
        initial["tax_rate"] = f"{product.tax_rate:f}"
    form = ProductForm(request.POST or None, initial=initial, tax_rates=catalog.tax_rates())
    if request.method == "POST" and form.is_valid():
        data = {name: form.data.get(name, "") for name in form.fields}
        data["active"] = form.cleaned_data["active"]
        data["price_includes_tax"] = form.cleaned_data["price_includes_tax"]
        try:
            product = catalog.product_save(actor=request.user, data=data, product=product)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Product saved: %(product)s") % {"product": product})
            return redirect("quotes:product_list")
    return render(request, "quotes/product_form.html", {"form": form, "product": product})


@login_required
@require_GET
def template_list_view(request):
    _require_catalog(request.user)
    templates = QuoteTemplate.objects.prefetch_related("lines__product")
    return render(request, "quotes/templates.html", {"templates": templates})


def _template_rows(post, template):
    """The template's lines as typed: existing rows first, then blank rows to add to."""
    if post is not None:
        products = post.getlist("line_product")
        return [{"product": p, "quantity": q, "discount_pct": d}
                for p, q, d in zip(products, post.getlist("line_quantity"), post.getlist("line_discount_pct"), strict=False)]
    rows = []
    if template:
        rows = [{"product": str(line.product_id), "quantity": f"{line.quantity:f}",
                 "discount_pct": f"{line.discount_pct:f}"} for line in template.lines.all()]
    return rows + [{"product": "", "quantity": "1", "discount_pct": "0"} for _ in range(TEMPLATE_LINE_ROWS)]


@login_required
@require_http_methods(["GET", "POST"])
def template_edit_view(request, pk=None):
    _require_catalog(request.user)
    template = get_object_or_404(QuoteTemplate, pk=pk) if pk else None
    initial = {"active": True}
    if template:
        initial = {"name": template.name, "description": template.description,
                   "payment_terms": template.payment_terms, "active": template.active}
    form = TemplateForm(request.POST or None, initial=initial)
    rows = _template_rows(request.POST if request.method == "POST" else None, template)
    if request.method == "POST" and form.is_valid():
        lines = [row for row in rows if row["product"]]
        try:
            template = catalog.quote_template_save(actor=request.user, data=form.cleaned_data, lines=lines,
                                                   template=template)
        except DomainError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Template saved: %(name)s") % {"name": template.name})
            return redirect("quotes:template_list")
    return render(request, "quotes/template_form.html", {
        "form": form, "template": template, "rows": rows, "product_groups": product_groups()})
