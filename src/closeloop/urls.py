"""The site's URLs: core's pages, then whatever each installed app mounts (`LoopApp.urls()`).

This module is wiring: it may name any app. The start page is the follow-up family's Today page for the
roles that start their day there.
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from closeloop.api import api
from closeloop.core import views as core_views
from closeloop.core.hooks import collect
from closeloop.followup.views import today_view

urlpatterns = [
    path("", core_views.home, {"today": today_view}, name="home"),
    *collect("urls"),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
