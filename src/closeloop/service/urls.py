from django.urls import path

from . import views

app_name = "service"

urlpatterns = [
    path("deliveries/", views.delivery_list_view, name="deliveries"),
    path("deliveries/new/", views.delivery_create_view, name="delivery_create"),
    path("deliveries/<int:pk>/", views.delivery_detail_view, name="delivery"),
    path("deliveries/<int:pk>/edit/", views.delivery_edit_view, name="delivery_edit"),
    path("deliveries/<int:pk>/milestones/", views.milestone_add_view, name="milestone_add"),
    path("deliveries/<int:pk>/milestones/<int:milestone_pk>/", views.milestone_done_view, name="milestone_done"),
    path("deliveries/<int:pk>/accept/", views.acceptance_upload_view, name="acceptance_upload"),
    path("deliveries/<int:pk>/file/<str:which>/", views.delivery_file_view, name="delivery_file"),
]
