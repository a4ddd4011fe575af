from django.urls import path

from . import views, views_money, views_receivables, views_settings

app_name = "contracts"

urlpatterns = [
    path("", views.contract_list_view, name="list"),
    path("export/", views.contract_export_view, name="export"),
    path("new/", views.contract_create_view, name="create"),
    path("receivables/", views_receivables.receivables_view, name="receivables"),
    path("receivables/instalments/", views_receivables.receivables_instalments_view, name="receivables_instalments"),
    path("receivables/export/", views_receivables.receivables_export_view, name="receivables_export"),
    path("invoices/", views_money.invoice_queue_view, name="invoices"),
    path("settings/", views_settings.settings_view, name="settings"),
    path("<int:pk>/", views.contract_detail_view, name="detail"),
    path("<int:pk>/edit/", views.contract_edit_view, name="edit"),
    path("<int:pk>/plan/", views.plan_edit_view, name="plan"),
    path("<int:pk>/upload/", views.document_upload_view, name="upload"),
    path("<int:pk>/documents/<int:document_pk>/", views.document_view, name="document"),
    path("<int:pk>/payments/", views_money.payment_record_view, name="payment_record"),
    path("<int:pk>/payments/<int:payment_pk>/void/", views_money.payment_void_view, name="payment_void"),
    path("<int:pk>/invoices/", views_money.invoice_request_view, name="invoice_request"),
    path("<int:pk>/invoices/<int:invoice_pk>/<str:action>/", views_money.invoice_action_view, name="invoice_action"),
    path("<int:pk>/<str:action>/", views.contract_action_view, name="action"),
]
