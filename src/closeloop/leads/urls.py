from django.urls import path

from . import quality_views, views, views_campaigns, views_duplicates, views_import

app_name = "leads"

urlpatterns = [
    path("", views.lead_list_view, name="list"),
    path("new/", views.lead_create_view, name="create"),
    path("export/", views.lead_export_view, name="export"),
    path("assign/", views.lead_bulk_assign_view, name="bulk_assign"),
    path("tag/", views.lead_bulk_tag_view, name="bulk_tag"),
    path("import/", views_import.import_upload_view, name="import"),
    path("import/<int:pk>/", views_import.import_detail_view, name="import_detail"),
    path("import/<int:pk>/progress/", views_import.import_progress_view, name="import_progress"),
    path("import/<int:pk>/refused.xlsx", views_import.import_report_view, name="import_report"),
    path("duplicates/", views_duplicates.duplicate_list_view, name="duplicates"),
    path("duplicates/hints/", views_duplicates.duplicate_hints_view, name="duplicate_hints"),
    path("merge/", views_duplicates.lead_merge_view, name="merge"),
    path("<int:pk>/", views.lead_detail_view, name="detail"),
    path("<int:pk>/edit/", views.lead_edit_view, name="edit"),
    path("<int:pk>/disqualify/", views.lead_disqualify_view, name="disqualify"),
    path("campaigns/", views_campaigns.campaign_list_view, name="campaign_list"),
    path("campaigns/new/", views_campaigns.campaign_edit_view, name="campaign_create"),
    path("campaigns/<int:pk>/", views_campaigns.campaign_edit_view, name="campaign_edit"),
    path("campaigns/<int:pk>/regenerate/", views_campaigns.campaign_regenerate_view, name="campaign_regenerate"),
    path("sources/", views_campaigns.source_list_view, name="source_list"),
    path("sources/<int:pk>/", views_campaigns.source_edit_view, name="source_edit"),
    path("sources/<int:pk>/move/", views_campaigns.source_move_view, name="source_move"),
    path("pool/", quality_views.pool_view, name="pool"),
    path("pool/<int:pk>/claim/", quality_views.pool_claim_view, name="pool_claim"),
    path("settings/scoring/", quality_views.scoring_settings_view, name="scoring_settings"),
    path("settings/scoring/new/", quality_views.scoring_rule_edit_view, name="scoring_rule_create"),
    path("settings/scoring/<int:pk>/", quality_views.scoring_rule_edit_view, name="scoring_rule_edit"),
    path("settings/scoring/<int:pk>/delete/", quality_views.scoring_rule_delete_view, name="scoring_rule_delete"),
    path("settings/assignment/", quality_views.assignment_settings_view, name="assignment_settings"),
    path("settings/assignment/new/", quality_views.assignment_rule_edit_view, name="assignment_rule_create"),
    path("settings/assignment/<int:pk>/", quality_views.assignment_rule_edit_view, name="assignment_rule_edit"),
    path("settings/assignment/<int:pk>/delete/", quality_views.assignment_rule_delete_view,
         name="assignment_rule_delete"),
    path("settings/assignment/<int:pk>/move/", quality_views.assignment_rule_move_view, name="assignment_rule_move"),
    path("settings/pool/", quality_views.pool_settings_view, name="pool_settings"),
    path("settings/intake/", quality_views.intake_settings_view, name="intake_settings"),
]
