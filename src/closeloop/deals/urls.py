from django.urls import path

from . import views, views_customers, views_settings

app_name = "deals"

urlpatterns = [
    path("", views.opportunity_list_view, name="list"),
    path("export/", views.opportunity_export_view, name="export"),
    path("board/", views.board_view, name="board"),
    path("board/<int:pipeline_pk>/", views.board_view, name="board_pipeline"),
    path("<int:pk>/", views.opportunity_detail_view, name="detail"),
    path("<int:pk>/edit/", views.opportunity_edit_view, name="edit"),
    path("<int:pk>/move/", views.opportunity_move_view, name="move"),
    path("<int:pk>/transfer/", views.opportunity_transfer_view, name="transfer"),
    path("convert/<int:lead_pk>/", views.lead_convert_view, name="convert"),
    path("customers/", views_customers.customer_list_view, name="customer_list"),
    path("customers/pool/", views_customers.customer_pool_view, name="customer_pool"),
    path("customers/new/", views_customers.customer_create_view, name="customer_create"),
    path("customers/<int:pk>/", views_customers.customer_detail_view, name="customer_detail"),
    path("customers/<int:pk>/edit/", views_customers.customer_edit_view, name="customer_edit"),
    path("customers/<int:pk>/contacts/", views_customers.contact_create_view, name="contact_create"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/edit/", views_customers.contact_edit_view, name="contact_edit"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/delete/", views_customers.contact_delete_view,
         name="contact_delete"),
    path("customers/<int:pk>/claim/", views_customers.customer_claim_view, name="customer_claim"),
    path("customers/<int:pk>/release/", views_customers.customer_release_view, name="customer_release"),
    path("customers/<int:pk>/transfer/", views_customers.customer_transfer_view, name="customer_transfer"),
    path("customers/<int:customer_pk>/new-deal/", views.opportunity_create_view, name="create"),
    path("settings/", views_settings.pipeline_settings_view, name="settings"),
    path("settings/pipelines/new/", views_settings.pipeline_edit_view, name="pipeline_create"),
    path("settings/pipelines/<int:pk>/", views_settings.pipeline_edit_view, name="pipeline_edit"),
    path("settings/pipelines/<int:pipeline_pk>/stages/new/", views_settings.stage_edit_view, name="stage_create"),
    path("settings/pipelines/<int:pipeline_pk>/stages/<int:pk>/", views_settings.stage_edit_view, name="stage_edit"),
    path("settings/pipelines/<int:pipeline_pk>/stages/<int:pk>/move/", views_settings.stage_move_view,
         name="stage_move"),
    path("settings/pipelines/<int:pipeline_pk>/stages/<int:pk>/delete/", views_settings.stage_delete_view,
         name="stage_delete"),
    path("settings/lost-reasons/new/", views_settings.reason_edit_view, {"kind": "lost"}, name="lost_reason_create"),
    path("settings/lost-reasons/<int:pk>/", views_settings.reason_edit_view, {"kind": "lost"}, name="lost_reason_edit"),
    path("settings/win-reasons/new/", views_settings.reason_edit_view, {"kind": "win"}, name="win_reason_create"),
    path("settings/win-reasons/<int:pk>/", views_settings.reason_edit_view, {"kind": "win"}, name="win_reason_edit"),
]
