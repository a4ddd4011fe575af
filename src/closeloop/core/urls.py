from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .customfields import views as field_views
from .savedviews import views as saved_views
from .webhooks import views as webhook_views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(success_url="/password/done/"), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("profile/", views.profile, name="profile"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/settings/", views.notification_preferences, name="notification_preferences"),
    path("inputs/date/", views.date_echo, name="date_echo"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path("team/users/", views.user_list, name="user_list"),
    path("team/users/new/", views.user_edit, name="user_create"),
    path("team/users/<int:pk>/", views.user_edit, name="user_edit"),
    path("team/departments/", views.department_list, name="department_list"),
    path("team/departments/new/", views.department_edit, name="department_create"),
    path("team/departments/<int:pk>/", views.department_edit, name="department_edit"),
    path("settings/robots/", views.robot_list, name="robot_list"),
    path("settings/robots/new/", views.robot_edit, name="robot_create"),
    path("settings/robots/<int:pk>/", views.robot_edit, name="robot_edit"),
    path("settings/robots/<int:pk>/test/", views.robot_test, name="robot_test"),
    path("settings/robots/<int:pk>/delete/", views.robot_delete_view, name="robot_delete"),
    path("settings/deliveries/", views.delivery_list, name="delivery_list"),
    path("settings/webhooks/", webhook_views.webhook_list, name="webhook_list"),
    path("settings/webhooks/new/", webhook_views.webhook_edit, name="webhook_create"),
    path("settings/webhooks/<int:pk>/", webhook_views.webhook_edit, name="webhook_edit"),
    path("settings/webhooks/<int:pk>/rotate/", webhook_views.webhook_rotate, name="webhook_rotate"),
    path("settings/webhooks/<int:pk>/pause/", webhook_views.webhook_pause, name="webhook_pause"),
    path("settings/webhooks/<int:pk>/resume/", webhook_views.webhook_resume, name="webhook_resume"),
    path("settings/webhooks/<int:pk>/test/", webhook_views.webhook_test, name="webhook_test"),
    path("settings/webhooks/<int:pk>/delete/", webhook_views.webhook_delete, name="webhook_delete"),
    path("settings/webhooks/log/", webhook_views.webhook_deliveries, name="webhook_deliveries"),
    path("settings/webhooks/log/<int:pk>/", webhook_views.webhook_delivery, name="webhook_delivery"),
    path("settings/webhooks/log/<int:pk>/replay/", webhook_views.webhook_replay, name="webhook_replay"),
    path("views/<slug:list_key>/new/", saved_views.view_create, name="saved_view_create"),
    path("views/<slug:list_key>/columns/", saved_views.view_columns, name="saved_view_columns"),
    path("views/<int:pk>/", saved_views.view_edit, name="saved_view_edit"),
    path("views/<int:pk>/delete/", saved_views.view_delete_view, name="saved_view_delete"),
    path("views/<int:pk>/default/", saved_views.view_default, name="saved_view_default"),
    path("settings/fields/", field_views.field_list, name="custom_field_list"),
    path("settings/fields/new/", field_views.field_edit, name="custom_field_create"),
    path("settings/fields/<int:pk>/", field_views.field_edit, name="custom_field_edit"),
    path("settings/fields/<int:pk>/hide/", field_views.field_hide, name="custom_field_hide"),
    path("settings/fields/<int:pk>/index/", field_views.field_index, name="custom_field_index"),
]
