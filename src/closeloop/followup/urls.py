from django.urls import path

from . import views

app_name = "followup"

urlpatterns = [
    path("today/", views.today_view, name="today"),
    path("today/people/<int:user_pk>/", views.person_today_view, name="person_today"),
    path("<str:record_type>/<int:pk>/log/", views.activity_create_view, name="activity_create"),
    path("<str:record_type>/<int:pk>/participants/", views.participant_add_view, name="participant_add"),
    path("<str:record_type>/<int:pk>/participants/<int:user_pk>/remove/", views.participant_remove_view,
         name="participant_remove"),
    path("<str:record_type>/<int:pk>/handoffs/", views.handoff_create_view, name="handoff_create"),
    path("handoffs/<int:handoff_pk>/answer/", views.handoff_respond_view, name="handoff_respond"),
    path("<str:record_type>/<int:pk>/comments/", views.comment_create_view, name="comment_create"),
    path("<str:record_type>/<int:pk>/tags/", views.record_tags_view, name="record_tags"),
    path("<str:record_type>/tag/", views.records_tag_view, name="records_tag"),
    path("settings/tags/", views.tag_list_view, name="tag_list"),
    path("settings/tags/<int:tag_pk>/", views.tag_edit_view, name="tag_edit"),
    path("settings/templates/", views.activity_templates_view, name="activity_templates"),
]
