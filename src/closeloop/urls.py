from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from closeloop.api import api

urlpatterns = [
    path("", include("closeloop.core.urls")),
    path("leads/", include("closeloop.leads.urls")),
    path("deals/", include("closeloop.deals.urls")),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
