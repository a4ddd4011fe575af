from django.urls import path

from . import views, views_settings, views_tickets

app_name = "service"

urlpatterns = [
    path("tickets/", views_tickets.ticket_list_view, name="tickets"),
    path("tickets/export/", views_tickets.ticket_export_view, name="ticket_export"),
    path("tickets/new/", views_tickets.ticket_create_view, name="ticket_create"),
    path("tickets/<int:pk>/", views_tickets.ticket_detail_view, name="ticket"),
    path("tickets/<int:pk>/status/", views_tickets.ticket_status_view, name="ticket_status"),
    path("tickets/<int:pk>/assign/", views_tickets.ticket_assign_view, name="ticket_assign"),
    path("tickets/<int:pk>/fields/", views_tickets.ticket_fields_view, name="ticket_fields"),
    path("tickets/<int:pk>/reply/", views_tickets.ticket_reply_view, name="ticket_reply"),
    path("tickets/<int:pk>/files/<int:attachment_pk>/", views_tickets.ticket_file_view, name="ticket_file"),
    path("customers/<int:customer_pk>/ticket-form/", views_tickets.ticket_form_share_view, name="ticket_form_share"),
    path("surveys/<int:pk>/resend/", views_tickets.survey_resend_view, name="survey_resend"),
    path("settings/", views_settings.settings_view, name="settings"),
    path("sla/", views_settings.sla_view, name="sla"),
    path("renewals/<int:pk>/quote/", views_settings.renewal_quote_view, name="renewal_quote"),
    path("customers/<int:customer_pk>/tier/", views_settings.customer_tier_view, name="customer_tier"),
    path("deliveries/", views.delivery_list_view, name="deliveries"),
    path("deliveries/export/", views.delivery_export_view, name="delivery_export"),
    path("deliveries/new/", views.delivery_create_view, name="delivery_create"),
    path("deliveries/<int:pk>/", views.delivery_detail_view, name="delivery"),
    path("deliveries/<int:pk>/edit/", views.delivery_edit_view, name="delivery_edit"),
    path("deliveries/<int:pk>/milestones/", views.milestone_add_view, name="milestone_add"),
    path("deliveries/<int:pk>/milestones/<int:milestone_pk>/", views.milestone_done_view, name="milestone_done"),
    path("deliveries/<int:pk>/accept/", views.acceptance_upload_view, name="acceptance_upload"),
    path("deliveries/<int:pk>/file/<str:which>/", views.delivery_file_view, name="delivery_file"),
]
