from django.urls import path

from . import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list_view, name="list"),
    path("new/", views.lead_create_view, name="create"),
    path("export/", views.lead_export_view, name="export"),
    path("assign/", views.lead_bulk_assign_view, name="bulk_assign"),
    path("<int:pk>/", views.lead_detail_view, name="detail"),
    path("<int:pk>/edit/", views.lead_edit_view, name="edit"),
]
