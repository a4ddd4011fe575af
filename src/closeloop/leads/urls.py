from django.urls import path

from . import views, views_campaigns, views_duplicates, views_import

app_name = "leads"

urlpatterns = [
    path("", views.lead_list_view, name="list"),
    path("new/", views.lead_create_view, name="create"),
    path("export/", views.lead_export_view, name="export"),
    path("assign/", views.lead_bulk_assign_view, name="bulk_assign"),
    path("import/", views_import.import_upload_view, name="import"),
    path("import/<int:pk>/", views_import.import_detail_view, name="import_detail"),
    path("import/<int:pk>/progress/", views_import.import_progress_view, name="import_progress"),
    path("import/<int:pk>/refused.xlsx", views_import.import_report_view, name="import_report"),
    path("duplicates/", views_duplicates.duplicate_list_view, name="duplicates"),
    path("duplicates/hints/", views_duplicates.duplicate_hints_view, name="duplicate_hints"),
    path("merge/", views_duplicates.lead_merge_view, name="merge"),
    path("<int:pk>/", views.lead_detail_view, name="detail"),
    path("<int:pk>/edit/", views.lead_edit_view, name="edit"),
    path("campaigns/", views_campaigns.campaign_list_view, name="campaign_list"),
    path("campaigns/new/", views_campaigns.campaign_edit_view, name="campaign_create"),
    path("campaigns/<int:pk>/", views_campaigns.campaign_edit_view, name="campaign_edit"),
    path("campaigns/<int:pk>/regenerate/", views_campaigns.campaign_regenerate_view, name="campaign_regenerate"),
    path("sources/", views_campaigns.source_list_view, name="source_list"),
    path("sources/<int:pk>/", views_campaigns.source_edit_view, name="source_edit"),
    path("sources/<int:pk>/move/", views_campaigns.source_move_view, name="source_move"),
]
