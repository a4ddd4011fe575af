from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("export/", views.dashboard_export_view, name="dashboard_export"),
    path("handoffs/", views.handoffs_view, name="handoffs"),
    path("surveys/", views.surveys_view, name="surveys"),
    path("collection/", views.collection_view, name="collection"),
    path("targets/", views.targets_view, name="targets"),
    path("targets/import/", views.targets_import_view, name="targets_import"),
    path("targets/template/", views.targets_template_view, name="targets_template"),
    path("radar/", views.radar_view, name="radar"),
    path("radar/export/", views.radar_export_view, name="radar_export"),
    path("radar/settings/", views.radar_settings_view, name="radar_settings"),
    path("digest/", views.digest_view, name="digest"),
    path("digest/settings/", views.digest_settings_view, name="digest_settings"),
]
