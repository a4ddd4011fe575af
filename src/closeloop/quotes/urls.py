from django.urls import path

from closeloop.leads import views_import

from . import views, views_approvals, views_catalog, views_settings
from .imports import PRODUCTS

app_name = "quotes"

urlpatterns = [
    path("", views.quote_list_view, name="list"),
    path("export/", views.quote_export_view, name="export"),
    path("new/", views.quote_create_view, name="create"),
    path("<int:pk>/", views.quote_detail_view, name="detail"),
    path("<int:pk>/v<int:number>/", views.quote_detail_view, name="version"),
    path("<int:pk>/pdf/", views.quote_pdf_view, name="pdf"),
    path("<int:pk>/terms/", views.quote_terms_view, name="terms"),
    path("<int:pk>/lines/", views.line_save_view, name="line_add"),
    path("<int:pk>/lines/<int:line_pk>/", views.line_save_view, name="line_update"),
    path("<int:pk>/lines/<int:line_pk>/remove/", views.line_remove_view, name="line_remove"),
    path("<int:pk>/price-history/", views.price_history_view, name="price_history"),
    path("<int:pk>/<str:action>/", views.quote_action_view, name="action"),
    path("approvals/", views_approvals.approval_list_view, name="approvals"),
    path("approvals/<int:pk>/decide/", views_approvals.approval_decide_view, name="approval_decide"),
    path("products/", views_catalog.product_list_view, name="product_list"),
    path("products/new/", views_catalog.product_edit_view, name="product_create"),
    # The lead import's pages with the catalog's fields; the job's own pages stay under /leads/import/<pk>/.
    path("products/import/", views_import.import_upload_view, {"kind": PRODUCTS}, name="product_import"),
    path("products/import/template.xlsx", views_import.import_template_view, {"kind": PRODUCTS},
         name="product_import_template"),
    path("products/<int:pk>/", views_catalog.product_edit_view, name="product_edit"),
    path("templates/", views_catalog.template_list_view, name="template_list"),
    path("templates/new/", views_catalog.template_edit_view, name="template_create"),
    path("templates/<int:pk>/", views_catalog.template_edit_view, name="template_edit"),
    path("settings/", views_settings.settings_view, name="settings"),
    path("settings/logo/", views.logo_view, name="logo"),
    path("settings/tax-rates/new/", views_settings.tax_rate_edit_view, name="tax_rate_create"),
    path("settings/tax-rates/<int:pk>/", views_settings.tax_rate_edit_view, name="tax_rate_edit"),
    path("settings/pipelines/<int:pk>/", views_settings.pipeline_moves_view, name="pipeline_moves"),
    path("settings/rules/new/", views_settings.rule_edit_view, name="rule_create"),
    path("settings/rules/<int:pk>/", views_settings.rule_edit_view, name="rule_edit"),
]
