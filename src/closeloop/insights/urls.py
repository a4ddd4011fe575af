from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("export/", views.dashboard_export_view, name="dashboard_export"),
    path("handoffs/", views.handoffs_view, name="handoffs"),
    path("surveys/", views.surveys_view, name="surveys"),
    path("radar/", views.radar_view, name="radar"),
    path("radar/export/", views.radar_export_view, name="radar_export"),
    path("radar/settings/", views.radar_settings_view, name="radar_settings"),
]
